"""Small filters for the demo's templates: money, short ids, pretty JSON."""

import json

from django import template

from contracts.currencies import format_amount

register = template.Library()


@register.filter
def money(amount, currency) -> str:
    """12550, "EUR" -> "125.50 EUR" (minor units shown in major units)."""
    return format_amount(int(amount), str(currency))


@register.filter
def short_id(value) -> str:
    """The first block of a UUID, enough to tell events apart on screen."""
    return str(value).split("-")[0]


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)
