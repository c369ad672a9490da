"""The statement lexicon: one code, its Chinese and English text, default severity and group.

Machine findings (``ecg.interpret`` and the modules it calls) and the
cardiologists' signed statements share these codes; the service's reader
lexicon is this same file (``ecg/data/lexicon.json``). Every finding carries
both languages: ``finding(code, ...)`` takes the texts from the lexicon and
evidence built from a pair of templates (``evidence(en, zh, **values)``), so
a Chinese screen never shows an English machine sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecg.types import Finding, Severity

LEXICON_PATH = Path(__file__).resolve().parent / "data" / "lexicon.json"


@dataclass(frozen=True)
class Statement:
    """One lexicon entry: ``zh`` and ``en`` texts, default ``severity``, display ``group``."""

    code: str
    zh: str
    en: str
    severity: Severity
    group: str


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Statement]:
    """code -> Statement, in the file's order."""
    raw = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    return {s["code"]: Statement(**s) for s in raw["statements"]}


@dataclass(frozen=True)
class Evidence:
    """Evidence in both languages (plain text, numbers already formatted with units)."""

    en: str = ""
    zh: str = ""

    def __add__(self, other: "Evidence") -> "Evidence":
        return Evidence(self.en + other.en, self.zh + other.zh)

    def join(self, parts: "list[Evidence]") -> "Evidence":
        """``parts`` joined with this evidence as the separator (like ``str.join``)."""
        return Evidence(self.en.join(p.en for p in parts), self.zh.join(p.zh for p in parts))


def evidence(en: str, zh: str, **values: Any) -> Evidence:
    """Both templates formatted with the same ``values`` (``str.format`` syntax)."""
    return Evidence(en.format(**values), zh.format(**values))


def finding(code: str, evidence: Evidence = Evidence(), *, severity: Severity | None = None,
            text: Evidence | None = None) -> Finding:
    """A Finding with the lexicon's texts for ``code`` (or ``text`` in both languages when the
    statement needs a qualifier, e.g. "Pause of 3.2 s"); severity defaults to the lexicon's.

    Raises KeyError for a code the lexicon does not have: every machine code must be there.
    """
    s = lexicon()[code]
    en, zh = (text.en, text.zh) if text is not None else (s.en, s.zh)
    return Finding(code, en, severity or s.severity, evidence.en, zh, evidence.zh)

