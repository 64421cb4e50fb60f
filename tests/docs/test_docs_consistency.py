"""The docs cannot drift from the code: README.md and every docs/**/*.md are
checked on every run of the test command (tests/docs/docs_checks.py says how).

A failure lists each problem as `file:line: what is wrong`.
"""

import re
from pathlib import Path

import pytest

from tests.docs.docs_checks import CHECKS, Docs, problems, settings_rows

ROOT = Path(__file__).resolve().parents[2]
STATUS = re.compile(r"^Status: (accepted \(\d{4}-\d\d-\d\d\)|superseded by )")


@pytest.fixture(scope="module")
def docs() -> Docs:
    return Docs(ROOT)


def test_the_checks_read_the_readme_and_every_doc(docs):
    files = {docs.relative(file) for file in docs.markdown_files()}
    assert "README.md" in files
    assert "docs/operations.md" in files
    assert "docs/lessons/relay.md" in files


@pytest.mark.parametrize("check", CHECKS)
def test_the_docs_agree_with_the_code(docs, check):
    found = problems(docs, check)
    assert not found, f"{len(found)} docs problem(s) ({check}):\n" + "\n".join(
        map(str, found)
    )


def test_every_decision_record_has_a_status_and_a_line_in_the_index(docs):
    # given
    adr = ROOT / "docs" / "adr"
    records = sorted(adr.glob("[0-9][0-9][0-9][0-9]-*.md"))
    index = docs.document(adr / "README.md")
    # when
    listed = {link.target for link in index.links()}
    # then
    assert records
    for record in records:
        lines = record.read_text(encoding="utf-8").splitlines()
        assert STATUS.match(lines[2]), (
            f"docs/adr/{record.name}:3: wants a status line, e.g. "
            "'Status: accepted (2026-12-04)' or 'Status: superseded by [ADR 0013](...)'"
        )
        assert record.name in listed, f"docs/adr/README.md does not list {record.name}"


def test_every_variable_the_settings_read_has_a_row_in_operations(docs):
    # given
    operations = docs.document(ROOT / "docs" / "operations.md").text.splitlines()
    # when
    rows = {name for _, names, _, _ in settings_rows(operations) for name in names}
    missing = [name for name in docs.settings if name not in rows]
    # then
    assert not missing, (
        "docs/operations.md: no row in its settings tables for "
        + ", ".join(missing)
        + " (config/settings.py reads them)"
    )
