"""The Settlement page: statements in, their two lanes (received, processed), lines.

Receiving and processing are separate steps, and the page shows them apart:
an upload here is stored and announced at once (settlement/receiving.py), and
the lines appear when the settlement consumer has processed the file.
See docs/lessons/transfer-vs-processing.md.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views import View

from contracts.currencies import format_amount
from domain.errors import DomainError
from organisations.selectors import membership_get
from settlement import receiving, selectors
from settlement.errors import SettlementFileNotFound
from settlement.models import LineOutcome, SettlementFileSource
from settlement.reprocessing import settlement_file_reprocess
from web.pages import no_organisation, not_found, render_page, signed_in

OUTCOME_WORDS = {
    LineOutcome.MATCHED: "matched: settles its payment",
    LineOutcome.AMOUNT_MISMATCH: "amount differs from the payment's",
    LineOutcome.UNKNOWN_PAYMENT: "no such payment (yet): waits for its approval",
    LineOutcome.DUPLICATE: "duplicate: the payment was already settled",
    LineOutcome.NOT_A_PAYMENT: "not a payment (a credit or a bank fee)",
}


@method_decorator(signed_in, name="dispatch")
class SettlementListView(View):
    @classmethod
    def request_body_limit(cls) -> int:
        """Read by api/middleware.py: a statement, plus the form's framing."""
        return settings.SETTLEMENT_FILE_MAX_BYTES + settings.MAX_REQUEST_BODY_BYTES

    def get(self, request):
        membership = membership_get(user=request.user)
        if membership is None:
            return no_organisation(request)
        # Counted in the list's one query, not once per row.
        files = selectors.settlement_file_list(
            organisation_id=membership.organisation_id
        ).annotate(line_count=Count("lines"))
        page = Paginator(files, 20).get_page(request.GET.get("page"))
        return render_page(
            request,
            "web/settlement.html",
            {"page": page, "outcomes": LineOutcome},
            lesson="settlement",
        )

    def post(self, request):
        upload = request.FILES.get("file")
        try:
            organisation_id = receiving.settlement_file_receiver_check(
                actor=request.user
            )
            if upload is None:
                messages.error(request, "Choose a statement file (camt.053 XML).")
                return redirect("web:settlement")
            received, created = receiving.settlement_file_receive(
                organisation_id=organisation_id,
                data=upload.read(),
                content_type=upload.content_type or "",
                source=SettlementFileSource.UPLOAD,
                original_name=upload.name or "",
                received_by=request.user,
            )
        except DomainError as exc:
            messages.error(request, exc.detail)
            return redirect("web:settlement")
        messages.success(
            request,
            "Received: stored by its SHA-256 and announced (SettlementFileReceived); "
            "processing follows on its own worker."
            if created
            else "These exact bytes arrived before: the same file, nothing new.",
        )
        return redirect("web:settlement-file", file_id=received.id)


@signed_in
def settlement_file(request, file_id):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    try:
        received = selectors.settlement_file_get(
            organisation_id=membership.organisation_id, file_id=file_id
        )
    except SettlementFileNotFound:
        return not_found(request, "No such settlement file of your organisation.")
    lines = selectors.statement_line_list(
        organisation_id=membership.organisation_id, file_id=file_id
    )
    page = Paginator(lines, 100).get_page(request.GET.get("page"))
    for line in page:
        line.amount_text = format_amount(line.amount, line.currency)
        line.outcome_text = OUTCOME_WORDS.get(line.outcome, line.outcome)
    return render_page(
        request,
        "web/settlement_file.html",
        {"file": received, "page": page},
        lesson="settlement",
    )


@signed_in
def settlement_file_reprocess_view(request, file_id):
    if request.method != "POST":
        return redirect("web:settlement-file", file_id=file_id)
    try:
        organisation_id = receiving.settlement_file_receiver_check(actor=request.user)
        settlement_file_reprocess(
            organisation_id=organisation_id,
            file_id=file_id,
            requested_by=request.user.get_username(),
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            "Asked again (SettlementFileReprocessRequested): processing reads the "
            "stored bytes once more and changes nothing twice.",
        )
    return redirect("web:settlement-file", file_id=file_id)
