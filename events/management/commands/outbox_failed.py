"""python manage.py outbox_failed: list, retry or skip outbox rows the relay gave up on.

A failed row holds back the later events of its partition until an operator
retries it (after fixing its envelope, or the broker's bindings) or skips it.
See docs/operations.md#outbox-rows-the-relay-gave-up-on.
"""

from django.core.management.base import BaseCommand, CommandError

from events.models import OutboxMessage
from events.outbox_failures import (
    NotFailed,
    outbox_failed_list,
    outbox_row_retry,
    outbox_row_skip,
)
from events.relay import outgoing


class Command(BaseCommand):
    help = (
        "List the outbox rows the relay gave up on, retry one (or all) after "
        "fixing the cause, or skip one for good."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Show the failed rows, oldest first.")
        retry = actions.add_parser(
            "retry", help="Give failed rows a fresh set of attempts."
        )
        retry.add_argument("row_ids", nargs="*", type=int, help="outbox row ids")
        retry.add_argument("--all", action="store_true", help="every failed row")
        skip = actions.add_parser(
            "skip",
            help="Never publish this row; its payment's later events will park "
            "at the consumers behind the gap.",
        )
        skip.add_argument("row_id", type=int)
        skip.add_argument("--reason", required=True, help="recorded with the row")

    def handle(self, *args, action, **options):
        if action == "list":
            self._list()
        elif action == "retry":
            ids = options["row_ids"]
            if bool(ids) == options["all"]:
                raise CommandError("Name the rows to retry, or --all (not both).")
            if options["all"]:
                ids = list(outbox_failed_list().values_list("id", flat=True))
            for row_id in ids:
                self._retry(row_id)
        else:
            self._skip(options["row_id"], options["reason"])

    def _list(self) -> None:
        rows = list(outbox_failed_list())
        if not rows:
            self.stdout.write("No failed outbox rows.")
            return
        for row in rows:
            held = OutboxMessage.objects.filter(held_behind=row.id).count()
            self.stdout.write(
                f"row {row.id}  event {row.event_id}  {row.event_type}  "
                f"failed {row.failed_at:%Y-%m-%d %H:%M:%S}  refusals {row.refusals}"
                f"  holding {held}\n    {row.last_error}"
            )

    def _retry(self, row_id: int) -> None:
        row = outbox_failed_list().filter(id=row_id).first()
        if row is None:
            raise CommandError(f"Outbox row {row_id} is not a failed, unpublished row.")
        try:
            # A row whose envelope still cannot be sent would only fail again.
            outgoing(row)
        except Exception as exc:
            raise CommandError(
                f"Row {row_id} still cannot be sent ({exc.__class__.__name__}: "
                f"{exc}); fix its envelope first, or skip it."
            ) from exc
        try:
            released = outbox_row_retry(row_id=row_id)
        except NotFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Row {row_id} will be sent again; {released} held rows follow it."
        )

    def _skip(self, row_id: int, reason: str) -> None:
        if not reason.strip():
            raise CommandError("--reason must say why.")
        try:
            released = outbox_row_skip(row_id=row_id, reason=reason.strip())
        except NotFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Row {row_id} will never be published; {released} held rows go on "
            "without it."
        )
