"""The event catalogue: every event type, and each type's versions side by side.

Public, as the docs and the AsyncAPI document it mirrors are: it shows the
contracts, never an organisation's events. See
docs/lessons/versioned-schemas.md#the-catalogue.
"""

from web.catalogue import catalogue_entry, catalogue_index
from web.pages import not_found, render_page


def index(request):
    return render_page(
        request,
        "web/catalogue.html",
        {"types": catalogue_index()},
        lesson="catalogue",
    )


def event_type(request, event_type: str):
    entry = catalogue_entry(event_type)
    if entry is None:
        return not_found(request, f"No event type {event_type} in the contracts.")
    return render_page(
        request, "web/catalogue_type.html", {"entry": entry}, lesson="catalogue"
    )
