"""Top-level routes: the browser demo and its fault lab, the REST API, the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("web.urls")),
    path("", include("lab.urls")),
    path("api/v1/", include("api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
