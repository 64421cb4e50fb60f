"""Render the project's Markdown walkthroughs as HTML, with no dependency.

Only what docs/ uses: headings, paragraphs, lists, fenced code, tables, block
quotes, inline code, emphasis, images and links. Everything is escaped first; links to
other docs stay inside the app, links to the repository's source files open the
source view at the line that defines what the link names, links elsewhere are
left as text. A ```mermaid block becomes a diagram the page draws in the browser.
"""

import html
import posixpath
import re
from urllib.parse import urlencode

from django.urls import reverse

from web.source_files import source_dir, source_file, symbol_lines

INLINE_CODE = re.compile(r"`([^`]+)`")
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
# "`relay_once` in [events/relay.py](...)": the code span names the symbol.
LINK = re.compile(
    r"(?P<before>\x00(?P<hint>\d+)\x00 in )?"
    r"\[(?P<label>[^\]]+)\]\((?P<target>[^)\s]+)\)"
)
BOLD = re.compile(r"\*\*(.+?)\*\*")
EMPHASIS = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
LIST_ITEM = re.compile(r"^(\s*)([-*]|\d+\.)\s+(.*)$")
TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L?(\d+))?$")  # GitHub's #L42 and #L42-L60
SYMBOL = re.compile(r"^[A-Za-z_][\w.]*$")
# docs/ directories a walkthrough may link to: the index's section for them.
DOC_DIRS = {".": "", "lessons": "walkthroughs", "adr": "decisions"}


def doc_title(source: str, default: str) -> str:
    """Return the text of the document's first top-level heading."""
    headings = (line[2:].strip() for line in source.splitlines() if line[:2] == "# ")
    return next(headings, default)


def _as_symbol(text: str | None) -> str | None:
    name = (text or "").strip().strip("`").removesuffix("()")
    return name if SYMBOL.match(name) else None


def _code_lines(
    repo_path: str, anchor: str, names: list[str | None]
) -> tuple[int, int] | None:
    if match := LINE_ANCHOR.match(anchor):
        first = int(match[1])
        return first, max(first, int(match[2] or first))
    for name in (_as_symbol(n) for n in names):
        if name and (lines := symbol_lines(repo_path, name)):
            return lines
    return None


def _code_link(label: str, repo_path: str, anchor: str, names: list) -> str | None:
    if repo_path.endswith("/") or source_file(repo_path) is None:
        folder = repo_path.rstrip("/")
        if not source_dir(folder):
            return None
        url = reverse("web:source", args=[folder + "/"])
        return f'<a class="ref" href="{html.escape(url)}">{label}</a>'
    url = reverse("web:source", args=[repo_path])
    where = repo_path
    lines = _code_lines(repo_path, anchor, names)
    if lines:
        first, last = lines
        shown = str(first) if first == last else f"{first}-{last}"
        url += f"?{urlencode({'lines': shown})}#L{first}"
        where += f":{first}"
    return (
        f'<a class="ref" href="{html.escape(url)}" '
        f'title="{html.escape(where)}">{label}</a>'
    )


def _link(label: str, target: str, here: str, *, text: str, hint=None) -> str:
    """Return `label` linked to `target`, a link written in docs/`here`.

    `text` is the label as plain text and `hint` a symbol written just before
    the link: either may name the symbol a code link should open at.
    """
    if re.match(r"^[a-z]+:", target) or target.startswith("//"):
        return label  # no requests to other hosts, not even by a click
    path, _, anchor = target.partition("#")
    if not path:
        return f'<a href="#{html.escape(anchor)}">{label}</a>'
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(here), path))
    if not resolved.startswith(".."):
        if resolved.endswith(".md"):
            url = reverse("web:doc", args=[resolved])
            return f'<a href="{url}{"#" + anchor if anchor else ""}">{label}</a>'
        if path.endswith("/") and resolved in DOC_DIRS:
            section = DOC_DIRS[resolved]
            url = reverse("web:docs") + (f"#{section}" if section else "")
            return f'<a href="{url}">{label}</a>'
    repo_path = posixpath.normpath(posixpath.join("docs", resolved))
    if not repo_path.startswith(".."):
        if path.endswith("/"):
            repo_path += "/"
        names = [text, anchor, hint]
        if linked := _code_link(label, repo_path, anchor, names):
            return linked
    # Not a file the source view shows: name it, don't link.
    shown = re.sub(r"^(\.\./)+", "", resolved)
    return f'<span class="ref" title="{html.escape(shown)}">{label}</span>'


