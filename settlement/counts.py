"""A settlement file's lines per outcome, kept on the file for the API and the page."""

from django.db.models import Count

from settlement.models import LineOutcome, SettlementFile


def outcome_counts_save(settlement_file: SettlementFile) -> dict[str, int]:
    """Count the file's lines per outcome (every outcome present) and store it."""
    counts = dict.fromkeys(LineOutcome.values, 0)
    for row in settlement_file.lines.values("outcome").annotate(n=Count("id")):
        counts[row["outcome"]] = row["n"]
    SettlementFile.objects.filter(pk=settlement_file.pk).update(outcome_counts=counts)
    settlement_file.outcome_counts = counts
    return counts
