"""Top-level routes: the browser demo and its fault lab, the REST API, the admin,
the health probes and the metrics."""

from django.contrib import admin
from django.urls import include, path

from api import health, metrics

urlpatterns = [
    path("", include("web.urls")),
    path("", include("lab.urls")),
    path("api/v1/", include("api.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]

handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
