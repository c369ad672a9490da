"""GET /api/v1/admin/stats on a seeded scenario whose numbers are worked out by hand (SQLite and PostgreSQL),
and the admin pages' list endpoints (admins only)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from storage.models import (
    Claim,
    ClaimOutcome,
    CriticalNotice,
    Patient,
    Report,
    Sex,
    Study,
    StudyStatus,
    Urgency,
    PRIORITY_RANK,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China
SLA = {Urgency.stat: 10, Urgency.urgent: 30, Urgency.routine: 240}


class Seeder:
    def __init__(self, session, readers: dict[str, int]) -> None:
        self.s, self.readers, self.n = session, readers, 0
        self.patients: dict[int, int] = {}

    def study(self, site: int, priority: Urgency, status: StudyStatus, received: dt.datetime,
              signed_after_min: float | None = None, reader: str = "reader", amend: bool = False) -> Study:
        if site not in self.patients:
            p = Patient(site_id=site, external_id=f"P{site}", name="Seed", sex=Sex.female)
            self.s.add(p)
            self.s.flush()
            self.patients[site] = p.id
        self.n += 1
        st = Study(id=uuid.uuid4(), site_id=site, patient_id=self.patients[site], acquired_at=received,
                   received_at=received, clinic_urgency=priority, status=status, priority=priority,
                   priority_rank=PRIORITY_RANK[priority], due_at=received + dt.timedelta(minutes=SLA[priority]),
                   idempotency_key=f"k{self.n}", request_hash="0" * 64, uploaded_by="test")
        self.s.add(st)
        self.s.flush()
        if signed_after_min is not None:
            signed = received + dt.timedelta(minutes=signed_after_min)
            claimed = signed - dt.timedelta(minutes=min(2.0, signed_after_min))
            rid = self.readers[reader]
            self.s.add(Claim(study_id=st.id, reader_id=rid, claimed_at=claimed, lease_until=signed, ended_at=signed,
                             outcome=ClaimOutcome.signed))
            self.s.add(Report(study_id=st.id, version=1, author_id=rid, statements=[], measurements={},
                              signed_at=signed))
            if amend:
                self.s.flush()
                self.s.add(Report(study_id=st.id, version=2, author_id=rid, statements=[], measurements={},
                                  signed_at=signed + dt.timedelta(hours=1), amendment_reason="typo"))
        self.s.flush()
        return st

    def notice(self, st: Study, code: str, ack_after_min: float | None) -> None:
        raised = st.received_at + dt.timedelta(minutes=1)
        self.s.add(CriticalNotice(study_id=st.id, site_id=st.site_id, code=code, text=code, source="reader",
                                  raised_at=raised, acknowledged_by="user:1" if ack_after_min is not None else None,
                                  acknowledged_at=raised + dt.timedelta(minutes=ack_after_min)
                                  if ack_after_min is not None else None))


@pytest.fixture
def seeded(world):
    seed_scenario(world, world.client.app.state.ctx)
    return world


def seed_scenario(world, ctx) -> None:
    """The hand-worked scenario (also drawn by the dashboard's browser test)."""
    users = world.extra["users"]
    a, b = world.a.site_id, world.b.site_id
    with ctx.session_factory() as s:
        seed = Seeder(s, {"reader": users["reader"], "reader2": users["reader2"]})
        # Clinic A, 20 Nov: stat read in 5, 8 and 20 min (SLA 10), routine in 60/120/180/300 min (SLA 240).
        stat = [seed.study(a, Urgency.stat, StudyStatus.reported, T0 + dt.timedelta(minutes=i), m)
                for i, m in enumerate((5, 8, 20))]
        for i, m in enumerate((60, 120, 180, 300)):
            seed.study(a, Urgency.routine, StudyStatus.reported, T0 + dt.timedelta(minutes=30 + i), m,
                       reader="reader2", amend=(i == 0))
        # 01:00 China time on 20 Nov is still 19 Nov in UTC: counted on the 20th.
        seed.study(a, Urgency.routine, StudyStatus.unreadable, dt.datetime(2026, 11, 19, 17, 0, tzinfo=UTC))
        seed.study(a, Urgency.routine, StudyStatus.awaiting_read, T0 + dt.timedelta(hours=3))
        # Clinic B, 19 Nov: urgent in 10 and 40 min (SLA 30); two unreadable, one returned.
        b0 = T0 - dt.timedelta(days=1)
        urgent = [seed.study(b, Urgency.urgent, StudyStatus.reported, b0 + dt.timedelta(minutes=i), m)
                  for i, m in enumerate((10, 40))]
        seed.study(b, Urgency.routine, StudyStatus.unreadable, b0)
        seed.study(b, Urgency.routine, StudyStatus.unreadable, b0)
        seed.study(b, Urgency.routine, StudyStatus.returned, b0)
        # Outside the range (25 Nov): never counted.
        late = seed.study(a, Urgency.stat, StudyStatus.reported, T0 + dt.timedelta(days=5), 1)
        # An expired claim of reader2 (no signature).
        s.add(Claim(study_id=urgent[0].id, reader_id=users["reader2"], claimed_at=b0, lease_until=b0,
                    ended_at=b0 + dt.timedelta(minutes=1), outcome=ClaimOutcome.expired))
        seed.notice(stat[0], "STE", 4)
        seed.notice(stat[1], "VT", None)
        seed.notice(urgent[1], "AVB3", 10)
        seed.notice(late, "STE", 1)
        s.commit()


def _stats(world, **params):
    resp = world.client.get("/api/v1/admin/stats", headers=world.admin,
                            params={"from": "2026-11-18", "to": "2026-11-20", **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_stats_numbers_on_a_seeded_scenario(seeded):
    world = seeded
    a, b = world.a.site_id, world.b.site_id
    st = _stats(world)
    assert st["from"] == "2026-11-18" and st["to"] == "2026-11-20"

    vol = st["volume"]
    assert vol["days"] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert vol["per_day_total"] == [0, 5, 9] and vol["total"] == 14
    series = {x["site_id"]: x["counts"] for x in vol["series"]}
    assert series == {a: [0, 0, 9], b: [0, 5, 0]}

    q = {x["site_id"]: x for x in st["quality"]}
    assert (q[a]["studies"], q[a]["unreadable"], q[a]["returned"]) == (9, 1, 0)
    assert q[a]["unreadable_rate"] == pytest.approx(1 / 9, abs=1e-4)
    assert (q[b]["studies"], q[b]["unreadable"], q[b]["returned"]) == (5, 2, 1)
    assert q[b]["unreadable_rate"] == pytest.approx(0.4)
    assert st["quality"][0]["site_id"] == b  # worst first: where to send training

    tat = {x["priority"]: x for x in st["turnaround"]}
    assert [x["priority"] for x in st["turnaround"]] == ["stat", "urgent", "routine"]
    # Nearest rank: p50 of (5, 8, 20) is the 2nd value, p90 the 3rd.
    assert (tat["stat"]["reported"], tat["stat"]["p50_min"], tat["stat"]["p90_min"]) == (3, 8.0, 20.0)
    assert (tat["stat"]["sla_min"], tat["stat"]["within_sla"]) == (10, 2)
    assert tat["stat"]["mean_min"] == pytest.approx(11.0)
    assert (tat["urgent"]["reported"], tat["urgent"]["p50_min"], tat["urgent"]["p90_min"]) == (2, 10.0, 40.0)
    assert tat["urgent"]["within_sla"] == 1 and tat["urgent"]["within_sla_rate"] == 0.5
    # The amendment (signed an hour later) does not change the turnaround: the first signature counts.
    assert (tat["routine"]["reported"], tat["routine"]["p50_min"], tat["routine"]["p90_min"]) == (4, 120.0, 300.0)
    assert tat["routine"]["within_sla"] == 3 and tat["routine"]["pending"] == 1

    readers = {r["name"]: r for r in st["readers"]}
    assert (readers["reader"]["claims"], readers["reader"]["signed"], readers["reader"]["reports"]) == (5, 5, 5)
    assert readers["reader"]["read_p50_min"] == 2.0
    r2 = readers["reader2"]
    assert (r2["claims"], r2["signed"], r2["expired"], r2["reports"], r2["amendments"]) == (5, 4, 1, 5, 1)

    n = st["notices"]
    assert (n["raised"], n["acknowledged"], n["open"]) == (3, 2, 1)
    assert (n["ack_p50_min"], n["ack_p90_min"]) == (4.0, 10.0)
    assert n["oldest_open_at"].startswith("2026-11-20T02:02")
    per = {x["site_id"]: x for x in n["per_site"]}
    assert (per[a]["raised"], per[a]["open"], per[a]["ack_p50_min"]) == (2, 1, 4.0)
    assert (per[b]["raised"], per[b]["open"], per[b]["ack_p90_min"]) == (1, 0, 10.0)


def test_stats_filtered_by_clinic_and_dates(seeded):
    world = seeded
    b = world.b.site_id
    st = _stats(world, site_id=b)
    assert st["volume"]["total"] == 5 and [x["site_id"] for x in st["quality"]] == [b]
    assert {x["priority"]: x["reported"] for x in st["turnaround"]} == {"stat": 0, "urgent": 2, "routine": 0}
    assert st["notices"]["raised"] == 1
    assert {r["name"]: r["claims"] for r in st["readers"]} == {"reader": 2, "reader2": 1}
    only_20 = _stats(world, **{"from": "2026-11-20", "to": "2026-11-20"})
    assert only_20["volume"]["total"] == 9 and only_20["volume"]["days"] == ["2026-11-20"]
    empty = _stats(world, **{"from": "2026-10-01", "to": "2026-10-02"})
    assert empty["volume"]["total"] == 0 and empty["notices"]["ack_p50_min"] is None
    assert all(t["p50_min"] is None and t["reported"] == 0 for t in empty["turnaround"])


def test_stats_refuses_bad_ranges_and_non_admins(world):
    c = world.client
    assert c.get("/api/v1/admin/stats", headers=world.admin, params={"from": "2026-11-20", "to": "2026-11-01"}
                 ).status_code == 422
    assert c.get("/api/v1/admin/stats", headers=world.admin, params={"from": "2020-01-01", "to": "2026-01-01"}
                 ).status_code == 422
    assert c.get("/api/v1/admin/stats", headers=world.admin, params={"site_id": 99999}).status_code == 422
    default = c.get("/api/v1/admin/stats", headers=world.admin).json()
    assert len(default["volume"]["days"]) == 30
    for headers in (world.a.auth, world.a.key, world.reader):
        assert c.get("/api/v1/admin/stats", headers=headers).status_code == 403
    assert c.get("/api/v1/admin/stats").status_code == 401


def test_admin_list_endpoints(world):
    c = world.client
    sites = c.get("/api/v1/admin/sites", headers=world.admin).json()
    assert {s["code"] for s in sites} == {"hub", "clinic-a", "clinic-b"}
    users = c.get("/api/v1/admin/users", headers=world.admin).json()
    by_name = {u["username"]: u for u in users}
    assert by_name["reader"]["covered_site_ids"] == sorted([world.a.site_id, world.b.site_id])
    assert by_name["adult-reader"]["reader_pools"] == ["adult"] and by_name["tech-a"]["covered_site_ids"] == []
    assert all("password" not in k for u in users for k in u)
    readers = c.get("/api/v1/admin/users", headers=world.admin, params={"role": "reader"}).json()
    assert {u["username"] for u in readers} == {"reader", "reader2", "adult-reader"}
    site_a = c.get("/api/v1/admin/users", headers=world.admin, params={"site_id": world.a.site_id}).json()
    assert [u["username"] for u in site_a] == ["tech-a"]

    created = c.post(f"/api/v1/admin/sites/{world.a.site_id}/api-keys", headers=world.admin, json={"name": "cart 2"})
    assert created.status_code == 201 and created.json()["token"]
    keys = c.get("/api/v1/admin/api-keys", headers=world.admin).json()
    assert len(keys) == 3 and all(k["token"] is None for k in keys)
    mine = [k for k in keys if k["id"] == created.json()["id"]][0]
    assert mine["site_name"] == "Clinic A" and created.json()["token"].split("_")[1] == mine["prefix"]
    c.post(f"/api/v1/admin/api-keys/{mine['id']}/revoke", headers=world.admin).raise_for_status()
    keys_a = c.get("/api/v1/admin/api-keys", headers=world.admin, params={"site_id": world.a.site_id}).json()
    assert [k["revoked_at"] is not None for k in keys_a] == [True, False]

    for path in ("/api/v1/admin/sites", "/api/v1/admin/users", "/api/v1/admin/api-keys"):
        for headers in (world.a.auth, world.b.key, world.reader):
            assert c.get(path, headers=headers).status_code == 403, path
        assert c.get(path).status_code == 401
