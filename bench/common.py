"""Shared helpers for benchmarks: where the PhysioNet data lives."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The read-only recordings folder: $ECGHUB_DATA_DIR, else ../shared/data beside the repo."""
    return Path(os.environ.get("ECGHUB_DATA_DIR", REPO_ROOT.parent / "shared" / "data")).resolve()
