"""A small element tree the builders describe messages in, written out through
lxml's incremental writer so a statement of any length streams to its target.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree


@dataclass(frozen=True, slots=True)
class Node:
    tag: str
    text: str | None = None
    children: tuple["Node", ...] = ()
    attrib: dict[str, str] = field(default_factory=dict)


def el(tag: str, *content: "Node | str | None", **attrib: str) -> Node:
    """Describe an element: a str is its text, a Node a child, None is left out.

    el("Amt", "12.50", Ccy="EUR"); el("Refs", el("EndToEndId", e2e) if e2e else None)
    """
    text = next((c for c in content if isinstance(c, str)), None)
    children = tuple(c for c in content if isinstance(c, Node))
    return Node(tag, text, children, attrib)


def node_write(xf, namespace: str, node: Node) -> None:
    """Write `node` inside the open element of an lxml `xmlfile` writer."""
    with xf.element(f"{{{namespace}}}{node.tag}", node.attrib):
        if node.text is not None:
            xf.write(node.text)
        for child in node.children:
            node_write(xf, namespace, child)


class DocumentWriter:
    """Open `<Document xmlns=namespace><message>` on `target`; write nodes into it.

    with DocumentWriter(out, ns, "BkToCstmrStmt") as doc:
        doc.write(el("GrpHdr", ...))
        with doc.element("Stmt"):
            doc.write_all(entries)
    """

    def __init__(self, target: BinaryIO, namespace: str, message: str):
        self.namespace = namespace
        self._file = etree.xmlfile(target, encoding="UTF-8")
        self._message = message
        self._stack: list = []

    def __enter__(self) -> "DocumentWriter":
        xf = self._file.__enter__()
        self.xf = xf
        xf.write_declaration()
        for tag, nsmap in (("Document", {None: self.namespace}), (self._message, None)):
            context = xf.element(f"{{{self.namespace}}}{tag}", nsmap=nsmap)
            context.__enter__()
            self._stack.append(context)
        return self

    def __exit__(self, *exc_info) -> None:
        while self._stack:
            self._stack.pop().__exit__(*exc_info)
        self._file.__exit__(*exc_info)

    def element(self, tag: str):
        return self.xf.element(f"{{{self.namespace}}}{tag}")

    def write(self, node: Node) -> None:
        node_write(self.xf, self.namespace, node)

    def write_all(self, nodes: Iterable[Node]) -> None:
        for node in nodes:
            node_write(self.xf, self.namespace, node)
