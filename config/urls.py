"""Top-level routes: the browser demo, the versioned REST API and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("web.urls")),
    path("api/v1/", include("api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "api.problems.not_found_view"
handler500 = "api.problems.server_error_view"
