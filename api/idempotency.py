"""Idempotency-Key on every POST: a retry replays the first answer, no second effect.

The key's claim, the command's effect, its outbox row and the key's answer
commit in one transaction, so "effect done, key not recorded" cannot happen,
and neither can a claim that outlives its request. See
docs/lessons/idempotency-keys.md, docs/adr/0004-idempotency-keys.md and
docs/adr/0024-idempotency-claim-in-the-effect-transaction.md.
"""

import hashlib
import json
import uuid
from datetime import timedelta
from functools import cache, partial, wraps

from django.conf import settings
from django.db import connection, transaction
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


class _NotRecorded(Exception):
    """A non-2xx answer: roll the claim back with everything else, then give it."""

    def __init__(self, response: Response):
        self.response = response


def _claim_insert(*, user, key: str, fingerprint: str) -> int | None:
    """Insert the key as this request's claim and return its row id; None if
    the key already has a row.

    ON CONFLICT DO NOTHING: a taken key is no error, so the request's
    transaction, which read the caller's token first (api/keyed_requests.py),
    goes on to read the row. A concurrent request with the same key waits
    here, on the unique index, until the first transaction ends: then it finds
    the answer to replay, or, if that one rolled back, claims the key.
    """
    now = timezone.now()
    values = {
        "user": user.pk,
        "key": key,
        "fingerprint": fingerprint,
        "state": IdempotencyKey.State.IN_PROGRESS,
        "claim_token": uuid.uuid4(),
        "locked_until": now + timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS),
        "created_at": now,
    }
    fields = IdempotencyKey._meta
    params = [
        fields.get_field(name).get_db_prep_save(value, connection)
        for name, value in values.items()
    ]
    returning = connection.features.can_return_columns_from_insert
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(tuple(values), returning=returning), params)
        if returning:
            row = cursor.fetchone()
            return None if row is None else row[0]
        # SQLite before 3.35 (RHEL 9's, for one) has no RETURNING; it has
        # ON CONFLICT (3.24), and says whether the row went in.
        return cursor.lastrowid if cursor.rowcount == 1 else None


@cache
def _claim_sql(names: tuple[str, ...], *, returning: bool) -> str:
    meta = IdempotencyKey._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in names)
    unique = ", ".join(quote(meta.get_field(name).column) for name in ("user", "key"))
    # Names from the model's metadata, values as parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(names))}) "
        f"ON CONFLICT ({unique}) DO NOTHING"
    )
    return f"{sql} RETURNING {quote(meta.pk.column)}" if returning else sql


def _answered(run, claim) -> Response | None:
    """Claim the key and run the handler in one transaction; record a 2xx answer.

    The claim, the effect, its outbox row and the stored answer commit together,
    or none of them does: a request that fails or dies leaves no claim behind.
    None: the key already has a row, and nothing was done. The block joins
    the request's transaction without a savepoint (two more round trips); a
    refusal leaving it spoils that transaction, which then rolls back whole.
    """
    try:
        with transaction.atomic(savepoint=False):
            claimed = claim()
            if claimed is None:
                return None
            response = run()
            if not 200 <= response.status_code < 300:
                raise _NotRecorded(response)
            _complete(claimed, response)
    except _NotRecorded as refused:
        return refused.response
    return response


def idempotency_existing(*, user, key: str, fingerprint: str) -> IdempotencyKey | None:
    """The key's row to replay; None once a dead claim of it has been cleared.

    Raises IdempotencyKeyMismatch for another request under the key, and
    IdempotencyKeyInProgress while a claim that an earlier release committed on
    its own (before docs/adr/0024-idempotency-claim-in-the-effect-transaction.md)
    is within its lease.
    """
    existing = IdempotencyKey.objects.filter(user=user, key=key).first()
    if existing is None:  # its claim rolled back after our insert failed
        return None
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyMismatch(
            "Use a new key for a different request; this one was used for another "
            "method, path or body."
        )
    if existing.state == IdempotencyKey.State.COMPLETED:
        return existing
    if existing.locked_until > timezone.now():
        raise IdempotencyKeyInProgress(
            "Wait for the first request to finish, then retry."
        )
    # That request died; fenced by its token, so its late completion, if it
    # ever comes, matches nothing and rolls back (the old release's ClaimLost).
    IdempotencyKey.objects.filter(
        id=existing.id,
        claim_token=existing.claim_token,
        state=IdempotencyKey.State.IN_PROGRESS,
    ).delete()
    return None


def _complete(row_id: int, response: Response) -> None:
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    IdempotencyKey.objects.filter(id=row_id).update(
        state=IdempotencyKey.State.COMPLETED,
        response_status=response.status_code,
        response_body=body,
    )


def idempotent(handler):
    """Wrap a DRF POST handler with Idempotency-Key semantics.

    Only a 2xx answer is recorded. An error changed nothing, and its claim
    rolled back with it, so the client may retry with the key once the cause
    is fixed.
    """

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = _key_from(request)
        if key is None:
            return handler(view, request, *args, **kwargs)
        fingerprint = _fingerprint(request)
        claim = partial(
            _claim_insert, user=request.user, key=key, fingerprint=fingerprint
        )
        run = partial(handler, view, request, *args, **kwargs)
        # Twice at most: the second time only after the key's row went away
        # (its request rolled back, or its dead claim was cleared).
        for _ in range(2):
            answered = _answered(run, claim)
            if answered is not None:
                return answered
            try:
                existing = idempotency_existing(
                    user=request.user, key=key, fingerprint=fingerprint
                )
            except IdempotencyKeyMismatch:
                idempotency_observed("mismatch")
                raise
            except IdempotencyKeyInProgress:
                idempotency_observed("in_progress")
                raise
            if existing is not None:
                idempotency_observed("replayed")
                return Response(
                    existing.response_body,
                    status=existing.response_status,
                    headers={REPLAYED_HEADER: "true"},
                )
        idempotency_observed("in_progress")
        raise IdempotencyKeyInProgress("Another request is using this key; retry.")

    wrapper.idempotent = True
    return wrapper


def is_idempotent(handler) -> bool:
    """Whether `@idempotent` wraps this handler (api/keyed_requests.py asks)."""
    return getattr(handler, "idempotent", False)


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
