"""What the statement reader refuses, and that it refuses unsafe XML without
expanding an entity or fetching anything: a file that is not XML, another
message, an XXE (file and http), a billion laughs, a DOCTYPE of any kind."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from iso20022.camt053 import StatementUnreadable, statement_read_all
from iso20022.safe_xml import PARSER_OPTIONS
from tests.iso20022.builders import FILES, pain001
from tests.iso20022.test_camt053_read import entry, minimal

ROOT = Path(__file__).resolve().parents[2]
PASSWD = Path("/etc/passwd")


def refusal(data: bytes) -> StatementUnreadable:
    with pytest.raises(StatementUnreadable) as refused:
        statement_read_all(data)
    return refused.value


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not-xml"),
        ("<Document/>", "not-xml"),  # text, not bytes: the encoding is the file's
        (b"%PDF-1.7 a statement as a PDF", "not-xml"),
        (b'<?xml version="1.0"?>\n', "not-xml"),
        (minimal(entry())[:-40], "not-xml"),  # cut short
        (minimal(entry()).replace(b"</Ntry>", b"</Ntr>"), "not-xml"),
        (b"<html><body>Service unavailable</body></html>", "not-camt053"),
        (b"<Document><BkToCstmrStmt/></Document>", "not-camt053"),  # no namespace
        (
            minimal(entry(), "urn:iso:std:iso:20022:tech:xsd:camt.053.001.13"),
            "not-camt053",
        ),
        (minimal("").replace(b"<MsgId>M</MsgId>", b""), "malformed"),
        (minimal("").replace(b"<Id>S</Id>", b""), "malformed"),
    ],
)
def test_a_document_that_is_no_camt053_we_read_is_refused_with_a_reason(data, reason):
    assert refusal(data).reason == reason


def test_a_pain001_or_a_camt054_given_as_a_statement_is_refused_by_name():
    # when
    pain = refusal(pain001())
    camt054 = refusal((FILES / "camt054_001_08.xml").read_bytes())
    # then
    assert (pain.reason, camt054.reason) == ("not-camt053", "not-camt053")
    assert "pain.001.001.09" in str(pain)
    assert "camt.054.001.08" in str(camt054)


def test_an_external_file_entity_is_refused_and_the_file_is_never_read():
    # given
    data = (FILES / "xxe_file.xml").read_bytes()
    secret = PASSWD.read_text().splitlines()[0]
    # when
    refused = refusal(data)
    # then
    assert refused.reason == "unsafe-xml"
    assert secret not in str(refused) and secret not in repr(refused.args)


def test_an_http_entity_is_refused_and_nothing_is_fetched():
    # given: a listener where the entities point, to see whether anything calls
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        data = (
            (FILES / "xxe_http.xml").read_bytes().replace(b":9/", f":{port}/".encode())
        )
        # when
        refused = refusal(data)
        # then
        assert refused.reason == "unsafe-xml"
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_a_billion_laughs_is_refused_within_a_small_memory_limit():
    # given: a child process capped at 1 GiB of address space; expanded, lol9
    # would be 3 GB of "lol", so a reader that expands it cannot answer at all
    script = (
        "import json, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from iso20022.camt053 import StatementUnreadable, statement_read_all\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n"
        "    statement_read_all(data)\n"
        "    reason = None\n"
        "except StatementUnreadable as exc:\n"
        "    reason = exc.reason\n"
        "print(json.dumps({'reason': reason}))\n"
    )
    # when
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, str(FILES / "billion_laughs.xml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    # then: refused on sight, never expanded
    assert json.loads(run.stdout) == {"reason": "unsafe-xml"}


@pytest.mark.parametrize(
    "doctype",
    [
        b"<!DOCTYPE Document>",
        b'<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd">',
        b'<!DOCTYPE Document [<!ENTITY name "Example">]>',
    ],
)
def test_any_doctype_is_refused_even_a_harmless_one(doctype):
    # given
    data = minimal(entry()).replace(b"?>", b"?>" + doctype, 1)
    # when / then
    assert refusal(data).reason == "unsafe-xml"


def test_a_doctype_hidden_in_utf16_is_refused_too():
    # given
    text = minimal(entry()).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    data = text.replace("?>", '?><!DOCTYPE d [<!ENTITY x "y">]>', 1).encode("utf-16")
    # when / then
    assert refusal(data).reason == "unsafe-xml"


def test_past_the_prolog_guard_the_parser_options_still_expand_and_fetch_nothing():
    # given: the files parsed with the reader's options only, the guard skipped
    parser = etree.XMLParser(**PARSER_OPTIONS)
    secret = PASSWD.read_text().splitlines()[0]
    # when
    xxe = etree.tostring(
        etree.fromstring((FILES / "xxe_file.xml").read_bytes(), parser)
    )
    with pytest.raises(etree.XMLSyntaxError) as bomb:
        etree.fromstring((FILES / "billion_laughs.xml").read_bytes(), parser)
    # then
    assert b"<MsgId>&secret;</MsgId>" in xxe and secret.encode() not in xxe
    assert "amplification" in str(bomb.value)


def test_a_document_nested_deeper_than_libxml2_allows_is_too_deep():
    # given
    deep = "<x>" * 300 + "</x>" * 300
    data = minimal(entry(details=f"<AddtlNtryInf>{deep}</AddtlNtryInf>"))
    # when / then
    assert refusal(data).reason == "too-deep"


def test_an_ntry_of_another_namespace_is_no_entry_of_the_statement():
    # given: an Ntry in another namespace is no entry of this statement
    foreign = entry().replace("<Ntry>", '<Ntry xmlns="urn:example:other">')
    # when
    [header], lines = statement_read_all(minimal(foreign))
    # then
    assert header.statement_id == "S" and lines == []
