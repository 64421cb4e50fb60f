"""The docs in the app: an index of every document, code links that open the
source view at the line they talk about, and Mermaid diagrams drawn by a copy
of Mermaid the app serves itself.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils.html import escape

from payments.models import PaymentStatus
from web.doc_render import markdown_html
from web.views import docs as docs_view

pytestmark = pytest.mark.django_db

BASE = Path(django_settings.BASE_DIR)
DOCS = BASE / "docs"
MERMAID = "/static/web/vendor/mermaid/mermaid.min.js"


def first_heading(file: Path) -> str:
    """Return the file's first heading as the page shows it, escaped."""
    return escape(
        next(
            line[2:].strip()
            for line in file.read_text(encoding="utf-8").splitlines()
            if line.startswith("# ")
        )
    )


def line_of(path: str, text: str) -> int:
    """Return the number of the first line of `path` that starts with `text`."""
    lines = (BASE / path).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(text))


def render(markdown: str) -> str:
    return markdown_html(markdown, here="lessons/example.md")


def test_the_index_lists_every_walkthrough_decision_and_guide(client):
    # when
    page = client.get("/docs/")
    # then
    html = page.content.decode()
    assert page.status_code == 200
    walkthroughs = html.split('id="walkthroughs"', 1)[1].split("</section>", 1)[0]
    decisions = html.split('id="decisions"', 1)[1].split("</section>", 1)[0]
    lessons = sorted((DOCS / "lessons").glob("*.md"))
    adrs = [f for f in sorted((DOCS / "adr").glob("*.md")) if f.name != "README.md"]
    assert lessons and adrs
    for file in lessons:
        link = f'<a href="/docs/lessons/{file.name}">{first_heading(file)}</a>'
        assert link in walkthroughs, file.name
    for file in adrs:
        link = f'<a href="/docs/adr/{file.name}">{first_heading(file)}</a>'
        assert link in decisions, file.name
    assert '<a href="/docs/demo.md">' in html.split('id="other"', 1)[1]


def test_the_index_opens_with_the_reading_map(client, tmp_path, monkeypatch):
    # given: a docs/ with a README.md, one lesson and one ADR
    (tmp_path / "lessons").mkdir()
    (tmp_path / "adr").mkdir()
    (tmp_path / "README.md").write_text("# Start here\n\nRead [the outbox](x.md).\n")
    (tmp_path / "lessons" / "outbox.md").write_text("intro\n\n# The outbox\n")
    (tmp_path / "adr" / "0001-record.md").write_text("no heading at all\n")
    (tmp_path / "adr" / "README.md").write_text("# Decisions\n")
    monkeypatch.setattr(docs_view, "DOCS", tmp_path)
    # when
    html = client.get("/docs/").content.decode()
    # then: the map on top, each file under its first heading, the READMEs apart
    map_at = html.index('data-testid="reading-map"')
    assert html.index("Start here") > map_at
    assert map_at < html.index('id="walkthroughs"')
    assert '<a href="/docs/lessons/outbox.md">The outbox</a>' in html
    assert '<a href="/docs/adr/0001-record.md">0001-record</a>' in html
    assert '<a href="/docs/adr/README.md">The index of this section</a>' in html
    assert '<a href="/docs/README.md">' not in html
    # no diagram, so the 5 MB Mermaid bundle stays unloaded
    assert MERMAID not in html


def test_docs_are_linked_from_every_page_and_the_signed_in_navigation(
    alice, browser_for, client
):
    signed_in = browser_for(alice).get("/payments").content.decode()
    nav = signed_in.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/docs/">Docs</a>' in nav
    assert '<a href="/docs/">Docs</a>' in client.get("/sign-in").content.decode()


def test_a_symbol_named_by_a_link_opens_at_its_definition():
    # given: relay_once, as docs/lessons/relay.md names it
    first = line_of("events/relay.py", "def relay_once(")
    # when
    by_label = render("[`relay_once`](../../events/relay.py)")
    by_hint = render("`relay_once` in [`events/relay.py`](../../events/relay.py)")
    by_anchor = render("[the relay](../../events/relay.py#relay_once)")
    dotted = render("[`events.relay.relay_once`](../../events/relay.py)")
    # then
    for html in (by_label, by_hint, by_anchor, dotted):
        href = re.search(r'<a class="ref" href="([^"]+)"', html)[1]
        assert href.startswith(f"/source/events/relay.py?lines={first}-")
        assert href.endswith(f"#L{first}")
    assert by_hint.startswith("<p><code>relay_once</code> in <a class=")


