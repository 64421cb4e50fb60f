"""The docs checks: each returns the problems it finds in one Markdown file, as
`file:line: what is wrong`, so a writer can go straight to the line.

- links: every relative link resolves, a `#heading` to an existing heading;
- paths: every repository path written in backticks names a file that exists;
- symbols: a symbol a walkthrough ties to a Python file is defined there;
- defaults: a setting's default quoted in the docs is config/settings.py's.
"""

import functools
import importlib.machinery
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from tests.docs.markdown_scan import Document, Link
from tests.docs.python_names import defines, module_name
from tests.docs.settings_defaults import EnvSetting, env_settings, same_value

SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:|^//")
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L(\d+))?$")
SYMBOL = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
EXTENSIONS = "py|md|yml|yaml|toml|sh|json|html|js|css|txt|cfg|ini"
# `events/relay.py`, `tests/events/test_relay.py::test_x`, `events/relay.py:42`
REPO_PATH = re.compile(
    rf"^(?:\./)?(?P<path>[\w.-]+(?:/[\w.-]+)+\.(?:{EXTENSIONS}))"
    r"(?::\d+(?:-\d+)?)?(?:::(?P<test>[\w:]+))?$"
)
# "`relay_once` in [events/relay.py](...)" and "`PaymentNotFound` ([file](...))":
# the code span names the symbol. (Only a class before a bare parenthesis: a
# lower-case name there is as often a command or a field the file serves.)
HINT_BEFORE = re.compile(r"(?:`([^`\n]+)`\s+in|`([A-Z]\w*(?:\.\w+)*)`\s*\()\s*$")
AFTER = re.compile(r"[ \t\n]*,?[ \t\n]*`([^`\n]+)`")
CALL = re.compile(r"\(.*\)$")  # `consumer_app(name, handlers)` names consumer_app
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
# "`RELAY_MAX_ATTEMPTS` (10)", "(default 24)", "(60 s)", "(`bob,carol` by default)"
PROSE_DEFAULT = re.compile(
    r"`(?P<name>[A-Z][A-Z0-9_]{2,})`\s+\("
    r"(?:(?:default\s+)?(?P<number>\d[\d,]*(?:\.\d+)?)"
    r"(?:\s*(?:s|ms|seconds|minutes|hours|days))?(?:\s+by default)?"
    r"|default\s+`(?P<code>[^`]+)`|`(?P<code2>[^`]+)`\s+by default)\)"
)
SETTING_NAMED = re.compile(r"\(setting `([A-Z][A-Z0-9_]+)`\)")
NAME_HEADERS = {"variable", "setting"}
SKIPPED_DIRS = {".git", ".venv", "node_modules", "var", "__pycache__"}


@dataclass(frozen=True)
class Problem:
    doc: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.what}"


