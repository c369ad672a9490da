"""Recognise a file's format from its content (magic bytes, header structure), never its name.

``detect_format`` returns one of ``zip`` (a container, see ``archive``),
``wfdb`` (a WFDB header, ``.hea``), ``edf`` (EDF/EDF+ or BDF), ``dicom``
(``DICM`` at byte 128), ``scp_ecg`` (record length + section 0 layout),
``hl7_aecg`` / ``ge_muse`` / ``philips`` (XML by root element, any of UTF-8
and UTF-16) or ``csv`` (numeric text), and raises ``UnreadableRecording``
naming what it found otherwise. The file name only serves to word warnings
and error messages.
"""

from __future__ import annotations

import re
import struct

from ecg.io.leads import is_known_lead
from ecg.io.xmlutil import root_name
from ecg.types import UnreadableRecording

#: The original three formats. Kept unchanged because an existing test pins it;
#: ``READABLE_FORMATS`` lists every ``Recording.format`` value produced now.
SUPPORTED_FORMATS = ("wfdb", "edf", "csv")

#: Every format ``read_recording`` produces (``Recording.format``).
READABLE_FORMATS = ("wfdb", "edf", "csv", "dicom", "scp_ecg", "hl7_aecg", "ge_muse", "philips")

#: Root element (local name) of each XML ECG format.
XML_ROOTS = {"AnnotatedECG": "hl7_aecg", "RestingECG": "ge_muse", "restingecgdata": "philips"}

#: How each kind is named to a technician.
DISPLAY_NAMES = {"wfdb": "WFDB", "edf": "EDF", "csv": "CSV", "zip": "ZIP", "dicom": "DICOM", "scp_ecg": "SCP-ECG",
                 "hl7_aecg": "HL7 aECG XML", "ge_muse": "GE MUSE XML", "philips": "Philips XML"}

_LOOKED_FOR = "looked for WFDB, EDF, CSV, DICOM, SCP-ECG, HL7 aECG, GE MUSE and Philips XML"

#: File extensions that usually hold each detected kind (for mismatch warnings).
USUAL_EXTENSIONS = {
    "wfdb": (".hea",),
    "edf": (".edf", ".rec", ".bdf"),
    "csv": (".csv", ".txt", ".tsv"),
    "zip": (".zip",),
    "dicom": (".dcm", ".dicom", ".dic"),
    "scp_ecg": (".scp",),
    "hl7_aecg": (".xml",),
    "ge_muse": (".xml",),
    "philips": (".xml",),
}

_SNIFF_BYTES = 64 * 1024

# name[/nseg] nsig [fs[/counter[(base)]] [nsamp ...]]
RECORD_LINE = re.compile(
    r"^(?P<name>[\w\-.]+)(?:/(?P<nseg>\d+))?[ \t]+(?P<nsig>\d+)"
    r"(?:[ \t]+(?P<fs>[-+0-9.eE]+)(?:/[-+0-9.eE]+)?(?:\([^)]*\))?)?"
    r"(?:[ \t]+(?P<nsamp>\d+))?"
)
# file_name format[xspf][:skew][+offset] ...
_SIGNAL_LINE = re.compile(r"^\S+[ \t]+\d+(?:x\d+)?(?::\d+)?(?:\+\d+)?(?:[ \t]|$)")

_FOREIGN_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive (upload a .zip instead)"),
    (b"Rar!", "a RAR archive (upload a .zip instead)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (upload a .zip instead)"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "a Microsoft Office document"),
)


def _text_head(data: bytes) -> str | None:
    """The first 64 kB as text, or None when it is binary (NUL bytes or invalid UTF-8/ASCII)."""
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte char cut at the sniff boundary
            return head[: exc.start].decode("utf-8-sig", errors="strict")
        return None


def content_lines(text: str) -> list[str]:
    """Stripped non-empty lines that are not ``#`` comments."""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def is_wfdb_header(data: bytes) -> bool:
    """A WFDB header: a record line ``name nsig fs nsamp``, then ``nsig`` signal lines ``file fmt ...``."""
    text = _text_head(data)
    if text is None:
        return False
    lines = content_lines(text)
    if not lines:
        return False
    m = RECORD_LINE.match(lines[0])
    if not m:
        return False
    if m.group("nseg") is not None or int(m.group("nsig")) == 0:
        return True  # multi-segment or signal-less header: recognised, refused later with a reason
    return len(lines) > 1 and bool(_SIGNAL_LINE.match(lines[1])) and not _looks_numeric(lines[1])


def _looks_numeric(line: str) -> bool:
    """True when every cell of ``line`` is a number."""
    cells = [c for c in re.split(r"[,;\t ]+", line.strip()) if c]
    return bool(cells) and all(_is_number(c) for c in cells)


