"""Bounded parameter types shared by the routes (422 problem+json instead of a database overflow).

Row ids are PostgreSQL ``integer`` (int4) columns: a larger path value used to
reach the database and come back as a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

INT4_MAX = 2**31 - 1

RowId = Annotated[int, Path(ge=1, le=INT4_MAX, description="row id (1 to 2^31-1)")]
