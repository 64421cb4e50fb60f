"""The docs in Chromium: from the index to a walkthrough whose Mermaid diagram
the vendored Mermaid draws, then one click on a code link to the source view at
the line it names; every diagram in the docs drawn without an error. No console
errors, no request to another host.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, WIDE

pytestmark = pytest.mark.browser


DOCS = Path(settings.BASE_DIR) / "docs"


def diagrams_per_page() -> dict[str, int]:
    """Each document under docs/ that holds ```mermaid blocks, and how many."""
    counts = {
        file.relative_to(DOCS).as_posix(): file.read_text(encoding="utf-8").count(
            "\n```mermaid\n"
        )
        for file in sorted(DOCS.rglob("*.md"))
    }
    return {path: count for path, count in counts.items() if count}


def status_line() -> int:
    lines = (Path(settings.BASE_DIR) / "payments/models.py").read_text().splitlines()
    return next(
        i for i, line in enumerate(lines, 1) if line.startswith("class PaymentStatus(")
    )


def test_a_diagram_is_drawn_and_a_code_link_opens_the_source_at_its_line(open_page):
    watched = open_page("docs", WIDE)
    page = watched.page

    # the index lists the walkthroughs; one opens
    watched.go("/docs/")
    walkthroughs = page.locator("#walkthroughs")
    walkthroughs.get_by_role("link", name="Maker-checker and tenancy").click()
    expect(page).to_have_url(re.compile(r"/docs/lessons/maker-checker-and-tenancy"))

    # Mermaid, served by the app, draws the payment's states as an SVG
    diagram = page.locator("pre.mermaid svg")
    expect(diagram).to_be_visible()
    expect(diagram).to_contain_text("pending_approval")
    for state in ("approved", "rejected", "cancelled"):
        expect(diagram.get_by_text(state, exact=True)).to_be_visible()
    watched.shot("01-state-diagram")

    # the footer names Mermaid's licence, and the app serves it
    licence = page.get_by_test_id("mermaid-licence")
    assert page.request.get(watched.base + licence.get_attribute("href")).ok

    # a code link opens the source view at the definition, marked
    page.get_by_role("link", name="PaymentStatus", exact=True).click()
    line = status_line()
    expect(page).to_have_url(re.compile(rf"/source/payments/models\.py\?.*#L{line}$"))
    target = page.locator(f"#L{line}")
    expect(target).to_have_class(re.compile(r"\bmarked\b"))
    expect(target).to_contain_text("class PaymentStatus(")
    expect(target).to_be_in_viewport()
    watched.shot("02-source-at-line")

    # and the back link returns to the walkthrough
    page.get_by_test_id("back").click()
    expect(page).to_have_url(re.compile(r"/docs/lessons/maker-checker-and-tenancy"))
    watched.assert_clean()


def test_the_source_view_fits_a_phone(open_page):
    watched = open_page("docs-phone", PHONE)
    page = watched.page
    watched.go("/source/events/relay.py?lines=1-3#L1")
    expect(page.locator("#L1")).to_have_class(re.compile(r"\bmarked\b"))
    # Long lines scroll inside the code box, not the whole page.
    assert page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )
    watched.shot("03-source-phone")
    watched.assert_clean()


def test_every_diagram_in_the_docs_is_drawn_without_an_error(open_page):
    # given: every page of the docs with a diagram (the relay's crash points,
    # the payment's and a delivery's states, the processes, ...)
    pages = diagrams_per_page()
    assert {
        "lessons/relay.md",
        "lessons/maker-checker-and-tenancy.md",
        "lessons/idempotent-consumers.md",
        "lessons/two-ways-to-run.md",
    } <= set(pages)
    watched = open_page("docs-diagrams", WIDE)
    page = watched.page
    for path, count in pages.items():
        # when
        watched.go(f"/docs/{path}")
        # then: each block became an SVG diagram; Mermaid draws a syntax error
        # as a diagram of its own ("Syntax error in text"), so look for that too
        blocks = page.locator("pre.mermaid")
        expect(blocks).to_have_count(count)
        for n in range(count):
            expect(blocks.nth(n).locator("svg")).to_be_visible()
        errors = page.locator('pre.mermaid svg[aria-roledescription="error"]')
        expect(errors).to_have_count(0)
        assert "Syntax error" not in page.locator("main").inner_text(), path
        watched.shot(path.replace("/", "-").removesuffix(".md"))
    watched.assert_clean()
