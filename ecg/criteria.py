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
            table: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return table
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
    """Sinus brady/tachycardia limits (bpm) for one age band of one table; ``band_zh`` and
    ``table_zh`` are the band and table named in Chinese (``band_label_zh``, ``TABLE_NAMES_ZH``)."""

    table: str
    band: str
    brady_below_bpm: float
    tachy_above_bpm: float
    band_zh: str = ""
    table_zh: str = ""

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
    return RateLimits(t["name"], b["label"], float(b["brady_below_bpm"]), float(b["tachy_above_bpm"]),
                      band_label_zh(b), TABLE_NAMES_ZH.get(t["name"], t["name"]))


TABLE_NAMES_ZH = {"cn_pediatrics": "中国儿科标准", "adult": "成人标准", "aha_pals": "AHA PALS 标准"}


def _age_zh(days: int) -> str:
    """A band edge in days as Chinese text: whole years (floor(365.25 Y)), else months, else days."""
    years = round(days / 365.25)
    if years >= 1 and abs(days - years_to_days(years)) <= 1:
        return f"{years}岁"
    months = round(days / 30.44)
    if months >= 1 and abs(days - months * 30.44) <= 2:
        return f"{months}个月"
    return f"{days}天"


def band_label_zh(band: dict[str, Any]) -> str:
    """An age band named in Chinese from its own limits (``label_zh`` when the table gives one):
    "未满1岁", "1岁至未满7岁", "18岁及以上". The English ``label`` stays for English evidence."""
    if band.get("label_zh"):
        return str(band["label_zh"])
    lo, hi = int(band.get("min_days", 0)), band.get("max_days")
    if hi is None:
        return "各年龄" if lo == 0 else f"{_age_zh(lo)}及以上"
    return f"未满{_age_zh(int(hi))}" if lo == 0 else f"{_age_zh(lo)}至未满{_age_zh(int(hi))}"


def interval_band(kind: str, age_days: int | None) -> dict[str, Any]:
    """Band of ``interval_criteria.json`` section ``kind`` (pr_upper_ms, qrs_wide_ms,
    qrs_axis_deg, critical_rate_bpm) for the age."""
    return band_for(load_table("interval_criteria")[kind]["bands"], age_days)


def interval_section(kind: str) -> dict[str, Any]:
    """A whole section of ``interval_criteria.json`` (e.g. qtc_ms, pause_s, st_elevation_mv)."""
    section: dict[str, Any] = load_table("interval_criteria")[kind]
    return section


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
    g: dict[str, Any]
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
