"""Render the project's Markdown walkthroughs as HTML, with no dependency.

Only what docs/ uses: headings, paragraphs, lists, fenced code, tables, block
quotes, inline code, emphasis, images and links. Everything is escaped first; links to
other docs stay inside the app, links to code become code spans (the app does
not serve source files), links elsewhere are left as text.
"""

import html
import posixpath
import re

from django.urls import reverse

INLINE_CODE = re.compile(r"`([^`]+)`")
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
BOLD = re.compile(r"\*\*(.+?)\*\*")
EMPHASIS = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
LIST_ITEM = re.compile(r"^(\s*)([-*]|\d+\.)\s+(.*)$")
TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _link(label: str, target: str, here: str) -> str:
    if re.match(r"^[a-z]+:", target) or target.startswith("//"):
        return label  # no requests to other hosts, not even by a click
    path, _, anchor = target.partition("#")
    if not path:
        return f'<a href="#{anchor}">{label}</a>'
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(here), path))
    if resolved.endswith(".md") and not resolved.startswith(".."):
        url = reverse("web:doc", args=[resolved])
        return f'<a href="{url}{"#" + anchor if anchor else ""}">{label}</a>'
    # Source files live in the repository, not in this app: name them, don't link.
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
        stash.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(stash) - 1}\x00"

    text = INLINE_CODE.sub(keep, html.escape(text, quote=False))
    text = IMAGE.sub(lambda m: _image(m[1], html.unescape(m[2]), here), text)
    text = LINK.sub(lambda m: _link(m[1], html.unescape(m[2]), here), text)
    text = BOLD.sub(r"<strong>\1</strong>", text)
    text = EMPHASIS.sub(r"<em>\1</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m.group(1))], text)


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
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(block))}</code></pre>")
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
