"""The one authentication backend: password sign-in with a throttle, sessions.

Django's ModelBackend, plus the two rules every door must keep: sign-in
attempts are throttled (api/throttling.py), and demo accounts work only in demo
mode (api/auth_accounts.py). Because every password check and every session
goes through here, the web form, the token endpoint and the admin keep them
alike, as django-axes does it.
"""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from api.auth_accounts import sign_in_permitted
from api.throttling import sign_in_attempt

logger = logging.getLogger(__name__)

BACKEND = "api.auth_backends.SignInBackend"
_WAIT_ATTRIBUTE = "sign_in_wait_seconds"


def sign_in_wait(request) -> float | None:
    """Return the seconds to wait if the request's sign-in was throttled, else None."""
    return getattr(request, _WAIT_ATTRIBUTE, None)


class SignInBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is not None:
            wait = sign_in_attempt(request, username)
            if wait is not None:
                # Before the password is checked, so a throttled guess learns
                # nothing; the view reads the wait to answer 429.
                setattr(request, _WAIT_ATTRIBUTE, wait)
                raise PermissionDenied
        user = super().authenticate(
            request, username=username, password=password, **kwargs
        )
        if user is not None and not sign_in_permitted(user):
            logger.warning(
                "demo account %s refused: its password is published and "
                "DEMO_MODE is off",
                user.get_username(),
            )
            return None
        return user

    def get_user(self, user_id):
        # Every request of a session comes here, so turning demo mode off ends
        # the demo accounts' sessions too.
        user = super().get_user(user_id)
        if user is None or not sign_in_permitted(user):
            return None
        return user
