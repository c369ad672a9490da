"""The alliance dashboard: volumes, quality, turnaround against the SLA, reader workload, critical notices.

Aggregates only (no patient data), computed by ``StatsRepository`` in SQL.
Dates are the alliance's calendar days (China Standard Time); ``date_to`` is
inclusive. Times are returned in minutes (one decimal) and, where a value can be
under a minute (a read, a turnaround), also in seconds (``*_s``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.admin.schemas import (
    ClinicRowOut,
    DaySeries,
    NoticeSiteOut,
    NoticesOut,
    ReaderLoadOut,
    SiteQualityOut,
    SiteRef,
    StatsOut,
    TotalsOut,
    TurnaroundOut,
    VolumeOut,
)
from app.errors import InvalidRequest
from app.settings import Settings
from storage.models import Urgency, utcnow_aware
from storage.repositories import SiteRepository, StatsRepository
from storage.repositories.stats import StatsFilter

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_DAYS = 30
MAX_DAYS = 366


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 60.0, 1)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def date_range(date_from: dt.date | None, date_to: dt.date | None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The inclusive range asked for; by default the last 30 days up to today (China Standard Time)."""
    today = today or dt.datetime.now(LOCAL_TZ).date()
    date_to = date_to or (today if date_from is None else min(today, date_from + dt.timedelta(days=DEFAULT_DAYS - 1)))
    date_from = date_from or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise InvalidRequest("'from' is after 'to'")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise InvalidRequest(f"the range may span at most {MAX_DAYS} days")
    return date_from, date_to


def _utc_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(date_from, dt.time(0), tzinfo=LOCAL_TZ)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TZ)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def stats_filter(session: Session, date_from: dt.date | None, date_to: dt.date | None,
                 site_id: int | None) -> tuple[StatsFilter, dt.date, dt.date]:
    """The checked range (UTC bounds of the China Standard Time days) and clinic, with the days."""
    date_from, date_to = date_range(date_from, date_to)
    if site_id is not None and SiteRepository(session).get(site_id) is None:
        raise InvalidRequest("site_id does not exist")
    return StatsFilter(*_utc_bounds(date_from, date_to), site_id), date_from, date_to


def dashboard(session: Session, settings: Settings, date_from: dt.date | None, date_to: dt.date | None,
              site_id: int | None, now: dt.datetime | None = None) -> StatsOut:
    """Every figure of the dashboard for the range (China Standard Time days) and optional clinic.

    ``now`` decides which unsigned studies are already overdue (default: the current time)."""
    f, date_from, date_to = stats_filter(session, date_from, date_to, site_id)
    now = now or utcnow_aware()
    repo = StatsRepository(session)
    sites = SiteRepository(session).all()
    names = {s.id: s.name for s in sites}
    volume = _volume(repo, f, date_from, date_to, names)
    quality = _quality(repo, f, names)
    notices = _notices(repo, f, names)
    due = {int(r["g"]): r for r in repo.due_counts(f, now, by_site=True)}
    return StatsOut(
        date_from=date_from, date_to=date_to, site_id=site_id,
        sites=[SiteRef(id=s.id, name=s.name) for s in sites],
        volume=volume, quality=quality, turnaround=_turnaround(repo, f, settings, now),
        readers=_readers(repo, f), notices=notices,
        totals=_totals(repo, f, quality, due), clinics=_clinics(repo, f, due, volume, quality, notices),
    )


def _totals(repo: StatsRepository, f: StatsFilter, quality: list[SiteQualityOut],
            due: dict[int, dict[str, Any]]) -> TotalsOut:
    """The headline figures: rates over the whole range, read time over every signed claim.

    ``due`` is ``StatsRepository.due_counts`` per site."""
    analysed = sum(q.analysed for q in quality)
    unreadable = sum(q.unreadable for q in quality)
    returned = sum(q.returned for q in quality)
    signed, on_time, overdue = (sum(r[k] for r in due.values()) for k in ("signed", "on_time", "overdue"))
    read = repo.read_time(f)
    return TotalsOut(
        studies=sum(q.studies for q in quality), analysed=analysed, unreadable=unreadable, returned=returned,
        unreadable_rate=_rate(unreadable, analysed), returned_rate=_rate(returned, analysed),
        due=signed + overdue, on_time=on_time, overdue=overdue, on_time_rate=_rate(on_time, signed + overdue),
        read_n=int(read.get("n") or 0), read_p50_s=_seconds(read.get("p50")))


def _clinics(repo: StatsRepository, f: StatsFilter, due: dict[int, dict[str, Any]], volume: VolumeOut,
             quality: list[SiteQualityOut], notices: NoticesOut) -> list[ClinicRowOut]:
    """One row per clinic with studies in the range, in the quality order (worst unreadable rate first)."""
    tat = {int(r["g"]): r for r in repo.turnaround_per_site(f)}
    daily = {s.site_id: s.counts for s in volume.series}
    open_notices = {n.site_id: n.open for n in notices.per_site}
    rows = []
    for q in quality:
        d = due.get(q.site_id, {})
        signed, overdue, on_time = d.get("signed", 0), d.get("overdue", 0), d.get("on_time", 0)
        rows.append(ClinicRowOut(
            **q.model_dump(), daily=daily.get(q.site_id, [0] * len(volume.days)), due=signed + overdue,
            on_time=on_time, overdue=overdue, on_time_rate=_rate(on_time, signed + overdue),
            tat_p50_s=_seconds(tat.get(q.site_id, {}).get("p50")), open_notices=open_notices.get(q.site_id, 0)))
    return rows


