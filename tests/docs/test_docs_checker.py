"""The docs checker itself: fed a small repository with broken docs, it names
each fault with its file and line, and it passes what is right, so a green
docs check means the docs agree with the code, not that nothing was read.
"""

from pathlib import Path
from textwrap import dedent

from tests.docs.docs_checks import Docs, problems
from tests.docs.markdown_scan import Document, github_slug

SETTINGS = """
import os

RELAY_BATCH_SIZE = int(os.environ.get("RELAY_BATCH_SIZE", "500"))
RELAY_CONFIRM_TIMEOUT_SECONDS = float(os.environ.get("RELAY_CONFIRM_TIMEOUT", "10"))
MAX_REQUEST_BODY_BYTES = int(os.environ.get("MAX_REQUEST_BODY_BYTES", str(64 * 1024)))
HSTS = int(os.environ.get("SECURE_HSTS_SECONDS") or (31_536_000 if DEBUG else 0))
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR}")
EVENT_CONSUMERS = os.environ.get("EVENT_CONSUMERS", "").split(",")
"""

RELAY = """
BATCH = 10


def relay_once():
    pass


class Backoff:
    limit = 3

    def reset(self):
        pass
"""


def repository(tmp_path: Path, **docs: str) -> Docs:
    """Return a repository with a settings file, events/relay.py and `docs`,
    given as name=markdown (`lessons__relay` is docs/lessons/relay.md)."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.py").write_text(SETTINGS)
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "relay.py").write_text(RELAY)
    (tmp_path / "docs" / "lessons").mkdir(parents=True)
    for name, text in docs.items():
        path = "README.md" if name == "README" else f"docs/{name.replace('__', '/')}.md"
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(dedent(text))
    return Docs(tmp_path)


def found(docs: Docs, check: str) -> list[str]:
    return [str(problem) for problem in problems(docs, check)]


def test_a_broken_link_is_named_with_its_file_and_line(tmp_path):
    # given
    docs = repository(
        tmp_path,
        lessons__relay="""\
            # The relay

            Read [the outbox](outbox.md) and [the code](../../events/relay.py).
            See [a section](#no-such-section), [home](../../README.md#missing),
            [line 2](../../events/relay.py#L2) and [line 99](../../events/relay.py#L99).
            """,
        README="# Home\n\n## Run it\n\n[the relay](docs/lessons/relay.md#the-relay)\n",
    )
    # when
    broken = found(docs, "links")
    # then
    assert broken == [
        "docs/lessons/relay.md:3: link [the outbox](outbox.md): "
        "docs/lessons/outbox.md does not exist",
        "docs/lessons/relay.md:4: link [a section](#no-such-section): "
        "docs/lessons/relay.md has no heading with the anchor #no-such-section",
        "docs/lessons/relay.md:4: link [home](../../README.md#missing): "
        "README.md has no heading with the anchor #missing",
        "docs/lessons/relay.md:5: link [line 99](../../events/relay.py#L99): "
        "events/relay.py has only 13 lines",
    ]


def test_links_in_code_are_not_links_and_other_hosts_are_not_checked(tmp_path):
    docs = repository(
        tmp_path,
        api="""\
            `[not a link](nowhere.md)` and [Celery](https://docs.celeryq.dev/)

            ```
            [not a link either](nowhere.md)
            ```
            """,
    )
    assert found(docs, "links") == []


def test_an_anchor_follows_githubs_slugs_and_numbers_duplicate_headings():
    document = Document(
        "# `relay_once`: claim, publish, mark\n\n## Why? (1/2)\n\n## Why? (1/2)\n"
        "\n```\n## not a heading\n```\n\n## [A link](x.md) and `code`\n"
    )
    assert document.anchors() == {
        "relay_once-claim-publish-mark",
        "why-12",
        "why-12-1",
        "a-link-and-code",
    }
    assert github_slug("Retention & clean_up") == "retention--clean_up"


def test_a_missing_file_in_backticks_and_a_missing_test_are_named(tmp_path):
    # given
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_relay.py").write_text("def test_it():\n    pass\n")
    docs = repository(
        tmp_path,
        lessons__relay="""\
            The relay is in `events/relay.py`, once in `stack/relay.py`.
            Proof: `tests/test_relay.py::test_it` and
            `tests/test_relay.py::test_gone`; an app's `events/relay.py:3` too.
            """,
    )
    # when
    missing = found(docs, "paths")
    # then
    assert missing == [
        "docs/lessons/relay.md:1: `stack/relay.py`: stack/relay.py does not exist",
        "docs/lessons/relay.md:3: `tests/test_relay.py::test_gone`: "
        "tests/test_relay.py defines no `test_gone`",
    ]


def test_a_decision_records_context_may_name_files_that_are_gone(tmp_path):
    docs = repository(
        tmp_path,
        adr__0001_x="""\
            # 0001. X

            ## Context

            The controls were in `web/lab.py`.

            ## Decision

            They are in `lab/views.py`.
            """,
    )
    assert found(docs, "paths") == [
        "docs/adr/0001_x.md:9: `lab/views.py`: lab/views.py does not exist"
    ]


def test_a_symbol_the_file_does_not_define_is_named(tmp_path):
    # given
    docs = repository(
        tmp_path,
        README="""\
            [`relay_once`](events/relay.py) and [`relay_twice`](events/relay.py);
            `Backoff.reset` in [the relay](events/relay.py), `Backoff.stop()`
            in [`events/relay.py`](events/relay.py), [`BATCH`](events/relay.py)
            and [`events.relay.Backoff.limit`](events/relay.py).
            [`events/relay.py`](events/relay.py) `relay_once`, `relay_thrice`.
            [the start](events/relay.py#relay_once), [no](events/relay.py#nope)
            `Backoff` ([here](events/relay.py)), `Gone` ([here](events/relay.py)),
            and a field, `leader` ([served by](events/relay.py)).
            """,
    )
    # when
    missing = found(docs, "symbols") + found(docs, "links")
    # then
    undefined = "(no module- or class-level def, class or assignment)"
    assert missing == [
        f"README.md:1: `relay_twice` is not defined in events/relay.py {undefined}",
        f"README.md:2: `Backoff.stop` is not defined in events/relay.py {undefined}",
        f"README.md:5: `relay_thrice` is not defined in events/relay.py {undefined}",
        f"README.md:7: `Gone` is not defined in events/relay.py {undefined}",
        "README.md:6: link [no](events/relay.py#nope): "
        "`nope` is not defined in events/relay.py",
    ]


def test_a_wrong_default_in_a_table_or_in_prose_is_named(tmp_path):
    # given
    docs = repository(
        tmp_path,
        operations="""\
            | variable | default | meaning |
            | --- | --- | --- |
            | `RELAY_BATCH_SIZE` | `100` | rows per cycle |
            | `RELAY_CONFIRM_TIMEOUT` | `10` | (setting `RELAY_CONFIRM_TIMEOUT_SECONDS`)
            | `MAX_REQUEST_BODY_BYTES` | `65536` | bytes |
            | `SECURE_HSTS_SECONDS` | `31536000` (one year) | HSTS |
            | `DATABASE_URL` | `sqlite:///$VAR_DIR/db.sqlite3` | not a literal |
            | `EVENT_CONSUMERS` | unset: every declared consumer | a prose default |
            | `RELAY_GONE` | `1` | nothing reads it |

            A cycle claims `RELAY_BATCH_SIZE` (500) rows; `RELAY_CONFIRM_TIMEOUT` (60 s)
            bounds a wait, `MAX_REQUEST_BODY_BYTES` (default 65,536) a body.
            """,
    )
    # when
    wrong = found(docs, "defaults")
    # then
    assert wrong == [
        "docs/operations.md:3: `RELAY_BATCH_SIZE` default quoted as `100`, but "
        "config/settings.py defaults RELAY_BATCH_SIZE to `500`",
        "docs/operations.md:9: `RELAY_GONE`: no code reads this variable",
        "docs/operations.md:11: `RELAY_CONFIRM_TIMEOUT` default quoted as `60`, but "
        "config/settings.py defaults RELAY_CONFIRM_TIMEOUT_SECONDS to `10`",
    ]


def test_a_table_naming_the_wrong_setting_is_named(tmp_path):
    docs = repository(
        tmp_path,
        operations="""\
            | variable | default | meaning |
            | --- | --- | --- |
            | `RELAY_CONFIRM_TIMEOUT` | `10` | (setting `RELAY_CONFIRM_SECONDS`) |
            """,
    )
    assert found(docs, "defaults") == [
        "docs/operations.md:3: `RELAY_CONFIRM_TIMEOUT` says (setting "
        "`RELAY_CONFIRM_SECONDS`), but config/settings.py assigns it to "
        "RELAY_CONFIRM_TIMEOUT_SECONDS"
    ]


def test_a_table_with_a_setting_column_compares_its_leading_number(tmp_path):
    docs = repository(
        tmp_path,
        operations="""\
            | rows | kept (default) | setting |
            | --- | --- | --- |
            | claimed | 500 rows per cycle | `RELAY_BATCH_SIZE` |
            | waited for | 60 seconds | `RELAY_CONFIRM_TIMEOUT` |
            | served | as long as it runs | `MAX_REQUEST_BODY_BYTES` |
            """,
    )
    assert found(docs, "defaults") == [
        "docs/operations.md:4: `RELAY_CONFIRM_TIMEOUT` default quoted as `60`, but "
        "config/settings.py defaults RELAY_CONFIRM_TIMEOUT_SECONDS to `10`"
    ]
