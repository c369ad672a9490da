"""FHIR search parameter parsing: token (``[system|]value``), date prefixes (eq, ge, gt, le, lt) and references."""

from __future__ import annotations

import datetime as dt
import re

from app.studies.service import InvalidQuery

_DATE = re.compile(r"^(eq|ne|ge|gt|le|lt|sa|eb|ap)?(\d{4}(?:-\d{2}(?:-\d{2})?)?)(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")


def token_value(value: str | None) -> str | None:
    """The value part of a token search (the system, if given, is not used: ids are per site)."""
    if value is None:
        return None
    return value.split("|", 1)[1] if "|" in value else value


def reference_id(value: str | None, resource_type: str) -> int | None:
    """``Patient/12`` or ``12`` as 12."""
    if value is None:
        return None
    raw = value.removeprefix(f"{resource_type}/")
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise InvalidQuery(f"{resource_type} reference {value!r} is not an id of ours")
    return int(raw)


def _span(text: str, time: str | None, offset: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    """The instant range a FHIR date/dateTime value covers; dates are read in the service's local time."""
    if time:
        iso = text + time.replace("Z", "+00:00")
        try:
            at = dt.datetime.fromisoformat(iso)
        except ValueError as exc:
            raise InvalidQuery(f"not a FHIR dateTime: {text}{time}") from exc
        at = at if at.tzinfo else at.replace(tzinfo=dt.timezone(offset))
        return at, at + dt.timedelta(seconds=1)
    parts = [int(p) for p in text.split("-")]
    tz = dt.timezone(offset)
    try:
        if len(parts) == 1:
            return dt.datetime(parts[0], 1, 1, tzinfo=tz), dt.datetime(parts[0] + 1, 1, 1, tzinfo=tz)
        if len(parts) == 2:
            start = dt.datetime(parts[0], parts[1], 1, tzinfo=tz)
            return start, (start + dt.timedelta(days=32)).replace(day=1)
        start = dt.datetime(parts[0], parts[1], parts[2], tzinfo=tz)
    except ValueError as exc:
        raise InvalidQuery(f"not a FHIR date: {text}") from exc
    return start, start + dt.timedelta(days=1)


def date_range(values: list[str], local_offset_min: int) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[from, to) instants for ``date=ge2026-11-01&date=lt2026-12-01`` and the like (ANDed)."""
    lo: dt.datetime | None = None
    hi: dt.datetime | None = None
    offset = dt.timedelta(minutes=local_offset_min)
    for value in values:
        m = _DATE.match(value)
        if m is None or (m.group(1) or "eq") not in ("eq", "ge", "gt", "le", "lt"):
            raise InvalidQuery(f"date search {value!r}: use eq, ge, gt, le or lt and a FHIR date")
        start, end = _span(m.group(2), m.group(3), offset)
        prefix = m.group(1) or "eq"
        new_lo = {"eq": start, "ge": start, "gt": end}.get(prefix)
        new_hi = {"eq": end, "le": end, "lt": start}.get(prefix)
        lo = max(lo, new_lo) if lo and new_lo else (lo or new_lo)
        hi = min(hi, new_hi) if hi and new_hi else (hi or new_hi)
    return lo, hi
