from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from apps.api import docs, views

router = DefaultRouter()
router.register("entities", views.EntityViewSet, basename="entity")
router.register("records", views.RecordViewSet, basename="record")
router.register("sources", views.SourceViewSet, basename="source")
router.register("citations", views.CitationViewSet, basename="citation")

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.api_docs, name="docs"),
    path("paths/", views.paths, name="paths"),
    path("countries/<str:iso>/exposure/", views.country_exposure, name="country_exposure"),
    path("", include(router.urls)),
]
