"""Top-level routes: the versioned REST API and the admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # Until the browser demo has pages of its own, the front door is the API docs.
    path("", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("api/v1/", include("api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "api.problems.not_found_view"
handler500 = "api.problems.server_error_view"
