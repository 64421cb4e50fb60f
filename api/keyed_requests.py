"""A keyed command is one transaction, from its first statement.

The caller's token is read before the handler runs (DRF authenticates in the
view's `initial()`), so `@idempotent` (api/idempotency.py) could open its
transaction only after that read, which then committed on its own. Opened
here, before the view, the token's read, the key's claim, the effect, its
outbox row and the stored answer are one transaction, one commit
(docs/adr/0031-a-keyed-request-is-one-transaction.md).

Only a POST with an Idempotency-Key to a handler that `@idempotent` wraps:
every other request runs as before. An answer other than 2xx rolls back
whatever the request did, as `@idempotent` rolls back a refused command. The
`BEGIN` and the `COMMIT` now run here, outside DRF's exception handler, so a
database that fails them is answered here as it would be there: 503 when it
is away, 409 for a constraint that caught a race (api/plain_problems.py).
"""

from django.db import DatabaseError, transaction

from api.idempotency import HEADER, is_idempotent
from api.plain_problems import database_error_problem, plain_problem

_OPEN = "_keyed_request_transaction"


class KeyedRequestTransactionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except BaseException as exc:
            # Django turns the view's exceptions into answers inside
            # get_response; what still comes out (SystemExit) rolls back.
            self._close(request, (type(exc), exc, exc.__traceback__))
            raise
        if not 200 <= response.status_code < 300 and hasattr(request, _OPEN):
            transaction.set_rollback(True)
        try:
            self._close(request, (None, None, None))
        except DatabaseError as exc:  # the COMMIT failed: nothing was written
            return _problem(exc)
        return response

    @staticmethod
    def _close(request, exc_info) -> None:
        atomic = getattr(request, _OPEN, None)
        if atomic is not None:
            delattr(request, _OPEN)
            atomic.__exit__(*exc_info)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or HEADER not in request.headers:
            return None
        view_class = getattr(view_func, "view_class", None)
        if not is_idempotent(getattr(view_class, "post", None)):
            return None
        atomic = transaction.atomic()
        try:
            atomic.__enter__()
        except DatabaseError as exc:  # no connection to begin on
            return _problem(exc)
        setattr(request, _OPEN, atomic)
        return None


def _problem(exc: DatabaseError):
    problem = database_error_problem(exc)
    if problem is None:
        raise exc
    return plain_problem(**problem)
