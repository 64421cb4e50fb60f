"""Give every request an id, echoed back in X-Request-ID, and make it the cause.

A caller's own X-Request-ID is kept when it is a plain token (so a client can
find its request in our logs and events); anything else is replaced, since the
id ends up in stored envelopes and log lines.
"""

import re
import uuid

from observability.cause import Cause, caused_by

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(value: str | None) -> str:
    if value and _SANE.fullmatch(value):
        return value
    return str(uuid.uuid4())


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_of(request.headers.get(HEADER))
        request.request_id = request_id
        with caused_by(Cause(correlation_id=request_id, causation_id=request_id)):
            response = self.get_response(request)
        response[HEADER] = request_id
        return response