def test_a_class_member_and_a_class_open_at_their_own_lines():
    # when
    member = render("[`Backoff.reset`](../../events/backoff.py)")
    klass = render("[`PaymentStatus`](../../payments/models.py)")
    # then: a class shows its header line, not its whole body
    reset = line_of("events/backoff.py", "    def reset(")
    status = line_of("payments/models.py", "class PaymentStatus(")
    assert f'href="/source/events/backoff.py?lines={reset}-' in member
    assert f'href="/source/payments/models.py?lines={status}#L{status}"' in klass


def test_github_line_anchors_and_plain_file_links_become_source_links():
    assert 'href="/source/events/relay.py?lines=42#L42"' in render(
        "[here](../../events/relay.py#L42)"
    )
    assert 'href="/source/events/relay.py?lines=3-5#L3"' in render(
        "[here](../../events/relay.py#L3-L5)"
    )
    assert 'href="/source/docker-compose.yml"' in render(
        "[`docker-compose.yml`](../../docker-compose.yml)"
    )
    assert 'href="/source/events/relay.py"' in render(
        "[`no_such_name`](../../events/relay.py)"
    )
    assert 'href="/source/events/api/"' in render("[`api/`](../../events/api/)")
    assert 'href="/docs/#decisions"' in render("[ADRs](../adr/)")


@pytest.mark.parametrize(
    "target",
    ["../../var/secret_key", "../../.ci/run", "../../../etc/passwd", "../../nope.py"],
)
def test_a_link_to_a_file_the_source_view_refuses_stays_plain_text(target):
    html = render(f"[`that file`]({target})")
    assert "<a " not in html
    assert '<span class="ref"' in html


def test_a_walkthrough_links_its_code_to_the_source_view(client):
    # when: docs/lessons/relay.md says "`relay_cycle` in [events/relay.py](...)"
    html = client.get("/docs/lessons/relay.md").content.decode()
    # then
    first = line_of("events/relay.py", "def relay_cycle(")
    assert f'href="/source/events/relay.py?lines={first}-' in html


def test_every_code_link_in_the_docs_opens(client):
    # given
    docs = [f.relative_to(DOCS).as_posix() for f in DOCS.rglob("*.md")]
    # when
    pages = [client.get(f"/docs/{doc}").content.decode() for doc in docs]
    # then
    links = {
        href
        for page in pages
        for href in re.findall(r'<a class="ref" href="(/source/[^"?#]+)', page)
    }
    assert "/source/events/relay.py" in links
    for href in links:
        assert client.get(href).status_code == 200, href


def test_a_mermaid_block_becomes_a_diagram_and_other_code_stays_code():
    html = render("```mermaid\ngraph TD\n  A-->B\n```\n\n```python\nx = 1 < 2\n```")
    assert '<pre class="mermaid">graph TD\n  A--&gt;B</pre>' in html
    assert "<pre><code>x = 1 &lt; 2</code></pre>" in html


def test_a_walkthrough_with_a_diagram_loads_the_vendored_mermaid(client):
    # when
    html = client.get("/docs/lessons/maker-checker-and-tenancy.md").content.decode()
    script = client.get(MERMAID)
    licence = client.get("/static/web/vendor/mermaid/LICENSE.txt")
    # then: the page asks this app, never a CDN, and says whose code draws it
    assert '<pre class="mermaid">stateDiagram-v2' in html
    assert f'<script src="{MERMAID}" defer></script>' in html
    assert '<script src="/static/web/docs.js" defer></script>' in html
    assert 'href="/static/web/vendor/mermaid/LICENSE.txt"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    body = b"".join(script.streaming_content)
    assert b'globalThis["mermaid"]' in body
    assert b"import(" not in body and b"sourceMappingURL" not in body
    assert licence.status_code == 200
    assert b"MIT License" in b"".join(licence.streaming_content)


def test_the_payment_state_diagram_names_the_models_states(client):
    # given
    lesson = (DOCS / "lessons" / "maker-checker-and-tenancy.md").read_text()
    diagram = lesson.split("```mermaid\nstateDiagram-v2", 1)[1].split("```", 1)[0]
    # when
    states = set(re.findall(r"(\w+|\[\*\]) --> (\w+|\[\*\])", diagram))
    named = {state for pair in states for state in pair} - {"[*]"}
    # then
    assert named == set(PaymentStatus.values)
