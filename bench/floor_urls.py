"""The web floor's URLconf (bench/web_noop.py): the approve path, answered by a
view that does what every API view does before its own work, and no more."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class NoopApprove(APIView):
    """DRF's defaults from the project's settings: token (then session)
    authentication, IsAuthenticated, the write throttle, the problem-details
    exception handler. So the token's read is paid as by the real approve;
    nothing is locked, written or published."""

    def post(self, request, payment_id):
        return Response({"id": str(payment_id), "status": "noop"})


urlpatterns = [
    # The real approve's path, so the bench's approve client drives it as is.
    path("api/v1/payments/<uuid:payment_id>/approve", NoopApprove.as_view()),
]