def _is_number(cell: str) -> bool:
    """True when ``cell`` parses as a float."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def is_edf(data: bytes) -> bool:
    """EDF/EDF+ (version field ``0`` + 7 spaces) or BDF (``\\xffBIOSEMI``) with a numeric header layout."""
    if len(data) < 256 or not (data[:8] == b"0       " or data[:8] == b"\xffBIOSEMI"):
        return False
    try:
        header_bytes = int(data[184:192].decode("ascii").strip())
        n_signals = int(data[252:256].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return False
    return header_bytes == 256 * (n_signals + 1)


def is_zip(data: bytes) -> bool:
    """A zip archive (local file header, or the end record of an empty archive)."""
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def is_csv(data: bytes) -> bool:
    """Delimited text: a row of numbers among the first lines, or rows with a consistent delimiter count.

    The second form lets the CSV reader report *which* cell is not a number.
    """
    text = _text_head(data)
    if text is None:
        return False
    lines = content_lines(text)
    complete = lines[:-1] if len(lines) > 1 and len(data) > _SNIFF_BYTES else lines
    if any(_looks_numeric(ln) for ln in complete[:20]):
        return True
    head = complete[:20]
    return len(head) >= 2 and any(
        head[0].count(d) > 0 and all(ln.count(d) == head[0].count(d) for ln in head) for d in (",", ";", "\t"))


def is_dicom(data: bytes) -> bool:
    """DICOM Part 10: a 128-byte preamble then ``DICM``."""
    return len(data) >= 132 and data[128:132] == b"DICM"


def is_scp(data: bytes) -> bool:
    """SCP-ECG: CRC, record length, then section 0 whose header says id 0 and whose first pointer is itself.

    Version 2+ files also carry ``SCPECG`` in section 0's reserved bytes; either mark is enough.
    """
    if len(data) < 6 + 16 + 10:
        return False
    sid, length = struct.unpack_from("<HI", data, 8)
    if sid != 0 or not 16 + 10 <= length <= 16 + 10 * 1024:
        return False
    p_id, p_len, p_index = struct.unpack_from("<HII", data, 22)
    return data[16:22] == b"SCPECG" or (p_id == 0 and p_len == length and p_index == 7)


def xml_kind(data: bytes) -> str | None:
    """``hl7_aecg``/``ge_muse``/``philips`` from the XML root element; ``xml`` for other XML; None when not XML."""
    name = root_name(data)
    if name is None:
        return None
    return XML_ROOTS.get(name, "xml")


def _what_is_it(data: bytes) -> str | None:
    """A description of well-known non-ECG files (images, PDF, archives, other XML)."""
    for magic, what in _FOREIGN_MAGIC:
        if data.startswith(magic):
            return what
    if xml_kind(data) == "xml":
        return (f"an XML document with root element <{root_name(data)}> (known ECG XML: HL7 aECG "
                "<AnnotatedECG>, GE MUSE <RestingECG>, Philips <restingecgdata>)")
    return None


def detect_format(data: bytes, name: str | None = None) -> str:
    """Kind of ``data`` (see the module doc); refuses anything else.

    ``name`` is only used to word the error message.
    """
    label = f"{name}: " if name else ""
    if len(data) == 0:
        raise UnreadableRecording(f"{label}empty file")
    if is_zip(data):
        return "zip"
    if is_edf(data):
        return "edf"
    if data[:8] in (b"0       ", b"\xffBIOSEMI") and len(data) >= 256:
        raise UnreadableRecording(f"{label}looks like an EDF file, but its header is damaged "
                                  "(header size and signal count do not agree)")
    if is_dicom(data):
        return "dicom"
    if is_scp(data):
        return "scp_ecg"
    kind = xml_kind(data)
    if kind is not None and kind != "xml":
        return kind
    if is_wfdb_header(data):
        return "wfdb"
    what = _what_is_it(data)
    if what:
        raise UnreadableRecording(f"{label}this is {what}, not an ECG recording ({_LOOKED_FOR})")
    if is_csv(data):
        return "csv"
    text = _text_head(data)
    lines = content_lines(text) if text is not None else []
    if len(lines) == 1 and any(is_known_lead(c) for c in re.split(r"[,;\t]", lines[0])):
        raise UnreadableRecording(f"{label}the CSV has a header row but no samples (zero-length signal)")
    if name and name.lower().endswith(".dat"):
        raise UnreadableRecording(
            f"{label}looks like a WFDB signal (.dat) file; upload it together with its header (.hea)")
    raise UnreadableRecording(f"{label}not a recognised ECG format ({_LOOKED_FOR})")


def extension_warning(kind: str, name: str | None) -> str | None:
    """A warning when ``name``'s extension does not fit the detected ``kind`` (the content wins)."""
    if not name or "." not in name:
        return None
    ext = name[name.rfind("."):].lower()
    if ext in USUAL_EXTENSIONS.get(kind, ()):
        return None
    return f"{name}: the extension {ext} does not match the content, which was read as {DISPLAY_NAMES.get(kind, kind.upper())}"
