from django.urls import path

from apps.ingest import views

app_name = "ingest"
urlpatterns = [
    path("", views.job_list, name="jobs"),
    path("new/", views.job_new, name="job_new"),
    path("<uuid:uuid>/", views.job_detail, name="job"),
    path("<uuid:uuid>/cancel/", views.job_cancel, name="job_cancel"),
    path("<uuid:uuid>/publish/", views.job_publish, name="job_publish"),
]
