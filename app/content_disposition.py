"""``Content-Disposition`` for a download whose file name may be Chinese (RFC 6266, RFC 8187).

Header values are Latin-1 on the wire, so a name such as ``心电图.dat`` cannot
go into ``filename="..."`` (the download answered 500). The header carries an
ASCII fallback in ``filename`` (other characters, quotes, backslashes and
controls become ``_``) and the exact name, UTF-8 percent-encoded, in
``filename*``, which every current browser prefers.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# RFC 8187 attr-char besides ALPHA / DIGIT: kept as they are, everything else percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
_UNSAFE_ASCII = re.compile(r'[^\x20-\x7e]|["\\]')


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """The header value for downloading ``name``."""
    fallback = _UNSAFE_ASCII.sub("_", name) or "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
