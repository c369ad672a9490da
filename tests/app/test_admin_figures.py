"""The admin's figures against a hand count (SQLite and PostgreSQL): on-time over every due study,
unreadable and returned rates, read time, the per-clinic table, the CSV exports, the live queue and
the admin's requeue; hostile input.

The scenario (received 10-11 Nov 2026, China Standard Time; every due time is long past except a4's):

=====  ========  ==========================  =======================================
study  priority  state                       counts as
=====  ========  ==========================  =======================================
a1     stat      signed after 5 min, read 20 s   due, on time
a2     stat      signed after 15 min, read 90 s  due, late
a3     routine   queued, past due                due, overdue (unsigned)
a4     routine   in read, due in 2099            pending, not due yet
a5     routine   unreadable (quality gate)       unreadable
a6     routine   returned by the reader          returned
b1     urgent    signed after 10 min, read 45 s  due, on time
b2     urgent    queued, past due                due, overdue (unsigned)
b3     routine   returned by the reader          returned
b4     routine   analysis failed                 not analysed
=====  ========  ==========================  =======================================

By hand: 10 studies, 9 analysed; unreadable 1/9, returned 2/9; due 3 signed + 2 overdue = 5,
on time 2 -> 40 % (counting only signed studies would say 2/3); read times 20, 45, 90 s -> median
45 s. Clinic A: 6 studies, 6 analysed, unreadable 1/6, returned 1/6, due 3, on time 1 (33.3 %),
median turnaround 5 min. Clinic B: 4 studies, 3 analysed, returned 1/3, due 2, on time 1 (50 %),
median turnaround 10 min.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest

from storage.models import (
    PRIORITY_RANK,
    AuditEvent,
    Claim,
    ClaimOutcome,
    Patient,
    ReaderPool,
    Report,
    Sex,
    Study,
    StudyStatus,
    Urgency,
)

UTC = dt.UTC
DAY = dt.datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 on 10 Nov in China
SLA_MIN = {Urgency.stat: 10, Urgency.urgent: 30, Urgency.routine: 240}
RANGE = {"from": "2026-11-10", "to": "2026-11-11"}
FAR = dt.datetime(2099, 1, 1, tzinfo=UTC)


class Scenario:
    """Adds studies with exactly the claims and reports the table above describes."""

    def __init__(self, session, reader_id: int) -> None:
        self.s, self.reader, self.n, self.patients = session, reader_id, 0, {}
        self.ids: dict[str, uuid.UUID] = {}

    def _patient(self, site: int) -> int:
        if site not in self.patients:
            p = Patient(site_id=site, external_id=f"H{site}", name="Hand Count", sex=Sex.male)
            self.s.add(p)
            self.s.flush()
            self.patients[site] = p.id
        return self.patients[site]

    def study(self, name: str, site: int, priority: Urgency, status: StudyStatus, received: dt.datetime,
              due_at: dt.datetime | None = None) -> Study:
        self.n += 1
        st = Study(id=uuid.uuid4(), site_id=site, patient_id=self._patient(site), acquired_at=received,
                   received_at=received, clinic_urgency=priority, status=status, priority=priority,
                   priority_rank=PRIORITY_RANK[priority], pool=ReaderPool.adult,
                   due_at=due_at or received + dt.timedelta(minutes=SLA_MIN[priority]),
                   idempotency_key=f"hand{self.n}", request_hash="0" * 64, uploaded_by="test")
        self.s.add(st)
        self.s.flush()
        self.ids[name] = st.id
        return st

    def signed(self, st: Study, after_min: float, read_s: float) -> None:
        """First report ``after_min`` after receipt, by a claim held ``read_s`` seconds."""
        signed = st.received_at + dt.timedelta(minutes=after_min)
        claimed = signed - dt.timedelta(seconds=read_s)
        self.s.add(Claim(study_id=st.id, reader_id=self.reader, claimed_at=claimed, lease_until=signed,
                         ended_at=signed, outcome=ClaimOutcome.signed))
        self.s.add(Report(study_id=st.id, version=1, author_id=self.reader, statements=[], measurements={},
                          signed_at=signed))

    def returned(self, st: Study) -> None:
        at = st.received_at + dt.timedelta(minutes=3)
        self.s.add(Claim(study_id=st.id, reader_id=self.reader, claimed_at=at - dt.timedelta(minutes=1),
                         lease_until=at, ended_at=at, outcome=ClaimOutcome.returned))

    def held(self, st: Study) -> None:
        """An open claim (the study is in read)."""
        at = st.received_at + dt.timedelta(minutes=1)
        self.s.add(Claim(study_id=st.id, reader_id=self.reader, claimed_at=at, lease_until=FAR,
                         open_study_id=st.id))


def seed_hand_count(world, ctx) -> dict[str, uuid.UUID]:
    """The scenario of this module's docstring; returns the studies' ids by name."""
    a, b = world.a.site_id, world.b.site_id
    with ctx.session_factory() as s:
        sc = Scenario(s, world.extra["users"]["reader"])
        t = DAY
        sc.signed(sc.study("a1", a, Urgency.stat, StudyStatus.reported, t), 5, 20)
        sc.signed(sc.study("a2", a, Urgency.stat, StudyStatus.reported, t + dt.timedelta(minutes=1)), 15, 90)
        sc.study("a3", a, Urgency.routine, StudyStatus.awaiting_read, t + dt.timedelta(minutes=2))
        sc.held(sc.study("a4", a, Urgency.routine, StudyStatus.in_read, t + dt.timedelta(minutes=3), due_at=FAR))
        sc.study("a5", a, Urgency.routine, StudyStatus.unreadable, t + dt.timedelta(minutes=4))
        sc.returned(sc.study("a6", a, Urgency.routine, StudyStatus.returned, t + dt.timedelta(minutes=5)))
        t = DAY + dt.timedelta(days=1)
        sc.signed(sc.study("b1", b, Urgency.urgent, StudyStatus.reported, t), 10, 45)
        sc.study("b2", b, Urgency.urgent, StudyStatus.awaiting_read, t + dt.timedelta(minutes=1))
        sc.returned(sc.study("b3", b, Urgency.routine, StudyStatus.returned, t + dt.timedelta(minutes=2)))
        sc.study("b4", b, Urgency.routine, StudyStatus.analysis_failed, t + dt.timedelta(minutes=3))
        s.commit()
        return sc.ids


@pytest.fixture
def hand(world):
    world.extra["ids"] = seed_hand_count(world, world.client.app.state.ctx)
    return world


def _get(world, path: str, **params):
    resp = world.client.get(path, headers=world.admin, params={**RANGE, **params})
    assert resp.status_code == 200, resp.text
    return resp


def test_dashboard_figures_match_the_hand_count(hand):
    st = _get(hand, "/api/v1/admin/stats").json()
    tot = st["totals"]
    assert (tot["studies"], tot["analysed"], tot["unreadable"], tot["returned"]) == (10, 9, 1, 2)
    assert tot["unreadable_rate"] == pytest.approx(1 / 9, abs=1e-4)
    assert tot["returned_rate"] == pytest.approx(2 / 9, abs=1e-4)
    assert (tot["due"], tot["on_time"], tot["overdue"], tot["on_time_rate"]) == (5, 2, 2, 0.4)
    assert (tot["read_n"], tot["read_p50_s"]) == (3, 45.0)

    tat = {x["priority"]: x for x in st["turnaround"]}
    assert [(tat[p]["reported"], tat[p]["within_sla"], tat[p]["overdue"], tat[p]["due"], tat[p]["pending"])
            for p in ("stat", "urgent", "routine")] == [(2, 1, 0, 2, 0), (1, 1, 1, 2, 1), (0, 0, 1, 1, 2)]
    assert [tat[p]["within_sla_rate"] for p in ("stat", "urgent", "routine")] == [0.5, 0.5, 0.0]
    assert (tat["stat"]["p50_s"], tat["stat"]["p90_s"]) == (300.0, 900.0)

    reader = {r["name"]: r for r in st["readers"]}["reader"]
    assert (reader["read_p50_s"], reader["read_p50_min"]) == (45.0, 0.8)

    a, b = hand.a.site_id, hand.b.site_id
    rows = {c["site_id"]: c for c in st["clinics"]}
    assert [c["site_id"] for c in st["clinics"]] == [a, b]  # worst unreadable rate first
    ra, rb = rows[a], rows[b]
    assert (ra["studies"], ra["analysed"], ra["unreadable"], ra["returned"]) == (6, 6, 1, 1)
    assert (ra["unreadable_rate"], ra["returned_rate"]) == (pytest.approx(1 / 6, abs=1e-4),) * 2
    assert (ra["due"], ra["on_time"], ra["overdue"], ra["tat_p50_s"]) == (3, 1, 1, 300.0)
    assert ra["on_time_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (rb["studies"], rb["analysed"], rb["unreadable_rate"]) == (4, 3, 0.0)
    assert rb["returned_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (rb["due"], rb["on_time"], rb["overdue"], rb["on_time_rate"], rb["tat_p50_s"]) == (2, 1, 1, 0.5, 600.0)
    assert (ra["daily"], rb["daily"]) == ([6, 0], [0, 4])

    only_b = _get(hand, "/api/v1/admin/stats", site_id=b).json()["totals"]
    assert (only_b["studies"], only_b["due"], only_b["on_time"], only_b["read_p50_s"]) == (4, 2, 1, 45.0)


def _csv_rows(resp) -> list[list[str]]:
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_clinic_table_csv(hand):
    resp = _get(hand, "/api/v1/admin/stats/clinics.csv")
    cd = resp.headers["content-disposition"]
    assert cd.startswith("attachment;") and "filename*=UTF-8''%E5%90%84%E5%8D%95%E4%BD%8D" in cd  # 各单位
    assert "2026-11-10_2026-11-11.csv" in cd
    rows = _csv_rows(resp)
    assert rows[0][:4] == ["单位", "检查数", "已分析", "质量不合格"] and rows[0][-2:] == ["2026-11-10", "2026-11-11"]
    assert rows[1] == ["Clinic A", "6", "6", "1", "16.7", "1", "16.7", "3", "1", "1", "33.3", "5.0", "0", "6", "0"]
    assert rows[2] == ["Clinic B", "4", "3", "0", "0.0", "1", "33.3", "2", "1", "1", "50.0", "10.0", "0", "0", "4"]
    assert len(rows) == 3
    en = _csv_rows(_get(hand, "/api/v1/admin/stats/clinics.csv", lang="en"))
    assert en[0][:2] == ["Site", "Studies"]


def test_study_list_csv(hand):
    ids = hand.extra["ids"]
    rows = _csv_rows(_get(hand, "/api/v1/admin/stats/studies.csv"))
    header, body = rows[0], rows[1:]
    assert header == ["检查编号", "单位", "优先级", "状态", "接收时间", "应出报告时间", "首次签发时间",
                      "出报告用时（分钟）", "按时签发", "签发医师", "阅图用时（秒）"]
    by_id = {r[0]: r for r in body}
    assert len(body) == 10 and set(by_id) == {str(i) for i in ids.values()}
    assert by_id[str(ids["a1"])] == [str(ids["a1"]), "Clinic A", "危急", "已出报告", "2026-11-10 10:00:00",
                                     "2026-11-10 10:10:00", "2026-11-10 10:05:00", "5.0", "是", "reader", "20.0"]
    assert by_id[str(ids["a2"])][7:] == ["15.0", "否", "reader", "90.0"]
    assert by_id[str(ids["a3"])][3:] == ["等待阅图", "2026-11-10 10:02:00", "2026-11-10 14:02:00", "", "", "逾期未签",
                                         "", ""]
    assert by_id[str(ids["a4"])][8] == ""  # in read, not due yet
    assert by_id[str(ids["b4"])][3] == "自动分析失败"
    assert "Hand Count" not in rows.__repr__()  # no patient data
    assert [r[0] for r in body][:2] == [str(ids["a1"]), str(ids["a2"])]  # oldest first


def test_csv_defuses_formulas_in_clinic_names(hand):
    ctx = hand.client.app.state.ctx
    with ctx.session_factory() as s:
        from storage.models import Site

        s.get(Site, hand.a.site_id).name = "=HYPERLINK(\"http://x\")"
        s.commit()
    rows = _csv_rows(_get(hand, "/api/v1/admin/stats/clinics.csv"))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")"


@pytest.mark.parametrize("path", ["/api/v1/admin/stats/clinics.csv", "/api/v1/admin/stats/studies.csv"])
def test_exports_refuse_bad_ranges_and_non_admins(world, path):
    c = world.client
    for params, status in (({"from": "2026-11-20", "to": "2026-11-01"}, 422),
                           ({"from": "2020-01-01", "to": "2026-01-01"}, 422),
                           ({"from": "2026-13-01"}, 422), ({"from": "0001-01-01"}, 422),
                           ({"site_id": 99999}, 422), ({"site_id": 0}, 422), ({"site_id": "x"}, 422)):
        resp = c.get(path, headers=world.admin, params=params)
        assert resp.status_code == status, (params, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    for headers in (world.a.auth, world.a.key, world.reader):
        assert c.get(path, headers=headers).status_code == 403
    assert c.get(path).status_code == 401


def test_live_queue_lists_waiting_studies_with_due_times(hand):
    ids = hand.extra["ids"]
    q = hand.client.get("/api/v1/admin/queue", headers=hand.admin).json()
    assert [x["study_id"] for x in q["studies"]] == [str(ids["b2"]), str(ids["a3"]), str(ids["a4"])]
    b2, a3, a4 = q["studies"]
    assert b2["priority"] == "urgent" and b2["overdue_s"] > 0 and b2["claim_id"] is None
    assert a3["overdue_s"] == pytest.approx(a3["waiting_s"] - 240 * 60, abs=2)
    assert a4["overdue_s"] is None and a4["reader_name"] == "reader" and a4["claim_age_s"] > 0
    depth = {d["priority"]: d for d in q["depth"]}
    assert [(depth[p]["waiting"], depth[p]["overdue"]) for p in ("stat", "urgent", "routine")] == [
        (0, 0), (1, 1), (2, 1)]
    assert q["truncated"] is False
    one = hand.client.get("/api/v1/admin/queue", headers=hand.admin, params={"limit": 1}).json()
    assert one["truncated"] is True and len(one["studies"]) == 1 and one["depth"] == q["depth"]


def test_admin_requeues_an_open_claim(hand):
    c, ids = hand.client, hand.extra["ids"]
    claim_id = next(x["claim_id"] for x in c.get("/api/v1/admin/queue", headers=hand.admin).json()["studies"]
                    if x["study_id"] == str(ids["a4"]))
    for headers in (hand.reader, hand.a.auth):
        assert c.post(f"/api/v1/admin/claims/{claim_id}/requeue", headers=headers).status_code == 403
    resp = c.post(f"/api/v1/admin/claims/{claim_id}/requeue", headers=hand.admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["outcome"] == "revoked" and resp.json()["ended_at"]
    after = {x["study_id"]: x for x in c.get("/api/v1/admin/queue", headers=hand.admin).json()["studies"]}
    assert after[str(ids["a4"])]["status"] == "awaiting_read" and after[str(ids["a4"])]["claim_id"] is None
    again = c.post(f"/api/v1/admin/claims/{claim_id}/requeue", headers=hand.admin)
    assert again.status_code == 404
    for bad in ("0", "99999999999", "x"):
        assert c.post(f"/api/v1/admin/claims/{bad}/requeue", headers=hand.admin).status_code == 422
    with hand.client.app.state.ctx.session_factory() as s:
        from sqlalchemy import select

        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "claim.revoked",
                                                   AuditEvent.object_id == str(ids["a4"]))).all()
        assert len(audit) == 1 and audit[0].detail["reason"] == "requeued_by_admin"


def test_queue_refuses_bad_limits_and_non_admins(world):
    c = world.client
    for limit in ("0", "2001", "x"):
        assert c.get("/api/v1/admin/queue", headers=world.admin, params={"limit": limit}).status_code == 422
    for headers in (world.a.auth, world.reader):
        assert c.get("/api/v1/admin/queue", headers=headers).status_code == 403