class Docs:
    """A repository's docs and what they may refer to; `root` is its top."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def markdown_files(self) -> list[Path]:
        files = [self.root / "README.md", *sorted((self.root / "docs").rglob("*.md"))]
        return [file for file in files if file.is_file()]

    @functools.cache  # noqa: B019 - one Docs per run, kept for the run
    def document(self, file: Path) -> Document:
        return Document(file.read_text(encoding="utf-8"))

    def relative(self, file: Path) -> str:
        return file.relative_to(self.root).as_posix()

    def inside(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.root)

    @functools.cached_property
    def settings(self) -> dict[str, EnvSetting]:
        return env_settings(self.root / "config" / "settings.py")

    @functools.cached_property
    def code_text(self) -> str:
        """Return the text of the code, scripts and compose file, to grep."""
        chunks = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and d != "docs"]
            for name in files:
                if name.endswith((".py", ".sh", ".yml", ".yaml")) or name in {
                    "Makefile",
                    "Dockerfile",
                }:
                    chunks.append(Path(folder, name).read_text(errors="replace"))
        return "\n".join(chunks)

    @functools.cached_property
    def all_files(self) -> list[str]:
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
            found += [self.relative(Path(folder, name)) for name in files]
        return found


def _resolve(docs: Docs, file: Path, path: str) -> Path:
    return (file.parent / unquote(path)).resolve()


def check_links(docs: Docs, file: Path) -> list[Problem]:
    """Every relative link resolves; a heading anchor names a heading there."""
    doc, problems = docs.relative(file), []
    for link in docs.document(file).links():
        if SCHEME.match(link.target):
            continue
        path, _, anchor = link.target.partition("#")
        where = f"link [{link.label}]({link.target})"
        if path.startswith("/"):
            problems.append(
                Problem(
                    doc,
                    link.line,
                    f"{where} is absolute: GitHub resolves it "
                    "against github.com; write it relative to this file",
                )
            )
            continue
        target = _resolve(docs, file, path) if path else file
        if not docs.inside(target):
            problems.append(Problem(doc, link.line, f"{where} leaves the repository"))
        elif not target.exists():
            shown = docs.relative(target) if docs.inside(target) else path
            problems.append(Problem(doc, link.line, f"{where}: {shown} does not exist"))
        elif anchor and (problem := _anchor_problem(docs, target, anchor)):
            problems.append(Problem(doc, link.line, f"{where}: {problem}"))
    return problems


def _anchor_problem(docs: Docs, target: Path, anchor: str) -> str | None:
    anchor = unquote(anchor)
    if target.suffix == ".md":
        if anchor not in docs.document(target).anchors():
            return f"{docs.relative(target)} has no heading with the anchor #{anchor}"
    elif match := LINE_ANCHOR.match(anchor):
        lines = len(target.read_text(encoding="utf-8").splitlines())
        last = int(match[2] or match[1])
        if last > lines:
            return f"{docs.relative(target)} has only {lines} lines"
    elif (
        target.suffix == ".py"
        and SYMBOL.match(anchor)
        and not defines(target, docs.relative(target), anchor)
    ):
        return f"`{anchor}` is not defined in {docs.relative(target)}"
    return None


def check_paths(docs: Docs, file: Path) -> list[Problem]:
    """Every repository path written in backticks names a file that exists.

    A decision record's Context describes the code before the decision, so
    the paths it names there may be gone; its links are still checked.
    """
    doc, document, problems = docs.relative(file), docs.document(file), []
    before = _context_lines(document) if doc.startswith("docs/adr/") else set()
    for span in document.code_spans():
        match = REPO_PATH.match(span.text)
        if not match or span.line in before:
            continue
        path = match["path"].removeprefix("./")
        found = _find_file(docs, file, path)
        if found is None:
            problems.append(
                Problem(doc, span.line, f"`{span.text}`: {path} does not exist")
            )
        elif match["test"] and found.suffix == ".py":
            test = match["test"]
            if not defines(found, path, test):
                problems.append(
                    Problem(
                        doc, span.line, f"`{span.text}`: {path} defines no `{test}`"
                    )
                )
    return problems


def _context_lines(document: Document) -> set[int]:
    lines, inside = set(), False
    for number, line in enumerate(document.text.splitlines(), 1):
        if line.startswith("## "):
            inside = line.strip() == "## Context"
        elif inside:
            lines.add(number)
    return lines


def _find_file(docs: Docs, file: Path, path: str) -> Path | None:
    """Find `path` from the top, from the doc's folder, written relative to its
    app (each app's `api/views.py`), or in an installed package
    (`celery/fixups/django.py`)."""
    for candidate in (docs.root / path, file.parent / path):
        if candidate.is_file() and docs.inside(candidate):
            return candidate.resolve()
    if ends := [name for name in docs.all_files if name.endswith("/" + path)]:
        return docs.root / ends[0]
    top = path.split("/", 1)[0]
    if not (docs.root / top).exists() and (spec := _installed(top)):
        for folder in spec.submodule_search_locations or []:
            installed = {"site-packages", "dist-packages"} & set(Path(folder).parts)
            if installed and (candidate := Path(folder).parent / path).is_file():
                return candidate
    return None


def _installed(package: str) -> importlib.machinery.ModuleSpec | None:
    try:
        return importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None


def check_symbols(docs: Docs, file: Path) -> list[Problem]:
    """A symbol tied to a Python file by a link is defined in that file:
    [`relay_once`](../events/relay.py) and `relay_once` in [events/relay.py](...).
    """
    doc, document, problems = docs.relative(file), docs.document(file), []
    for link in document.links():
        path = link.target.partition("#")[0]
        if SCHEME.match(link.target) or not path.endswith(".py"):
            continue
        target = _resolve(docs, file, path)
        if not (docs.inside(target) and target.is_file()):
            continue  # check_links reports it
        repo_path = docs.relative(target)
        for name, offset in _named_symbols(document.text, link, repo_path):
            if not defines(target, repo_path, name):
                problem = Problem(
                    doc,
                    document.line_of(offset),
                    f"`{name}` is not defined in {repo_path} "
                    "(no module- or class-level def, class or assignment)",
                )
                if problem not in problems:
                    problems.append(problem)
    return problems


def _named_symbols(text: str, link: Link, repo_path: str) -> list[tuple[str, int]]:
    """Return the symbols a link ties to its file, each with where it is
    written: its label, a code span just before it ("`x` in [file](...)") and
    code spans right after it ("[file](...) `x`, `y`")."""
    names = []
    label = link.label
    if label.startswith("`") and label.endswith("`") and label.count("`") == 2:
        names.append((label[1:-1], link.start))
    if hint := HINT_BEFORE.search(text, max(0, link.start - 200), link.start):
        names.append((hint[1] or hint[2], hint.start()))
    at = link.end
    while after := AFTER.match(text, at):
        names.append((after[1], after.start(1)))
        at = after.end()
    module = module_name(repo_path)
    return [
        (name, offset)
        for name, offset in ((CALL.sub("", n), offset) for n, offset in names)
        if SYMBOL.match(name)
        and name not in {module, module.rpartition(".")[2]}
        and not name.endswith((".py", ".md"))
    ]


def check_defaults(docs: Docs, file: Path) -> list[Problem]:
    """Defaults quoted in a settings table, or as "`NAME` (10 s)" in prose,
    are the defaults config/settings.py gives."""
    doc, problems = docs.relative(file), []
    lines = docs.document(file).text.splitlines()
    for number, names, quoted, row in settings_rows(lines):
        for name, value in zip(names, quoted, strict=False):
            if problem := _default_problem(docs, name, value):
                problems.append(Problem(doc, number, problem))
        for name in names[:1]:
            if problem := _setting_name_problem(docs, name, row):
                problems.append(Problem(doc, number, problem))
        for name in names:
            if name not in docs.settings and name not in docs.code_text:
                problems.append(
                    Problem(doc, number, f"`{name}`: no code reads this variable")
                )
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("|"):
            continue  # table rows are checked by column above
        for match in PROSE_DEFAULT.finditer(line):
            value = match["number"] or match["code"] or match["code2"] or ""
            if problem := _default_problem(docs, match["name"], value):
                problems.append(Problem(doc, number, problem))
    return problems


def _settings_by_any_name(docs: Docs) -> dict[str, EnvSetting]:
    by_name = {setting.setting: setting for setting in docs.settings.values()}
    return by_name | docs.settings


def _default_problem(docs: Docs, name: str, quoted: str) -> str | None:
    setting = _settings_by_any_name(docs).get(name)
    if setting is None or setting.defaults is None:
        return None  # not a literal in settings (a path under VAR_DIR): not compared
    if same_value(quoted, setting.defaults):
        return None
    actual = " or ".join(f"`{value}`" for value in sorted(setting.defaults))
    return (
        f"`{name}` default quoted as `{quoted}`, but config/settings.py "
        f"defaults {setting.setting} to {actual}"
    )


def _setting_name_problem(docs: Docs, name: str, row: str) -> str | None:
    named = SETTING_NAMED.search(row)
    setting = docs.settings.get(name)
    if named and setting and named[1] != setting.setting:
        return (
            f"`{name}` says (setting `{named[1]}`), but config/settings.py "
            f"assigns it to {setting.setting}"
        )
    return None


def settings_rows(lines: list[str]):
    """Yield (line number, variable names, quoted defaults, row) for each row
    of a table with a "default" column; the names are in its "variable" or
    "setting" column, else in the first."""
    columns = None
    for number, line in enumerate(lines, 1):
        if not line.lstrip().startswith("|"):
            columns = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if columns is None:
            headers = [cell.lower() for cell in cells]
            default = next((i for i, h in enumerate(headers) if "default" in h), None)
            named = next((i for i, h in enumerate(headers) if h in NAME_HEADERS), 0)
            columns = (named, default)
            continue
        named, default = columns
        if default is None or max(named, default) >= len(cells) or named == default:
            continue
        if set(cells[0]) <= set("-: "):
            continue  # the rule under the header
        names = [n for n in re.findall(r"`([^`]+)`", cells[named]) if ENV_NAME.match(n)]
        if names:
            yield number, names, _quoted(cells[default]), line


def _quoted(cell: str) -> list[str]:
    """Return the literals a default cell quotes: "`10`", "`localhost`, `25`",
    or a leading number ("7 days after publishing"); "unset: ..." is prose."""
    if cell.startswith("`"):
        return re.findall(r"`([^`]*)`", cell)
    if number := re.match(r"\d[\d,]*(?:\.\d+)?(?![\w.])", cell):
        return [number[0]]
    return []


CHECKS = {
    "links": check_links,
    "paths": check_paths,
    "symbols": check_symbols,
    "defaults": check_defaults,
}


def problems(docs: Docs, check: str) -> list[Problem]:
    """Return what `check` finds in every doc of `docs`."""
    return [p for file in docs.markdown_files() for p in CHECKS[check](docs, file)]
