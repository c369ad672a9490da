"""HL7 v2 bytes on the wire: MLLP framing, character sets (MSH-18), escaping, and field access.

Parsing and building go through ``hl7apy``; this module only does what comes
before and after it: finding the character set the sender declared and
decoding with it, and reading components of a field (``hl7apy`` keeps a
field's ER7 text, we split it on the message's own separators).

Character sets (HL7 v2.5 table 0211): ``UNICODE UTF-8`` and ``GB 18030-2000``
(also the ``GB18030`` / ``GB 18030`` spellings seen in Chinese HIS); an empty
MSH-18 means the HL7 default (ASCII), which we read as UTF-8 (a superset).
"""

from __future__ import annotations

START, END = b"\x0b", b"\x1c\x0d"

CHARSETS = {"UNICODE UTF-8": "utf-8", "UTF-8": "utf-8", "UTF8": "utf-8", "ASCII": "ascii", "": "utf-8",
            "GB 18030-2000": "gb18030", "GB18030": "gb18030", "GB 18030": "gb18030", "GB18030-2000": "gb18030",
            "GB 18030-2005": "gb18030", "8859/1": "latin-1"}


class Hl7Refusal(Exception):
    """A message we will not process: answered with ``ack_code`` (AE/AR) and an ERR segment.

    ``hl7_error`` is the HL7 table 0357 code (100 segment sequence error, 101 required field
    missing, 102 data type error, 103 table value not found, 200 unsupported message type,
    203 unsupported version, 204 unknown key identifier, 207 application internal error).
    """

    def __init__(self, reason: str, *, ack_code: str = "AR", hl7_error: str = "207", location: str = "") -> None:
        super().__init__(reason)
        self.reason, self.ack_code, self.hl7_error, self.location = reason, ack_code, hl7_error, location


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP's start block and end block + carriage return."""
    return START + message + END


def msh_charset(raw: bytes) -> str:
    """The Python codec named by MSH-18 of ``raw``; refuses a charset we do not know.

    The MSH line is decoded as UTF-8, else as GB18030, before splitting: a GB18030 double
    byte may contain 0x7C ('|'), so splitting undecoded bytes could cut a Chinese facility name.
    """
    line = raw.split(b"\r", 1)[0].split(b"\n", 1)[0]
    if not line.startswith(b"MSH") or len(line) < 8:
        raise Hl7Refusal("the message does not start with an MSH segment", hl7_error="100", location="MSH")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("gb18030", errors="replace")
    fields = text.split(text[3])
    declared = fields[17].split(text[4])[0].strip().upper() if len(fields) > 17 else ""
    if declared not in CHARSETS:
        raise Hl7Refusal(f"unsupported character set in MSH-18: {declared!r}", hl7_error="103", location="MSH-18")
    return CHARSETS[declared]


def decode(raw: bytes) -> tuple[str, str]:
    """(text with CR segment separators, codec) of one received message."""
    codec = msh_charset(raw)
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise Hl7Refusal(f"the message is not valid {codec} as MSH-18 declares (byte {exc.start})",
                         hl7_error="102", location="MSH-18") from exc
    segments = [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s.strip()]
    return "\r".join(segments), codec


_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def escape(value: str) -> str:
    """Text for an HL7 field with the default delimiters; line breaks become ``\\.br\\``."""
    for raw, esc in _ESCAPES:
        value = value.replace(raw, esc)
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\.br\\")


def unescape(value: str) -> str:
    """Inverse of :func:`escape` (the escapes HL7 2.5 section 2.7 defines for text)."""
    value = value.replace("\\.br\\", "\n")
    for raw, esc in reversed(_ESCAPES):
        value = value.replace(esc, raw)
    return value


def component(er7: str, n: int, comp_sep: str = "^") -> str:
    """Component ``n`` (1-based) of a field's first repetition, first subcomponent, unescaped; '' when absent."""
    comps = er7.split("~", 1)[0].split(comp_sep)
    return unescape(comps[n - 1].split("&", 1)[0]).strip() if len(comps) >= n else ""
