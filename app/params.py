"""Bounded parameter types shared by the routes (422 problem+json instead of a database overflow).

Row ids are PostgreSQL ``integer`` (int4) columns: a larger path value used to
reach the database and come back as a 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

INT4_MAX = 2**31 - 1

RowId = Annotated[int, Path(ge=1, le=INT4_MAX, description="row id (1 to 2^31-1)")]

#: Dates a record can carry: the day arithmetic behind a range (a day before, a day after,
#: a time zone) must stay inside Python's calendar (year 1 overflowed to a 500).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def _in_calendar(d: dt.date | None) -> dt.date | None:
    if d is not None and not FIRST_DAY <= d <= LAST_DAY:
        raise ValueError(f"date must be between {FIRST_DAY} and {LAST_DAY}")
    return d


RecordDate = Annotated[dt.date | None, AfterValidator(_in_calendar)]
