"""Fonts for report text: DejaVu Sans for Latin, a CJK font (loaded by file path) for Chinese.

The Chinese font comes from a Debian package (``fonts-wqy-microhei`` first;
``fonts-wqy-zenhei`` or ``fonts-noto-cjk`` also work). It is registered with
matplotlib's font manager by path, so no font cache rebuild or fontconfig
lookup is needed. Without any of them, text falls back to DejaVu Sans and a
single warning says which package to install (Chinese would print as boxes).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager
from matplotlib.font_manager import FontProperties

log = logging.getLogger(__name__)

_ASSETS = Path(__file__).with_name("assets")
#: Candidate CJK font files, best first (Debian package in the comment).
CJK_FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk
    _ASSETS / "cjk.ttf",
)
LATIN_FALLBACK = "DejaVu Sans"


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """Family name of the first CJK font file found (registered with matplotlib), or None."""
    for path in CJK_FONT_FILES:
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return FontProperties(fname=str(path)).get_name()
    log.warning(
        "no CJK font found (looked for %s); Chinese report text will be missing. "
        "Install the Debian package fonts-wqy-microhei.",
        ", ".join(str(p) for p in CJK_FONT_FILES),
    )
    return None


def families() -> list[str]:
    """Font family list for report text: Latin font first, the CJK font for the glyphs it lacks."""
    cjk = cjk_family()
    return [LATIN_FALLBACK, cjk] if cjk else [LATIN_FALLBACK]


def font(size_pt: float) -> FontProperties:
    """Report font at ``size_pt`` points (1 pt = 0.3528 mm), regular weight (the CJK fonts have no bold)."""
    return FontProperties(family=families(), size=size_pt)


def latin_bold(size_pt: float) -> FontProperties:
    """Bold Latin-only font at ``size_pt`` points, for ASCII labels such as lead names."""
    return FontProperties(family=[LATIN_FALLBACK], size=size_pt, weight="bold")
