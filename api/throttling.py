"""Rate limits: password guessing on the token endpoint, optional per-user writes."""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class WriteRateThrottle(UserRateThrottle):
    """Limit each user's writes when WRITE_RATE_LIMIT is set (off by default)."""

    scope = "write"

    def get_rate(self):
        # Read per request (not at import) so the setting can change without a restart.
        return settings.WRITE_RATE_LIMIT

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class AuthRateThrottle(AnonRateThrottle):
    """Per client address, for the token endpoint: slows down password guessing."""

    scope = "auth"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get("auth")

    def get_ident(self, request):
        # With NUM_PROXIES unset DRF trusts X-Forwarded-For, so a guesser could
        # name a new "address" per request; believe it only behind known proxies.
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR")
        return super().get_ident(request)

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }
