"""Criteria tables (JSON in ``ecg/data``) with their citations, looked up by age.

Tables are data, not code, so a deployment can choose another rate table
(``rate_table("adult")``, ``"aha_pals"``, or a path to its own JSON with the same
shape) without touching the interpretation logic. Each table carries its
citation and a ``verification`` note saying what could not be checked.

Ages are in days since birth; a band is ``min_days <= age_days < max_days``
(``max_days`` null = open ended). Unknown age (None) selects the adult band.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_RATE_TABLE = "cn_pediatrics"
ADULT_DAYS = 6574  # 18 years = floor(365.25 * 18)
INFANT_DAYS = 365  # under 1 year


def years_to_days(years: float) -> int:
    """Band edge convention: floor(365.25 * years) days."""
    return int(365.25 * years)


@lru_cache(maxsize=16)
def load_table(name: str) -> dict[str, Any]:
    """A criteria table by short name (file in ``ecg/data``) or by path to a JSON file."""
    candidates = [Path(name)] if name.endswith(".json") else [
        DATA_DIR / f"{name}.json", DATA_DIR / f"rate_criteria_{name}.json"]
    for path in candidates:
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise KeyError(f"unknown criteria table {name!r}; have {sorted(p.stem for p in DATA_DIR.glob('*.json'))}")


def band_for(bands: list[dict[str, Any]], age_days: int | None) -> dict[str, Any]:
    """The band containing ``age_days``; the last (adult) band when age is unknown."""
    if age_days is None:
        return bands[-1]
    if age_days < 0:
        raise ValueError(f"age_days must be >= 0, got {age_days}")
    for band in bands:
        hi = band.get("max_days")
        if band["min_days"] <= age_days and (hi is None or age_days < hi):
            return band
    return bands[-1]


@dataclass(frozen=True)
class RateLimits:
    """Sinus brady/tachycardia limits (bpm) for one age band of one table."""

    table: str
    band: str
    brady_below_bpm: float
    tachy_above_bpm: float

    def classify(self, hr_bpm: float) -> str:
        """"tachy", "brady" or "normal" (strict inequalities)."""
        if hr_bpm > self.tachy_above_bpm:
            return "tachy"
        if hr_bpm < self.brady_below_bpm:
            return "brady"
        return "normal"


def rate_limits(age_days: int | None, table: str = DEFAULT_RATE_TABLE) -> RateLimits:
    """Sinus rate limits for an age from a rate table (default: Chinese pediatrics)."""
    t = load_table(table)
    b = band_for(t["bands"], age_days)
    return RateLimits(t["name"], b["label"], float(b["brady_below_bpm"]), float(b["tachy_above_bpm"]))


def interval_band(kind: str, age_days: int | None) -> dict[str, Any]:
    """Band of ``interval_criteria.json`` section ``kind`` (pr_upper_ms, qrs_wide_ms,
    qrs_axis_deg, critical_rate_bpm) for the age."""
    return band_for(load_table("interval_criteria")[kind]["bands"], age_days)


def interval_section(kind: str) -> dict[str, Any]:
    """A whole section of ``interval_criteria.json`` (e.g. qtc_ms, pause_s, st_elevation_mv)."""
    return load_table("interval_criteria")[kind]


def percentiles(age_days: int | None) -> dict[str, Any] | None:
    """Rijnbeek 2001 2nd-98th percentiles for the age (evidence only), or None.

    The group's top-level keys are the envelope of the boys' and girls' limits;
    ``group["boys"]`` / ``group["girls"]`` hold the per-sex limits. None under
    11 days and from 16 years (outside the study). See the table's
    ``verification`` note: transcribed, not yet checked against the paper.
    """
    if age_days is None:
        return None
    t = load_table("pediatric_percentiles_rijnbeek2001")
    for g in t["groups"]:
        if g["min_days"] <= age_days < g["max_days"]:
            return g
    return None


def qtc_long_limit(age_days: int | None, sex: str | None) -> float:
    """Long-QTc limit (ms, Bazett): 460 children and women, 450 men and unknown-sex adults."""
    q = interval_section("qtc_ms")["long_above_ms"]
    if age_days is not None and age_days < ADULT_DAYS:
        return float(q["child"])
    if sex == "F":
        return float(q["female"])
    if sex == "M":
        return float(q["male"])
    return float(q["unknown_adult"])
