"""The official ISO 20022 XSDs vendored in iso20022/xsd/, loaded once each."""

import functools
from pathlib import Path

from lxml import etree

from iso20022.safe_xml import PARSER_OPTIONS

XSD_DIR = Path(__file__).resolve().parent / "xsd"
MESSAGES = ("pain.001.001.09", "camt.053.001.02", "camt.053.001.08")


@functools.cache
def schema(message: str) -> etree.XMLSchema:
    """Return the XMLSchema of one of MESSAGES, e.g. schema("camt.053.001.08")."""
    if message not in MESSAGES:
        raise ValueError(f"no vendored XSD for {message}; have {', '.join(MESSAGES)}")
    parser = etree.XMLParser(**PARSER_OPTIONS)
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{message}.xsd"), parser))


def schema_errors(document: bytes | etree._Element, message: str) -> list[str]:
    """Return the XSD's complaints about `document` ([] when it is valid).

    Bytes are parsed with the kit's parser options (no entity, no DTD, no
    network) but without its DOCTYPE guard: read untrusted ones with a reader.
    """
    if isinstance(document, bytes | bytearray):
        document = etree.fromstring(bytes(document), etree.XMLParser(**PARSER_OPTIONS))
    checker = schema(message)
    if checker.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log]
