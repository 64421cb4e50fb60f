"""Safe XML intake: refuse any DOCTYPE before the parser sees it, and parse with
entities, DTDs and the network off. docs/iso20022.md#safety says why both.
"""

import re
from collections.abc import Callable
from typing import BinaryIO

from lxml import etree

from iso20022.errors import Iso20022Error

PARSER_OPTIONS = {
    "resolve_entities": False,  # an entity is never expanded ...
    "no_network": True,  # ... nor fetched over the network ...
    "load_dtd": False,  # ... and no external DTD is read
    "huge_tree": False,  # keep libxml2's limits on depth and text size
    "remove_comments": True,
    "remove_pis": True,
}
# The prolog (declaration, comments) of a real file is a few hundred bytes.
PROLOG_LIMIT = 64 * 1024
CHUNK = 64 * 1024
ROOT_NAME = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)[\s/>]")
BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

ErrorType = type[Iso20022Error]


def prolog_root(prolog: bytes, *, final: bool, error: ErrorType) -> str | None:
    """Return the root element's local name once the prolog is read, else None.

    Raise `error("unsafe-xml")` on any markup declaration (<!DOCTYPE, <!ENTITY):
    no ISO 20022 message has one, and refusing on sight means no entity is ever
    declared, let alone expanded. NULs are dropped first so that UTF-16 and
    UTF-32 prologs are scanned as their ASCII letters.
    """
    text = prolog.replace(b"\x00", b"")
    for bom in BOMS:
        text = text.removeprefix(bom)
    i = 0
    while True:
        while i < len(text) and text[i : i + 1].isspace():
            i += 1
        rest = text[i:]
        if len(rest) < 4 and not final:
            return None
        if not rest and final:
            raise error("not-xml", "the document is empty")
        if not rest.startswith(b"<"):
            raise error("not-xml", "the document does not start with an element")
        if rest.startswith(b"<?") or rest.startswith(b"<!--"):
            close = b"?>" if rest.startswith(b"<?") else b"-->"
            end = rest.find(close, 2)
            if end < 0:
                if final:
                    raise error("not-xml", "the document ends inside its prolog")
                return None
            i += end + len(close)
            continue
        if rest.startswith(b"<!"):
            raise error(
                "unsafe-xml", "a DOCTYPE or entity declaration is refused unread"
            )
        match = ROOT_NAME.match(rest)
        if match is None:
            if final or len(rest) > 512:
                raise error("not-xml", "the root element's name is not well-formed")
            return None
        return match.group(1).decode("ascii").rpartition(":")[2]


class GuardedSource:
    """A file-like that checks the prolog before handing any byte to the parser.

    `root_check` is called with the root's local name so a wrong document type
    is refused before its body is read.
    """

    def __init__(
        self, raw: BinaryIO, *, error: ErrorType, root_check: Callable[[str], None]
    ):
        self.raw = raw
        self.error = error
        self.root_check = root_check
        self.pending: bytes | None = None

    def _prolog(self) -> bytes:
        buffer = b""
        while True:
            chunk = self.raw.read(CHUNK)
            if not isinstance(chunk, bytes):
                raise self.error("not-xml", "the source must be opened in binary")
            buffer += chunk
            root = prolog_root(buffer, final=not chunk, error=self.error)
            if root is not None:
                self.root_check(root)
                return buffer
            if len(buffer) > PROLOG_LIMIT:
                raise self.error("malformed", "the prolog is longer than 64 KiB")

    def read(self, size: int = -1) -> bytes:
        if self.pending is None:
            self.pending = self._prolog()
        if self.pending:
            if size is None or size < 0:
                chunk, self.pending = self.pending, b""
            else:
                chunk, self.pending = self.pending[:size], self.pending[size:]
            return chunk
        return self.raw.read(size)


def dtd_refuse(element, *, error: ErrorType) -> None:
    """Second line behind the prolog scan: the parsed document has no DTD at all."""
    info = element.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise error("unsafe-xml", "a DOCTYPE or entity declaration is refused unread")


def syntax_refusal(exc: etree.XMLSyntaxError, *, error: ErrorType) -> Iso20022Error:
    """Translate libxml2's complaint into a typed refusal."""
    message = str(exc)
    if "depth" in message.lower():
        return error("too-deep", f"the document nests too deep: {message}")
    if "amplification" in message.lower():  # libxml2's own entity-bomb guard
        return error("unsafe-xml", f"entity expansion is refused: {message}")
    return error("not-xml", f"the document is not well-formed XML: {message}")


def document_parse(
    data: bytes, *, error: ErrorType, root_check: Callable[[str], None]
) -> etree._Element:
    """Parse a small document whole, with the same guards as the streaming reader."""
    if not isinstance(data, bytes | bytearray):
        raise error("not-xml", "the document must be given as bytes")
    root = prolog_root(bytes(data[:PROLOG_LIMIT]), final=True, error=error)
    root_check(root or "")
    parser = etree.XMLParser(**PARSER_OPTIONS)
    try:
        element = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        raise syntax_refusal(exc, error=error) from None
    dtd_refuse(element, error=error)
    return element
