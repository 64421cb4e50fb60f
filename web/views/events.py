"""The event log of your organisation, and what each consumer is doing.

The consumers page shows an operator every organisation's queues (the API's
global view) and a member their organisation's counts only.
"""

import re
import uuid
from urllib.parse import urlencode

from django.conf import settings

from events.monitoring import consumer_overview, relay_failures
from events.organisation_monitoring import organisation_consumer_overview
from organisations.selectors import is_operator, membership_get
from web.pages import no_organisation, render_page, signed_in
from web.selectors import (
    event_log,
    event_schema_versions,
    event_types,
    inbox_trouble,
)

# A schema version as the filter takes it: digits only (int() would take "1_0"),
# within the column's small integer.
VERSION = re.compile(r"[1-9][0-9]{0,4}")
MAX_VERSION = 32767


def _version(text: str) -> int | None:
    return int(text) if VERSION.fullmatch(text) and int(text) <= MAX_VERSION else None


def _delivery_summary(event) -> list[dict]:
    """Each consumer's latest delivery status and how many deliveries it had."""
    summary = {
        name: {"consumer": name, "status": None, "count": 0}
        for name in settings.EVENT_CONSUMERS
    }
    for delivery in event.deliveries:
        row = summary.setdefault(
            delivery.consumer,
            {"consumer": delivery.consumer, "status": None, "count": 0},
        )
        row["status"] = delivery.status
        row["count"] += 1
    return list(summary.values())


def _filters(request, types: list[str]) -> dict:
    """The log's filters as asked, each checked; an error names the bad one."""
    chosen_type = request.GET.get("type", "")
    payment = request.GET.get("payment", "").strip()
    payment_error = ""
    if payment:
        try:
            payment = str(uuid.UUID(payment))
        except ValueError:
            payment_error = "Not a payment id (a UUID such as 3f1c9a52-8d0e-…)."
    version = request.GET.get("version", "").strip()
    version_error = ""
    if version and _version(version) is None:
        version_error = "Not a version (a whole number such as 2)."
    return {
        "chosen_type": chosen_type if chosen_type in types else "",
        "payment": payment,
        "payment_error": payment_error,
        "chosen_version": version,
        "version_error": version_error,
    }


def _version_choices(organisation_id, chosen: str) -> list[int]:
    """The versions among the events, and the one asked for even if none has it."""
    versions = set(event_schema_versions(organisation_id=organisation_id))
    if (version := _version(chosen)) is not None:
        versions.add(version)
    return sorted(versions)


@signed_in
def event_list(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    organisation_id = membership.organisation_id
    types = event_types(organisation_id=organisation_id)
    filters = _filters(request, types)
    chosen = {
        "type": filters["chosen_type"],
        "payment": filters["payment"],
        "version": filters["chosen_version"],
    }
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        before = None
    events, has_more = ([], False)
    if not (filters["payment_error"] or filters["version_error"]):
        events, has_more = event_log(
            organisation_id=organisation_id,
            event_type=chosen["type"] or None,
            payment_id=chosen["payment"] or None,
            version=_version(chosen["version"]),
            before_id=before,
        )
    for event in events:
        event.summary = _delivery_summary(event)
    # The next page keeps every filter, and only those.
    kept = {name: value for name, value in chosen.items() if value}
    older = urlencode({**kept, "before": events[-1].id}) if has_more else ""
    return render_page(
        request,
        "web/events.html",
        {
            "events": events,
            "has_more": has_more,
            "older": older,
            "types": types,
            "versions": _version_choices(organisation_id, chosen["version"]),
            **filters,
            "filtered": bool(kept),
        },
        lesson="events",
    )


@signed_in
def consumers(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    if is_operator(user=request.user):
        overview = consumer_overview()
    else:
        overview = organisation_consumer_overview(
            organisation_id=membership.organisation_id
        )
    return render_page(
        request,
        "web/consumers.html",
        {
            "overview": overview,
            "trouble": inbox_trouble(organisation_id=membership.organisation_id),
            "relay_failures": relay_failures(
                organisation_id=membership.organisation_id
            ),
        },
        lesson="consumers",
    )
