from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apps.web.urls")),
    path("", include("apps.browse.urls")),
    path("", include("apps.citations.urls")),
    path("curation/articles/", include("apps.articles.urls")),
    path("", include("apps.following.urls")),
    path("curation/", include("apps.curation.urls")),
    path("api/", include("apps.api.urls")),
]
