"""Top-level routes: the browser demo and its fault lab, the REST API, the admin,
and the health probes."""

from django.contrib import admin
from django.urls import include, path

from api import health

urlpatterns = [
    path("", include("web.urls")),
    path("", include("lab.urls")),
    path("api/v1/", include("api.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
