from django.urls import path

from apps.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("ops/", views.ops, name="ops"),
    path("healthz", views.healthz, name="healthz"),
]
