from django.urls import path, register_converter

from apps.citations import views


class ExportFormat:
    regex = "csv|ftm|graphml"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ExportFormat, "fmt")

app_name = "citations"
urlpatterns = [
    path("records/<uuid:uuid>/", views.record_permalink, name="record"),
    path("records/<uuid:uuid>/revisions/<int:history_id>/", views.record_revision, name="record_revision"),
    path("cite/records/<uuid:uuid>/", views.cite_record, name="cite_record"),
    path("cite/entities/<uuid:uuid>/", views.cite_entity, name="cite_entity"),
    path("sources/", views.source_list, name="sources"),
    path("sources/<uuid:uuid>/", views.source_detail, name="source"),
    path("export/", views.export_page, name="export"),
    path("export/entities/<uuid:uuid>.<fmt:fmt>", views.export_entity, name="export_entity"),
    path("export/search.<fmt:fmt>", views.export_search, name="export_search"),
]
