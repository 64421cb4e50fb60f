"""Read a Markdown document the way GitHub renders it, for the docs checks: its
links, its code spans and its headings' anchors, each with the line it is on.

Only what docs/ uses. Fenced code is blanked out first (it holds no links), so
offsets and line numbers stay those of the file.
"""

import re
from dataclasses import dataclass

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# [label](target) and ![alt](target); a label may run over a line break.
LINK = re.compile(r"!?\[(?P<label>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<text>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


@dataclass(frozen=True)
class Link:
    label: str
    target: str
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class CodeSpan:
    text: str
    line: int
    start: int
    end: int


class Document:
    """A Markdown file's text with its fenced code blanked out."""

    def __init__(self, text: str):
        self.text = FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m[0]), text)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def line_of(self, offset: int) -> int:
        low, high = 0, len(self._line_starts)
        while high - low > 1:
            middle = (low + high) // 2
            if self._line_starts[middle] <= offset:
                low = middle
            else:
                high = middle
        return low + 1

    def code_spans(self) -> list[CodeSpan]:
        return [
            CodeSpan(m[1], self.line_of(m.start()), m.start(), m.end())
            for m in CODE_SPAN.finditer(self.text)
        ]

    def links(self) -> list[Link]:
        """Return the links, leaving out any written inside a code span."""
        spans = [(s.start, s.end) for s in self.code_spans()]
        found = []
        for m in LINK.finditer(self.text):
            if any(start < m.start() < end for start, end in spans):
                continue
            label = " ".join(m["label"].split())
            found.append(
                Link(label, m["target"], self.line_of(m.start()), m.start(), m.end())
            )
        return found

    def anchors(self) -> set[str]:
        """Return the anchors GitHub gives this document's headings."""
        seen: dict[str, int] = {}
        anchors = set(HTML_ANCHOR.findall(self.text))
        for m in HEADING.finditer(self.text):
            slug = github_slug(m["text"])
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
        return anchors


def github_slug(heading: str) -> str:
    """Return GitHub's anchor for a heading: its rendered text lowercased,
    punctuation other than `-` and `_` dropped, each space a `-`.
    """
    text = LINK.sub(lambda m: m["label"], heading)  # a link shows its label
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")
