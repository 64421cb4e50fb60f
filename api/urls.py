"""/api/v1/: auth, OpenAPI and docs, problem types, and each app's endpoints."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.auth import TokenObtainApi
from api.problem_types import ProblemTypeApi

urlpatterns = [
    path("auth/token", TokenObtainApi.as_view(), name="auth-token"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("problems/<slug:code>", ProblemTypeApi.as_view(), name="problem-type"),
    path("", include("payments.api.urls")),
    path("", include("events.api.urls")),
    path("", include("lab.api.urls")),
    path("ledger/", include("ledger.api.urls")),
    path("notifications", include("notifications.api.urls")),
    path("reconciliation/", include("reconciliation.api.urls")),
    path("", include("settlement.api.urls")),
]
