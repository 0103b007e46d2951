from django.urls import path

from apps.ingest import views

# Mounted under /curation/ (config/urls.py).
app_name = "ingest"
urlpatterns = [
    path("imports/", views.job_list, name="jobs"),
    path("imports/new/", views.job_new, name="job_new"),
    path("imports/<uuid:uuid>/", views.job_detail, name="job"),
    path("imports/<uuid:uuid>/cancel/", views.job_cancel, name="job_cancel"),
    path("imports/<uuid:uuid>/publish/", views.job_publish, name="job_publish"),
    path("imports/<uuid:uuid>/trust/", views.job_trust, name="job_trust"),
    path("matches/", views.matches, name="matches"),
    path("matches/<int:pk>/", views.match_judge, name="match_judge"),
    path("matches/joins/<int:pk>/undo/", views.mapping_join_undo, name="mapping_join_undo"),
]
