"""Idempotency-Key on every POST: a retry replays the first answer, no second effect.

The key's completion commits in the same transaction as the command's effect and
outbox row, so "effect done, key not recorded" cannot happen. See
docs/lessons/idempotency-keys.md and docs/adr/0004-idempotency-keys.md.
"""

import hashlib
import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
)
from api.metrics import idempotency_observed
from api.models import IdempotencyKey
from api.parsers import json_loads

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


class ClaimLost(Exception):
    """Our in-progress claim was taken over (it outlived its lease); roll back."""


@dataclass(frozen=True)
class Claim:
    row_id: int
    token: uuid.UUID


def _fingerprint(request) -> str:
    """Hash the method, path and body; JSON nested too deep is a 400 (JsonTooDeep)."""
    raw = request._request.body
    try:
        canonical = json.dumps(json_loads(raw), sort_keys=True, separators=(",", ":"))
        body = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        body = raw
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _key_from(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise IdempotencyKeyInvalid(
            "Use 1 to 255 printable characters, e.g. a UUID v4."
        )
    return key


def idempotency_claim(*, user, key: str, fingerprint: str) -> Claim | IdempotencyKey:
    """Claim the key for this request, or return the completed row to replay.

    Runs in its own short transaction, so a concurrent request with the same key
    sees the claim at once and gets 409 instead of running the command twice.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)
    token = uuid.uuid4()
    # Alone, the INSERT commits itself: one round trip instead of BEGIN,
    # INSERT and COMMIT. Inside a caller's transaction, a savepoint keeps a
    # duplicate's IntegrityError from breaking it.
    block = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with block:
            row = IdempotencyKey.objects.create(
                user=user,
                key=key,
                fingerprint=fingerprint,
                state=IdempotencyKey.State.IN_PROGRESS,
                claim_token=token,
                locked_until=lease,
            )
        return Claim(row.id, token)
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.filter(user=user, key=key).first()
    if existing is None:  # released between our insert and this read: a fresh race
        raise IdempotencyKeyInProgress("Retry the request.")
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyMismatch(
            "Use a new key for a different request; this one was used for another "
            "method, path or body."
        )
    if existing.state == IdempotencyKey.State.COMPLETED:
        return existing
    if existing.locked_until > now:
        raise IdempotencyKeyInProgress(
            "Wait for the first request to finish, then retry."
        )
    # The first request died before committing (its effect rolled back with it):
    # take the claim over, fenced by the old token so only one retry wins.
    taken = IdempotencyKey.objects.filter(
        id=existing.id,
        claim_token=existing.claim_token,
        state=IdempotencyKey.State.IN_PROGRESS,
    ).update(claim_token=token, locked_until=lease)
    if not taken:
        raise IdempotencyKeyInProgress(
            "Wait for the first request to finish, then retry."
        )
    return Claim(existing.id, token)


def _complete(claim: Claim, response: Response) -> None:
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    done = IdempotencyKey.objects.filter(
        id=claim.row_id, claim_token=claim.token
    ).update(
        state=IdempotencyKey.State.COMPLETED,
        response_status=response.status_code,
        response_body=body,
    )
    if not done:
        raise ClaimLost()


def _release(claim: Claim) -> None:
    IdempotencyKey.objects.filter(
        id=claim.row_id,
        claim_token=claim.token,
        state=IdempotencyKey.State.IN_PROGRESS,
    ).delete()


def idempotent(handler):
    """Wrap a DRF POST handler with Idempotency-Key semantics.

    Only a 2xx answer is recorded. An error changed nothing, so the key is
    released and the client may retry with it once the cause is fixed.
    """

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = _key_from(request)
        if key is None:
            return handler(view, request, *args, **kwargs)
        try:
            claimed = idempotency_claim(
                user=request.user, key=key, fingerprint=_fingerprint(request)
            )
        except IdempotencyKeyMismatch:
            idempotency_observed("mismatch")
            raise
        except IdempotencyKeyInProgress:
            idempotency_observed("in_progress")
            raise
        if isinstance(claimed, IdempotencyKey):
            idempotency_observed("replayed")
            return Response(
                claimed.response_body,
                status=claimed.response_status,
                headers={REPLAYED_HEADER: "true"},
            )
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    _complete(claimed, response)
        except ClaimLost:
            raise IdempotencyKeyInProgress(
                "This request outlived its claim and was rolled back; retry it."
            ) from None
        except BaseException:
            _release(claimed)
            raise
        if not 200 <= response.status_code < 300:
            _release(claimed)
        return response

    return wrapper


def idempotency_prune(*, older_than: timedelta | None = None) -> int:
    """Delete keys past their retention; return how many went.

    Claims of requests that died (in progress, lease long expired) go too.
    """
    now = timezone.now()
    age = older_than or timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = (
        IdempotencyKey.objects.filter(created_at__lt=now - age)
        .filter(Q(state=IdempotencyKey.State.COMPLETED) | Q(locked_until__lt=now))
        .delete()
    )
    return deleted
