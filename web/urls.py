"""The browser demo's pages, and the few JSON reads they call (the lab has its own)."""

from django.contrib.auth.views import LogoutView
from django.urls import path
from django.views.generic import RedirectView

from web.views import (
    auth,
    books,
    catalogue,
    docs,
    events,
    payments,
    settlement,
    source,
)

app_name = "web"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="web:payments"), name="home"),
    path("sign-in", auth.SignInView.as_view(), name="sign-in"),
    path("sign-out", LogoutView.as_view(next_page="web:sign-in"), name="sign-out"),
    path("demo/switch", auth.demo_switch, name="demo-switch"),
    path("payments", payments.payment_list, name="payments"),
    path("payments/new", payments.payment_submit, name="payment-submit"),
    path("payments/<uuid:payment_id>", payments.payment_detail, name="payment"),
    path(
        "payments/<uuid:payment_id>/approve",
        payments.payment_approve,
        name="payment-approve",
    ),
    path(
        "payments/<uuid:payment_id>/reject",
        payments.payment_reject,
        name="payment-reject",
    ),
    path(
        "payments/<uuid:payment_id>/cancel",
        payments.payment_cancel,
        name="payment-cancel",
    ),
    path(
        "payments/<uuid:payment_id>/flow.json",
        payments.PaymentFlowApi.as_view(),
        name="payment-flow",
    ),
    path("ledger", books.ledger, name="ledger"),
    path("notifications", books.notifications, name="notifications"),
    path("reconciliation", books.reconciliation, name="reconciliation"),
    path("settlement", settlement.SettlementListView.as_view(), name="settlement"),
    path(
        "settlement/<uuid:file_id>",
        settlement.settlement_file,
        name="settlement-file",
    ),
    path(
        "settlement/<uuid:file_id>/reprocess",
        settlement.settlement_file_reprocess_view,
        name="settlement-file-reprocess",
    ),
    path("events", events.event_list, name="events"),
    path("consumers", events.consumers, name="consumers"),
    path("catalogue/", catalogue.index, name="catalogue"),
    path("catalogue/<str:event_type>/", catalogue.event_type, name="catalogue-type"),
    path("docs/", docs.index, name="docs"),
    path("docs/<path:path>", docs.doc, name="doc"),
    path("source/<path:path>", source.source, name="source"),
]
