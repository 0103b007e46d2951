from django.urls import path

from apps.browse import feeds, views

app_name = "browse"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/suggest/", views.search_suggest, name="search_suggest"),
    path("entities/<uuid:uid>/", views.entity_detail, name="entity"),
    path("entities/<uuid:uid>/records/<slug:group>/", views.entity_group, name="entity_group"),
    path("entities/<uuid:uid>/ownership/", views.ownership, name="ownership"),
    path("entities/<uuid:uid>/deployments/", views.deployments, name="deployments"),
    path("entities/<uuid:uid>/connections/", views.connections, name="connections"),
    path("entities/<uuid:uid>/connections.json", views.connections_json, name="connections_json"),
    path("record-cards/<uuid:uid>/", views.record_card, name="record_card"),
    path("entities/<uuid:uid>/exposure/", views.exposure, name="exposure"),
    path("entities/<uuid:uid>/feed.atom", feeds.EntityRecordsFeed(), name="entity_feed"),
    path("feeds/records.atom", feeds.RecordsFeed(), name="records_feed"),
    path("countries/<str:iso>/", views.country, name="country"),
    path("countries/<str:iso>/exposure/", views.country_exposure, name="country_exposure"),
    path("paths/", views.paths, name="paths"),
    path("vendors/", views.vendors, name="vendors"),
    path("vendors/matrix/", views.vendor_matrix, name="vendor_matrix"),
    path("timeline/", views.timeline, name="timeline"),
]
