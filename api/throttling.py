"""Rate limits: sign-in attempts per username and per client, optional per-user writes.

Sign-in attempts are counted where the password is checked
(api/auth_backends.py), so the web form, the token endpoint and the admin share
one budget. See docs/api.md#throttling.
"""

import hashlib
import ipaddress
import logging
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _is_trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    """Return the address of the client behind the request (a Django HttpRequest).

    The peer address (REMOTE_ADDR), unless that peer is one of TRUSTED_PROXIES:
    then X-Forwarded-For is read from the right, skipping the trusted proxies,
    and the first other hop is the client. Entries further left were written by
    the client itself and are never believed.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(remote, networks):
        return remote
    hops = [
        hop.strip()
        for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop
    # Every hop is a trusted proxy: the request started inside, at the leftmost.
    return hops[0] if hops else remote


def _parse_rate(rate: str | None) -> tuple[int, int] | None:
    """Return (attempts, window seconds) for a DRF-style rate such as "10/min"."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


def _key(kind: str, value: str) -> str:
    # Hashed: a username or a forwarded address may hold characters some cache
    # backends refuse in a key, and the cache then holds no usernames.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"sign-in:{kind}:{digest}"


def sign_in_attempt(request, username: str | None) -> float | None:
    """Count one sign-in attempt; return None to go ahead, or the seconds to wait.

    Every attempt counts, right or wrong, against two budgets: the client
    address (AUTH_RATE_LIMIT) and the username (AUTH_USER_RATE_LIMIT), so
    neither many addresses against one user nor one address against many users
    guesses faster. A refused attempt is not counted.
    """
    address = client_address(request)
    limits = []
    if per_address := _parse_rate(settings.AUTH_RATE_LIMIT):
        limits.append((_key("address", address), *per_address))
    if isinstance(username, str) and (
        per_user := _parse_rate(settings.AUTH_USER_RATE_LIMIT)
    ):
        limits.append((_key("user", username.strip().casefold()), *per_user))
    if not limits:
        return None
    now = time.time()
    stored = cache.get_many([key for key, _, _ in limits])
    histories, waits = {}, []
    for key, allowed, window in limits:
        history = [at for at in stored.get(key, []) if at > now - window]
        if len(history) >= allowed:
            # One attempt frees up when the oldest that fills the budget ages out
            # (a budget of 0 never frees up: wait a whole window).
            frees_at = history[-allowed] + window if allowed else now + window
            waits.append(frees_at - now)
        histories[key] = (history, window)
    if waits:
        logger.warning(
            "sign-in throttled: username %r from %r", (username or "")[:150], address
        )
        return max(max(waits), 1.0)
    for key, (history, window) in histories.items():
        cache.set(key, [*history, now], timeout=window)
    return None