def _volume(repo: StatsRepository, f: StatsFilter, date_from: dt.date, date_to: dt.date,
            names: dict[int, str]) -> VolumeOut:
    days = [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    index = {d.isoformat(): i for i, d in enumerate(days)}
    series: dict[int, list[int]] = {}
    for day, site, n in repo.studies_per_day(f):
        if day in index:
            series.setdefault(site, [0] * len(days))[index[day]] += n
    totals = [sum(c[i] for c in series.values()) for i in range(len(days))]
    return VolumeOut(
        days=days, per_day_total=totals, total=sum(totals),
        series=[DaySeries(site_id=s, site_name=names.get(s, str(s)), counts=c) for s, c in sorted(series.items())],
    )


def _quality(repo: StatsRepository, f: StatsFilter, names: dict[int, str]) -> list[SiteQualityOut]:
    out = []
    for row in repo.per_site(f):
        analysed = row["studies"] - row["not_analysed"]
        out.append(SiteQualityOut(
            site_id=row["site_id"], site_name=names.get(row["site_id"], str(row["site_id"])), studies=row["studies"],
            analysed=analysed, unreadable=row["unreadable"], returned=row["returned"],
            unreadable_rate=_rate(row["unreadable"], analysed), returned_rate=_rate(row["returned"], analysed)))
    return sorted(out, key=lambda q: (-(q.unreadable_rate or 0), q.site_name))


def sla_minutes(settings: Settings) -> dict[Urgency, int]:
    """The reporting time limit per priority, in minutes (what ``due_at`` was set from)."""
    return {Urgency.stat: settings.sla_stat_min, Urgency.urgent: settings.sla_urgent_min,
            Urgency.routine: settings.sla_routine_min}


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _turnaround(repo: StatsRepository, f: StatsFilter, settings: Settings, now: dt.datetime) -> list[TurnaroundOut]:
    """Per priority: time to the first signature and the on-time rate over every study that was due."""
    sla = sla_minutes(settings)
    times = {Urgency(r["g"]): r for r in repo.turnaround(f)}
    due = {Urgency(r["g"]): r for r in repo.due_counts(f, now, by_site=False)}
    out = []
    for priority in (Urgency.stat, Urgency.urgent, Urgency.routine):
        t, d = times.get(priority, {}), due.get(priority, {})
        signed, overdue, within = d.get("signed", 0), d.get("overdue", 0), d.get("on_time", 0)
        out.append(TurnaroundOut(
            priority=priority.value, sla_min=sla[priority], reported=signed, pending=d.get("pending", 0),
            overdue=overdue, due=signed + overdue,
            p50_min=_minutes(t.get("p50")), p90_min=_minutes(t.get("p90")), mean_min=_minutes(t.get("mean")),
            p50_s=_seconds(t.get("p50")), p90_s=_seconds(t.get("p90")),
            within_sla=within, within_sla_rate=_rate(within, signed + overdue)))
    return out


def _readers(repo: StatsRepository, f: StatsFilter) -> list[ReaderLoadOut]:
    claims = {r["reader_id"]: r for r in repo.reader_claims(f)}
    reports = {r["reader_id"]: r for r in repo.reader_reports(f)}
    read = {int(r["g"]): r for r in repo.reader_read_time(f)}
    ids = sorted(set(claims) | set(reports))
    names = repo.user_names(ids)
    out = []
    for rid in ids:
        c, r = claims.get(rid, {}), reports.get(rid, {})
        out.append(ReaderLoadOut(
            reader_id=rid, name=names.get(rid, str(rid)), claims=c.get("claims", 0), signed=c.get("signed", 0),
            released=c.get("released", 0), expired=c.get("expired", 0), returned=c.get("returned", 0),
            reports=r.get("reports", 0), amendments=r.get("amendments", 0),
            read_p50_min=_minutes(read.get(rid, {}).get("p50")), read_p50_s=_seconds(read.get(rid, {}).get("p50"))))
    return sorted(out, key=lambda x: (-x.reports, -x.claims, x.name))


def _notices(repo: StatsRepository, f: StatsFilter, names: dict[int, str]) -> NoticesOut:
    per_site = repo.notices_per_site(f)
    ack = {int(r["g"]): r for r in repo.time_to_acknowledge(f, by_site=True)}
    overall = (repo.time_to_acknowledge(f, by_site=False) or [{}])[0]
    sites = [NoticeSiteOut(
        site_id=r["site_id"], site_name=names.get(r["site_id"], str(r["site_id"])), raised=r["raised"],
        acknowledged=r["acknowledged"], open=r["raised"] - r["acknowledged"],
        ack_p50_min=_minutes(ack.get(r["site_id"], {}).get("p50")),
        ack_p90_min=_minutes(ack.get(r["site_id"], {}).get("p90"))) for r in per_site]
    raised = sum(s.raised for s in sites)
    acknowledged = sum(s.acknowledged for s in sites)
    return NoticesOut(raised=raised, acknowledged=acknowledged, open=raised - acknowledged,
                      ack_p50_min=_minutes(overall.get("p50")), ack_p90_min=_minutes(overall.get("p90")),
                      oldest_open_at=repo.oldest_open_notice(f), per_site=sites)
