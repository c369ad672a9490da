"""Safe XML parsing for the vendor/HL7 readers, and small element helpers.

Parsing goes through defusedxml: entity declarations (billion laughs,
quadratic blow-up) and external entities/DTD fetches raise, and are mapped
to ``UnreadableRecording``. Namespaces are stripped from tags so that the
readers can match on local names (``AnnotatedECG``, ``restingecgdata``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TypeVar, overload

import defusedxml
import defusedxml.ElementTree as DET

from ecg.io import limits
from ecg.types import UnreadableRecording

_ROOT = re.compile(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


def decode_head(data: bytes, n: int = 4096) -> str:
    """The start of an XML document as text (UTF-8/UTF-16 by BOM or NUL pattern), never raising."""
    head = data[:n]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if len(head) > 1 and head[0] == 0 and head[1] != 0:
        return head.decode("utf-16-be", errors="replace")
    if len(head) > 1 and head[1] == 0 and head[0] != 0:
        return head.decode("utf-16-le", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def root_name(data: bytes) -> str | None:
    """Local name of the root element of an XML document, or None when it does not look like XML."""
    text = decode_head(data).lstrip()
    if not text.startswith("<"):
        return None
    # skip the prolog: declaration, comments, processing instructions, DOCTYPE
    text = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", "", text, flags=re.DOTALL)
    m = _ROOT.search(text)
    return m.group(2) if m else None


def parse(data: bytes, what: str) -> ET.Element:
    """Parse ``data`` with defusedxml; every failure becomes ``UnreadableRecording``."""
    if len(data) > limits.MAX_XML_BYTES:
        raise UnreadableRecording(
            f"the {what} XML file is {len(data) / 2**20:.0f} MiB; at most "
            f"{limits.MAX_XML_BYTES / 2**20:.0f} MiB of XML are accepted")
    try:
        root = DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise UnreadableRecording(
            f"the {what} XML file declares entities or external references, which are refused "
            f"for safety ({type(exc).__name__})") from None
    except (ET.ParseError, ValueError, UnicodeError, LookupError) as exc:
        raise UnreadableRecording(f"the {what} XML file is damaged or truncated ({exc})") from None
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def find(el: ET.Element | None, path: str) -> ET.Element | None:
    """``el.find(path)`` tolerating a None ``el``."""
    return None if el is None else el.find(path)


def text(el: ET.Element | None, path: str | None = None, default: str | None = None) -> str | None:
    """Stripped text of ``el`` (or of ``el.find(path)``); ``default`` when absent or empty."""
    if el is not None and path is not None:
        el = el.find(path)
    if el is None or el.text is None or not el.text.strip():
        return default
    return el.text.strip()


Number = TypeVar("Number", int, float)


@overload
def number(value: str | None, what: str) -> float: ...
@overload
def number(value: str | None, what: str, kind: type[Number]) -> Number: ...
def number(value: str | None, what: str, kind: type[float] = float) -> float:
    """``value`` as a number (``kind``: float, or int read through float), or ``UnreadableRecording`` naming ``what``."""

    if value is None:
        raise UnreadableRecording(f"{what} is missing")
    try:
        result = kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError, OverflowError):
        raise UnreadableRecording(f"{what} is not a number ({value[:40]!r})") from None
    return result
