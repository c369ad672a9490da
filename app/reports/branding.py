"""Who a patient-facing report comes from: the hub hospital's name, the report's title, its logo.

Read once from the settings (``ECGHUB_HUB_NAME``, ``ECGHUB_REPORT_TITLE``,
``ECGHUB_REPORT_LOGO``). The logo is a PNG or SVG file: the phone page shows it
as a ``data:`` image (the CSP allows those; an SVG in ``<img>`` runs no script),
the PDF draws it as a PNG (an SVG logo rasterised once with cairosvg).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.settings import Settings

#: Height (px) of a rasterised SVG logo: sharp at the printed 6 mm (about 600 dpi).
LOGO_RASTER_PX = 144


@dataclass(frozen=True)
class Branding:
    """Hospital name, report title and optional logo file (PNG or SVG)."""

    hub_name: str
    title: str
    logo: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        return cls(settings.hub_name, settings.report_title, settings.report_logo)

    def logo_png(self) -> bytes | None:
        """The logo as PNG bytes for the PDF header, or None without a logo."""
        return _png(self.logo) if self.logo else None

    def logo_data_uri(self) -> str | None:
        """The logo as a ``data:`` URI for the phone page's ``<img>``, or None without a logo."""
        if self.logo is None:
            return None
        mime = "image/svg+xml" if self.logo.suffix.lower() == ".svg" else "image/png"
        return f"data:{mime};base64,{base64.b64encode(self.logo.read_bytes()).decode()}"


@lru_cache(maxsize=4)
def _png(path: Path) -> bytes:
    """PNG bytes of ``path``: read as is, or an SVG rasterised ``LOGO_RASTER_PX`` high."""
    if path.suffix.lower() != ".svg":
        return path.read_bytes()
    import cairosvg  # only deployments with an SVG logo need cairo

    return cairosvg.svg2png(bytestring=path.read_bytes(), output_height=LOGO_RASTER_PX, unsafe=False)
