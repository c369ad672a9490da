"""Who is making a request: a logged-in user or a site's API key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.models import Role


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. API keys act as the clinic role of their site."""

    kind: Literal["user", "api_key", "dicom"]  # "dicom": an ECG cart by its AE title (app.integration.dicom_store)
    id: int
    site_id: int
    role: Role
    reader_pools: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        """Audit actor string, e.g. ``user:12`` or ``api_key:3`` (no names: no personal data)."""
        return f"{self.kind}:{self.id}"
