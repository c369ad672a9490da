"""Which acquisition time a study gets, and the clock checks it must pass first.

The acquisition time sets the patient's age, and the age sets the interpretation
limits (newborn vs child vs adult) and the reader pool. A device whose clock was
never set stamps its files years in the past: before this check a 7-year-old's
record dated before her birth was analysed as "0 days old" (newborn limits, false
critical values), and nobody was told. Now a time that is

* more than ``FUTURE_TOLERANCE`` ahead of the server clock (``acquired_at_future``),
* before the patient's birth date (``acquired_before_birth``),
* older than ``upload_max_acquisition_age_days`` (``acquired_long_ago``)

is refused (422 naming the check; nothing stored) unless the clinic corrects
``acquired_at`` or confirms with ``confirm_acquired_at=true``. A confirmed future
or before-birth time cannot be true, so the server's receipt time is used instead;
a confirmed old time is kept (a late upload of an old record). The study records
which time it got (``acquired_at_source``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from app.errors import SuspectAcquisitionTime
from app.uploads.schemas import LOCAL_TZ, UploadMetadata

Source = Literal["device", "form", "server_receipt"]

#: How far ahead of the server a clinic's clock may run before the time counts as "future" (NTP-less PCs).
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
#: The file's header and the form may differ by this much (a technician types the minute) before it is said.
MISMATCH_TOLERANCE = dt.timedelta(minutes=10)
#: Checks that no confirmation can make true: the server's receipt time replaces the stated time.
IMPOSSIBLE = frozenset({"acquired_at_future", "acquired_before_birth"})


@dataclass(frozen=True)
class Acquisition:
    """The acquisition time a study gets (UTC), where it came from, and what was confirmed or noticed."""

    at: dt.datetime
    source: Source
    confirmed: tuple[str, ...]  # the failed checks the clinic confirmed
    mismatch_min: float | None  # header vs form difference (min) when beyond MISMATCH_TOLERANCE


def failed_checks(at: dt.datetime, birth_date: dt.date | None, now: dt.datetime, max_age_days: float) -> list[str]:
    """The clock checks ``at`` fails, in order of severity (codes as in the 422's ``checks``)."""
    failed = []
    if at > now + FUTURE_TOLERANCE:
        failed.append("acquired_at_future")
    if birth_date is not None and at.astimezone(LOCAL_TZ).date() < birth_date:
        failed.append("acquired_before_birth")
    if now - at > dt.timedelta(days=max_age_days):
        failed.append("acquired_long_ago")
    return failed


def _stated(meta: UploadMetadata, device_time: dt.datetime | None, now: dt.datetime) -> tuple[dt.datetime, Source]:
    """The form's time when typed (the person at the patient), else the file's header, else receipt."""
    if meta.acquired_at is not None:
        return meta.acquired_at, "form"
    if device_time is not None:
        return device_time.astimezone(dt.UTC), "device"
    return now, "server_receipt"


def _mismatch_min(meta: UploadMetadata, device_time: dt.datetime | None) -> float | None:
    """Minutes between the header and the form when both are given and they disagree, else None."""
    if meta.acquired_at is None or device_time is None:
        return None
    gap = abs(meta.acquired_at - device_time)
    return round(gap.total_seconds() / 60.0, 1) if gap > MISMATCH_TOLERANCE else None


def resolve(meta: UploadMetadata, device_time: dt.datetime | None, now: dt.datetime,
            max_age_days: float, *, receipt_time_if_suspect: bool = False) -> Acquisition:
    """The trusted acquisition time, or SuspectAcquisitionTime (422) when a check fails unconfirmed.

    ``receipt_time_if_suspect`` (a sender nobody can ask, e.g. a DICOM cart): a failed check gives
    the time of receipt (``server_receipt``) instead of a refusal."""
    stated, source = _stated(meta, device_time, now)
    mismatch = _mismatch_min(meta, device_time)
    failed = failed_checks(stated, meta.patient_birth_date, now, max_age_days)
    if failed and receipt_time_if_suspect:
        return Acquisition(now, "server_receipt", tuple(failed), mismatch)
    if failed and not meta.confirm_acquired_at:
        raise _refusal(failed, stated, source, device_time, mismatch, meta, now, max_age_days)
    if IMPOSSIBLE & set(failed):
        return Acquisition(now, "server_receipt", tuple(failed), mismatch)
    return Acquisition(stated, source, tuple(failed), mismatch)


_SENTENCES = {
    "acquired_at_future": "is in the future (more than 10 min ahead of the server clock)",
    "acquired_before_birth": "is before the patient's birth date",
    "acquired_long_ago": "is more than {days:g} days ago",
}


def _refusal(failed: list[str], stated: dt.datetime, source: Source, device_time: dt.datetime | None,
             mismatch: float | None, meta: UploadMetadata, now: dt.datetime, max_age_days: float
             ) -> SuspectAcquisitionTime:
    """The 422 naming each failed check, the times involved, and how to go on."""
    whose = "the file's header time" if source == "device" else "the form's acquired_at"
    said = " and ".join(_SENTENCES[c].format(days=max_age_days) for c in failed)
    detail = (f"{whose} {stated.astimezone(LOCAL_TZ).isoformat()} {said}; nothing was stored. Check the device "
              f"clock, then send the correct acquired_at, or confirm_acquired_at=true to go on")
    if mismatch is not None:
        detail += f" (the file's header time differs from the form's acquired_at by {mismatch:g} min)"
    return SuspectAcquisitionTime(
        detail, code=failed[0], checks=failed, acquired_at=stated.isoformat(), acquired_at_source=source,
        device_time=device_time.astimezone(dt.UTC).isoformat() if device_time else None,
        form_time=meta.acquired_at.isoformat() if meta.acquired_at else None, server_time=now.isoformat(),
        birth_date=meta.patient_birth_date.isoformat() if meta.patient_birth_date else None,
        mismatch_min=mismatch, max_age_days=max_age_days, confirm_field="confirm_acquired_at")
