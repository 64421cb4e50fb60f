"""API tokens that expire: DRF's Token, valid for API_TOKEN_TTL_HOURS after issue.

DRF's tokens never expire on their own; its `created` time is when one was
issued, so a token older than the TTL is refused with 401 `token-expired` and
the token endpoint replaces it. See docs/api.md#authentication.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from api.auth_accounts import sign_in_permitted
from config.db.compiled import CompiledGet
from organisations.selectors import MEMBERSHIP_JOIN


def _token_model():
    return TokenAuthentication().get_model()


def _token_read(key: str):
    """The token, its user and the user's membership with its organisation."""
    return (
        _token_model()
        .objects.select_related("user", f"user__{MEMBERSHIP_JOIN}")
        .filter(key=key)
    )


# Every token request reads it: built and compiled once (config/db/compiled.py).
_TOKEN_READ = CompiledGet(
    _token_read,
    fields=lambda: {"key": _token_model()._meta.get_field("key")},
    probe={"key": "compiled-get-probe-f3a9c1"},
)


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = "The token has expired; obtain a new one."
    default_code = "token_expired"


def token_expires_at(token) -> datetime:
    return token.created + timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def token_issue(*, user):
    """Return the user's token, a fresh one if theirs has expired.

    A valid token is returned again (one token per user, so a second client does
    not sign the first out); its expiry does not move.
    """
    Token = ExpiringTokenAuthentication().get_model()
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_expires_at(token) <= timezone.now():
        # By key, not by user: a concurrent request may already have replaced
        # it, and get_or_create then returns that one.
        Token.objects.filter(key=token.key).delete()
        token, _ = Token.objects.get_or_create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused once expired or for a demo account."""

    def authenticate_credentials(self, key):
        user, token = self._token_with_user(key)
        expires_at = token_expires_at(token)
        if expires_at <= timezone.now():
            # Kept until the owner obtains a new one, so every use of it says
            # why it fails rather than "Invalid token."
            at = f"{expires_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
            raise TokenExpired(
                f"This token expired at {at}; obtain a new one from "
                "POST /api/v1/auth/token."
            )
        if not sign_in_permitted(user):
            raise exceptions.AuthenticationFailed(
                "Demo accounts work only in demo mode; this token is refused."
            )
        return user, token

    def _token_with_user(self, key):
        # DRF's own check, with the user's membership joined: the command the
        # token is for reads it next, and now needs no query of its own.
        token = _TOKEN_READ.get(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token
