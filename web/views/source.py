"""A read-only view of the repository's own source files, so a walkthrough's code
link opens the file at the line it talks about (docs/demo.md, "The docs and
the code, in the app").

Only the files web/source_files.py allows are shown; anything else is the
demo's not-found page, whatever the path says.
"""

import re
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils.safestring import mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

from web.pages import not_found, render_page
from web.source_files import source_dir, source_file

LINES = re.compile(r"^(\d{1,6})(?:-(\d{1,6}))?$")


class NumberedLines(HtmlFormatter):
    """Each line a block with id `L<n>` and a number that links to it."""

    def __init__(self, *, marked: range, **options):
        super().__init__(**options)
        self.marked = marked

    def wrap(self, source):
        yield 0, '<pre class="source-code"><code>'
        number = 0
        for kind, line in source:
            if kind != 1:
                yield kind, line
                continue
            number += 1
            mark = " marked" if number in self.marked else ""
            yield (
                1,
                f'<span class="line{mark}" id="L{number}">'
                f'<a class="ln" href="#L{number}" data-line="{number}" '
                f'aria-label="Line {number}"></a>{line}</span>',
            )
        yield 0, "</code></pre>"


def _marked(asked: str | None) -> range:
    match = LINES.match(asked or "")
    if not match:
        return range(0)
    first = int(match[1])
    return range(first, max(first, int(match[2] or first)) + 1)


def _highlighted(text: str, path: str, marked: range) -> str:
    try:
        lexer = get_lexer_for_filename(path, stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    return highlight(text, lexer, NumberedLines(marked=marked, nowrap=False))


def _crumbs(path: str) -> list[dict]:
    parts = path.strip("/").split("/")
    return [
        {"name": part, "folder": "/".join(parts[: i + 1]) + "/"}
        for i, part in enumerate(parts[:-1])
    ] + [{"name": parts[-1], "folder": None}]


def _back(request) -> dict:
    """Return where the back link leads: the walkthrough the reader came from."""
    came_from = urlsplit(request.headers.get("referer", ""))
    docs = reverse("web:docs")
    if came_from.netloc == request.get_host() and came_from.path.startswith(docs):
        return {"url": came_from.path, "label": came_from.path.removeprefix("/")}
    return {"url": docs, "label": "the docs"}


def source(request, path):
    if path.endswith("/"):
        files = source_dir(path)
        if not files:
            return not_found(request, "No such folder among the source files.")
        return render_page(
            request,
            "web/source_dir.html",
            {
                "title": path,
                "path": path,
                "crumbs": _crumbs(path),
                "files": [name.removeprefix(path) for name in files],
                "section": "docs",
            },
            lesson=None,
        )
    file = source_file(path)
    text = None
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = None
    if text is None:
        return not_found(
            request,
            "The source view shows only the repository's own source files, "
            f"and {path} is not one of them.",
        )
    marked = _marked(request.GET.get("lines"))
    return render_page(
        request,
        "web/source.html",
        {
            "title": path,
            "path": path,
            "crumbs": _crumbs(path),
            "marked": marked[0] if marked else None,
            # Pygments escapes the file's text; the line markup is ours.
            "code": mark_safe(_highlighted(text, path, marked)),  # noqa: S308
            "back": _back(request),
            "section": "docs",
        },
        lesson=None,
    )