def _image(alt: str, target: str, here: str) -> str:
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(here), target))
    if re.match(r"^[a-z]+:", target) or resolved.startswith(".."):
        return alt
    url = reverse("web:doc", args=[resolved])
    return f'<img src="{url}" alt="{alt}" loading="lazy">'


def _inline(text: str, here: str) -> str:
    # Code spans first, stashed, so nothing inside them is formatted.
    stash: list[str] = []

    def keep(match):
        stash.append(match.group(1))
        return f"\x00{len(stash) - 1}\x00"

    def plain(escaped: str) -> str:
        unstashed = re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m[1])], escaped)
        return html.unescape(unstashed)

    def link(match):
        hint = plain(f"\x00{match['hint']}\x00") if match["hint"] else None
        label, target = match["label"], html.unescape(match["target"])
        linked = _link(label, target, here, text=plain(label), hint=hint)
        return (match["before"] or "") + linked

    text = INLINE_CODE.sub(keep, html.escape(text, quote=False))
    text = IMAGE.sub(lambda m: _image(m[1], html.unescape(m[2]), here), text)
    text = LINK.sub(link, text)
    text = BOLD.sub(r"<strong>\1</strong>", text)
    text = EMPHASIS.sub(r"<em>\1</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: f"<code>{stash[int(m[1])]}</code>", text)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", text.lower()).strip().replace(" ", "-")


def _table(rows: list[str], here: str) -> str:
    def cells(row: str) -> list[str]:
        return [cell.strip() for cell in row.strip().strip("|").split("|")]

    head = "".join(f"<th>{_inline(c, here)}</th>" for c in cells(rows[0]))
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(c, here)}</td>" for c in cells(row)) + "</tr>"
        for row in rows[2:]
    )
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def markdown_html(source: str, *, here: str) -> str:
    """Return the HTML of a Markdown document found at docs/`here`."""
    lines = source.splitlines()
    out: list[str] = []
    paragraph: list[str] = []
    i = 0

    def flush():
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph), here)}</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            language = line[3:].strip()
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            code = html.escape("\n".join(block))
            if language == "mermaid":
                # Mermaid reads the element's text, so the escaping is undone.
                out.append(f'<pre class="mermaid">{code}</pre>')
            else:
                out.append(f"<pre><code>{code}</code></pre>")
        elif heading := HEADING.match(line):
            flush()
            level, text = len(heading.group(1)), heading.group(2)
            out.append(f'<h{level} id="{_slug(text)}">{_inline(text, here)}</h{level}>')
        elif (
            line.startswith("|")
            and i + 1 < len(lines)
            and TABLE_RULE.match(lines[i + 1])
        ):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out.append(_table(rows, here))
            continue
        elif LIST_ITEM.match(line):
            flush()
            ordered = LIST_ITEM.match(line).group(2)[0].isdigit()
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                item = LIST_ITEM.match(lines[i])
                if item:
                    items.append(item.group(3))
                else:
                    items[-1] += " " + lines[i].strip()
                i += 1
            tag = "ol" if ordered else "ul"
            body = "".join(f"<li>{_inline(item, here)}</li>" for item in items)
            out.append(f"<{tag}>{body}</{tag}>")
            continue
        elif line.startswith(">"):
            flush()
            quote = []
            while i < len(lines) and lines[i].startswith(">"):
                quote.append(lines[i].lstrip(">").strip())
                i += 1
            quoted = _inline(" ".join(quote), here)
            out.append(f"<blockquote><p>{quoted}</p></blockquote>")
            continue
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)
