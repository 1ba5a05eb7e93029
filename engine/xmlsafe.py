"""Parsing untrusted XML: no DTDs, no entities, no network (billion laughs, XXE)."""
from __future__ import annotations

import re

from lxml import etree
from engine.i18n import _

_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
FORBIDDEN = _("不允许 DOCTYPE/实体声明")


class XmlError(Exception):
    def __init__(self, file: str, line: int | None, message: str):
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=False,
                           remove_pis=True)


def _text(content: bytes) -> str:
    """Enough of the document as text to look for declarations, whatever its encoding."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace")
    if content[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        return content.decode("utf-16-le" if content[0] == 0x3C else "utf-16-be", errors="replace")
    return content.decode("latin-1")   # ASCII-compatible encodings: markup bytes are ASCII


def parse(content: bytes, file_name: str) -> etree._Element:
    """The document's root element, or XmlError naming the line.

    A DOCTYPE is refused before lxml sees it, so nothing is ever expanded or fetched."""
    text = _text(content)
    found = _DECLARATION.search(text)
    if found:
        raise XmlError(file_name, text[:found.start()].count("\n") + 1, FORBIDDEN)
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        detail = re.sub(r",? line \d+, column \d+$", "", exc.msg or str(exc))
        where = f", line {line}" if line else ""
        raise XmlError(file_name, line, _("XML 格式错误: {detail}{where}").format(
                                            detail=detail, where=where)) from None
    except (ValueError, etree.LxmlError) as exc:   # e.g. an unknown encoding declaration
        raise XmlError(file_name, None, _("XML 格式错误: {exc}").format(exc=exc)) from None
    if root is None:
        raise XmlError(file_name, None, _("XML 文档为空"))
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:   # belt and braces
        raise XmlError(file_name, 1, FORBIDDEN)
    return root
