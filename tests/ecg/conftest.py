"""Fixtures for the signal-library tests: the real PhysioNet recordings in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import data_dir


@pytest.fixture(scope="session")
def data() -> Path:
    """Root of the read-only recordings (see ../shared/data/README.md for credits)."""
    root = data_dir()
    if not (root / "mitdb" / "100.hea").exists():
        pytest.fail(f"recordings not found at {root}; set ECGHUB_DATA_DIR")
    return root
