"""The statement lexicon readers sign with (codes shared with the machine findings)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

Severity = Literal["normal", "abnormal", "critical"]


@dataclass(frozen=True)
class Statement:
    code: str
    zh: str
    en: str
    severity: Severity
    group: str


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Statement]:
    """code -> Statement, from lexicon.json next to this module."""
    raw = json.loads((Path(__file__).with_name("lexicon.json")).read_text(encoding="utf-8"))
    return {s["code"]: Statement(**s) for s in raw["statements"]}
