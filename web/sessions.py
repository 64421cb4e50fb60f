"""Session middleware that never signs a user out from a read-only request.

Django deletes the session cookie on any response to a request whose session
is gone. A page that polls (the lab, the flow view) keeps a request in flight
while its user switches to another user: the poll left with the old cookie,
the switch rotated the session key, and the poll's answer arrived last and
deleted the new cookie, so the next click was refused as "credentials not
provided". Only a request that changes something (sign-out, a switch) may
delete the cookie; a stale cookie on a read is harmless and replaced at the
next sign-in.
"""

from django.conf import settings
from django.contrib.sessions.middleware import (
    SessionMiddleware as DjangoSessionMiddleware,
)

READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionMiddleware(DjangoSessionMiddleware):
    def process_response(self, request, response):
        response = super().process_response(request, response)
        if request.method in READ_ONLY and _deletes_session_cookie(response):
            del response.cookies[settings.SESSION_COOKIE_NAME]
        return response


def _deletes_session_cookie(response) -> bool:
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    return morsel is not None and str(morsel["max-age"]) == "0"
