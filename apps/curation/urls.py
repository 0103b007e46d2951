from django.urls import path

from apps.curation import views

app_name = "curation"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("records/new/", views.record_new, name="record_new"),
    path("records/<uuid:uuid>/edit/", views.record_edit, name="record_edit"),
    path("records/<uuid:uuid>/citations/", views.record_cite, name="record_cite"),
    path("records/<uuid:uuid>/history/", views.history, {"kind": "record"}, name="record_history"),
    path("entities/<uuid:uuid>/history/", views.history, {"kind": "entity"}, name="entity_history"),
    path("records/<uuid:uuid>/revert/<int:history_id>/", views.revert, {"kind": "record"}, name="record_revert"),
    path("entities/<uuid:uuid>/revert/<int:history_id>/", views.revert, {"kind": "entity"}, name="entity_revert"),
    path("records/<uuid:uuid>/workflow/", views.transition, {"kind": "record"}, name="record_transition"),
    path("entities/<uuid:uuid>/workflow/", views.transition, {"kind": "entity"}, name="entity_transition"),
    path("aliases/<int:pk>/workflow/", views.transition, {"kind": "alias"}, name="alias_transition"),
    path("facts/<int:pk>/workflow/", views.transition, {"kind": "fact"}, name="fact_transition"),
    path("sources/new/", views.source_new, name="source_new"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("duplicates/decide/", views.duplicate_decide, name="duplicate_decide"),
    path("merges/<int:pk>/split/", views.merge_split, name="merge_split"),
]
