"""The statement lexicon readers sign with: the library's lexicon (codes shared with the machine findings)."""

from __future__ import annotations

from ecg.lexicon import Statement, lexicon

__all__ = ["Statement", "lexicon"]
