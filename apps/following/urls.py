from django.urls import path

from apps.following import views

app_name = "following"
urlpatterns = [
    path("entities/<uuid:uid>/follow/", views.follow, name="follow"),
]
