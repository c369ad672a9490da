"""CSV exports of the dashboard: the per-clinic table and the study list of a date range.

The files are UTF-8 with a byte-order mark so that Excel as used in China opens
them as UTF-8 (without it, Excel guesses GBK and the Chinese is garbled).
Column headers follow the page language (zh-CN first). Cells that a
spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) are
prefixed with an apostrophe (CSV injection, OWASP). The study list carries no
patient data: a study is named by its id.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.admin.schemas import StatsOut
from app.errors import InvalidRequest
from app.i18n import strings
from storage.repositories import StatsRepository
from storage.repositories.stats import StatsFilter

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
BOM = "\ufeff"
#: The most study rows one export carries (a year of a large alliance); more is refused, not cut.
MAX_STUDY_ROWS = 200_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """One cell as text; numbers as they are, text that could be a formula defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The CSV file: BOM, a header row, then the rows (CRLF line ends, as RFC 4180 and Excel expect)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _pct(rate: float | None) -> str:
    """A rate as a percentage with one decimal (``66.7``), empty when there is nothing to divide."""
    return "" if rate is None else f"{rate * 100:.1f}"


def _min(seconds: float | None) -> str:
    """Seconds as minutes with one decimal, empty when unknown."""
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _local(at: dt.datetime | None) -> str:
    """A UTC time as China Standard Time, ``YYYY-MM-DD HH:MM:SS`` (what a spreadsheet parses)."""
    return "" if at is None else at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def clinics_csv(stats: StatsOut, lang: str) -> bytes:
    """The per-clinic table as shown on the dashboard, then one column per day of the range."""
    s = strings(lang)
    header = [s["admin_site"], s["admin_studies"], s["admin_analysed"], s["admin_unreadable"],
              s["admin_unreadable_rate_pct"], s["admin_returned"], s["admin_returned_rate_pct"], s["admin_due"],
              s["admin_on_time"], s["admin_overdue"], s["admin_on_time_rate_pct"], s["admin_tat_p50_min"],
              s["admin_open_notices"], *(d.isoformat() for d in stats.volume.days)]
    rows = ([c.site_name, c.studies, c.analysed, c.unreadable, _pct(c.unreadable_rate), c.returned,
             _pct(c.returned_rate), c.due, c.on_time, c.overdue, _pct(c.on_time_rate), _min(c.tat_p50_s),
             c.open_notices, *c.daily] for c in stats.clinics)
    return csv_bytes(header, rows)


def _on_time(row: dict[str, Any], now: dt.datetime, s: dict[str, str]) -> str:
    """Whether the study's first report was signed by its due time, or it is still unsigned past it."""
    due, signed = row["due_at"], row["signed_at"]
    if due is None:
        return ""
    if signed is not None:
        return s["admin_yes"] if signed <= due else s["admin_no"]
    return s["admin_overdue_unsigned"] if due < now and row["status"] in ("awaiting_read", "in_read") else ""


def studies_csv(session: Session, f: StatsFilter, lang: str, now: dt.datetime) -> bytes:
    """Every study received in the range: clinic, priority, status, times, signer, read time."""
    s = strings(lang)
    rows = StatsRepository(session).study_rows(f, MAX_STUDY_ROWS + 1)
    if len(rows) > MAX_STUDY_ROWS:
        raise InvalidRequest(f"more than {MAX_STUDY_ROWS} studies in the range; export a shorter range")
    header = [s["admin_study_id"], s["admin_site"], s["admin_priority"], s["admin_status"], s["admin_received"],
              s["admin_due_at"], s["admin_first_signed"], s["admin_tat_min"], s["admin_on_time"],
              s["admin_signer"], s["admin_read_s"]]

    def line(r: dict[str, Any]) -> list[Any]:
        status = str(getattr(r["status"], "value", r["status"]))
        priority = str(getattr(r["priority"], "value", r["priority"]))
        tat = (r["signed_at"] - r["received_at"]).total_seconds() if r["signed_at"] else None
        read = None if r["read_s"] is None else round(float(r["read_s"]), 1)
        return [str(r["study_id"]), r["site_name"], s[f"admin_priority_{priority}"], s[f"clinic_status_{status}"],
                _local(r["received_at"]), _local(r["due_at"]), _local(r["signed_at"]), _min(tat),
                _on_time({**r, "status": status}, now, s), r["signer"], read]

    return csv_bytes(header, (line(r) for r in rows))
