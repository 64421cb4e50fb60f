"""The docs cannot drift from the code: README.md and every docs/**/*.md are
checked on every run of the test command (tests/docs/docs_checks.py says how).

A failure lists each problem as `file:line: what is wrong`.
"""

from pathlib import Path

import pytest

from tests.docs.docs_checks import CHECKS, Docs, problems

ROOT = Path(__file__).resolve().parents[2]


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
