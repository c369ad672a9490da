"""Patient age and sex found in file headers (WFDB comments, EDF+ patient field).

These are offered to the upload form, never trusted over it. Ages given in
years are converted to days as ``round(years * 365.25)``.
"""

from __future__ import annotations

import datetime as dt
import re

from ecg.types import Demographics, Sex

_DAYS_PER_YEAR = 365.25
_MAX_AGE_YEARS = 130

# "<age>: 51", "age: 81", "Age = 3"   (LUDB, PTB, wfdb samples)
_AGE = re.compile(r"<?\bage>?\s*[:=]\s*(\d{1,3}(?:\.\d+)?)", re.IGNORECASE)
_SEX = re.compile(r"<?\b(?:sex|gender)>?\s*[:=]\s*(male|female|m|f)\b", re.IGNORECASE)
# MIT-BIH: "69 M 1085 1629 x1" (age, sex, then recorder details)
_MITDB = re.compile(r"^\s*(\d{1,3}|\?)\s+([MF?])(?:\s|$)")


def sex_code(code: str | None) -> Sex | None:
    """``code`` as the Demographics sex when it is exactly ``M`` or ``F``, else None."""
    return "M" if code == "M" else "F" if code == "F" else None


def _sex(token: str) -> Sex | None:
    """``M``/``F`` from the usual spellings, else None."""
    t = token.strip().upper()
    if t in ("M", "MALE"):
        return "M"
    if t in ("F", "FEMALE"):
        return "F"
    return None


def _age_days(years: str) -> int | None:
    """Age in days from years (text); None when absent or implausible."""
    try:
        value = float(years)
    except ValueError:
        return None
    if not 0 <= value <= _MAX_AGE_YEARS:
        return None
    return round(value * _DAYS_PER_YEAR)


def from_wfdb_comments(comments: list[str]) -> Demographics:
    """Age/sex from WFDB header comments in the LUDB, PTB or MIT-BIH conventions."""
    age: int | None = None
    sex: Sex | None = None
    for line in comments:
        if age is None and (m := _AGE.search(line)):
            age = _age_days(m.group(1))
        if sex is None and (m := _SEX.search(line)):
            sex = _sex(m.group(1))
        if (age is None or sex is None) and (m := _MITDB.match(line)):
            age = age if age is not None else _age_days(m.group(1))
            sex = sex if sex is not None else _sex(m.group(2))
    return Demographics(age_days=age, sex=sex)


_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}


def _edf_date(token: str) -> dt.date | None:
    """EDF+ dates look like ``02-MAY-1951``."""
    m = re.fullmatch(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})", token)
    if not m or m.group(2).upper() not in _MONTHS:
        return None
    try:
        return dt.date(int(m.group(3)), _MONTHS[m.group(2).upper()], int(m.group(1)))
    except ValueError:
        return None


def from_edf_patient(field: str, start: dt.datetime | None) -> Demographics:
    """EDF+ local patient field: ``code sex birthdate name ...`` (``X`` = unknown)."""
    parts = field.split()
    if len(parts) < 3:
        return Demographics()
    patient_id = parts[0] if parts[0] not in ("X", "") else None
    birth = _edf_date(parts[2])
    age = None
    if birth is not None and start is not None:
        days = (start.date() - birth).days
        age = days if 0 <= days <= _MAX_AGE_YEARS * _DAYS_PER_YEAR else None
    return Demographics(patient_id=patient_id, age_days=age, sex=_sex(parts[1]), birth_date=birth)

