"""The event log of your organisation, and what each consumer is doing.

The consumers page shows an operator every organisation's queues (the API's
global view) and a member their organisation's counts only.
"""

import uuid

from django.conf import settings

from events.monitoring import consumer_overview, relay_failures
from events.organisation_monitoring import organisation_consumer_overview
from organisations.selectors import is_operator, membership_get
from web.pages import no_organisation, render_page, signed_in
from web.selectors import event_log, event_types, inbox_trouble


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


@signed_in
def event_list(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    types = event_types(organisation_id=membership.organisation_id)
    chosen_type = request.GET.get("type", "")
    if chosen_type not in types:
        chosen_type = ""
    payment = request.GET.get("payment", "").strip()
    payment_error = ""
    if payment:
        try:
            payment = str(uuid.UUID(payment))
        except ValueError:
            payment_error = "Not a payment id (a UUID such as 3f1c9a52-8d0e-…)."
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        before = None
    events, has_more = ([], False)
    if not payment_error:
        events, has_more = event_log(
            organisation_id=membership.organisation_id,
            event_type=chosen_type or None,
            payment_id=payment or None,
            before_id=before,
        )
    for event in events:
        event.summary = _delivery_summary(event)
    return render_page(
        request,
        "web/events.html",
        {
            "events": events,
            "has_more": has_more,
            "types": types,
            "chosen_type": chosen_type,
            "payment": payment,
            "payment_error": payment_error,
            "filtered": bool(chosen_type or payment),
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
