"""Re-analysis with the current pipeline: new analysis row, queue priority only while unclaimed, audited."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from app.analysis.reanalysis import candidates, reanalyze_study
from ecg.version import PIPELINE_VERSION
from storage.models import Analysis, AuditEvent, Study, Urgency
from tests.app.factories import upload, wait_for_status, wfdb_files


def _analysed(world, data, record: str = "ludb/1") -> uuid.UUID:
    resp = upload(world.client, world.a.auth, wfdb_files(data, record))
    assert resp.status_code == 202, resp.text
    body = wait_for_status(world.client, world.a.auth, resp.json()["id"])
    assert body["status"] == "awaiting_read", body
    return uuid.UUID(body["id"])


def _age(ctx, study_id: uuid.UUID, version: str, priority: Urgency) -> None:
    """Pretend the study was analysed by an older pipeline that gave another priority."""
    with ctx.session_factory() as s:
        s.execute(update(Analysis).where(Analysis.study_id == study_id).values(pipeline_version=version))
        s.execute(update(Study).where(Study.id == study_id).values(priority=priority))
        s.commit()


def test_queued_study_gets_a_new_analysis_and_its_priority_back(world, data):
    ctx = world.client.app.state.ctx
    sid = _analysed(world, data)
    with ctx.session_factory() as s:
        expected = s.get(Study, sid).priority
    _age(ctx, sid, "0.0.1", Urgency.stat)
    assert sid in candidates(ctx.session_factory, 100)
    dry = reanalyze_study(ctx.session_factory, ctx.blobs, ctx.settings, sid, dry_run=True)
    with ctx.session_factory() as s:
        assert s.query(Analysis).filter_by(study_id=sid).count() == 1  # a dry run stores nothing
    out = reanalyze_study(ctx.session_factory, ctx.blobs, ctx.settings, sid)
    assert (dry.priority_after, out.priority_after) == (expected.value, expected.value) and out.requeued
    assert "0.0.1 -> " + PIPELINE_VERSION in out.line()
    with ctx.session_factory() as s:
        versions = [a.pipeline_version for a in s.query(Analysis).filter_by(study_id=sid).order_by(Analysis.id)]
        assert versions == ["0.0.1", PIPELINE_VERSION]  # the old analysis is kept
        assert s.get(Study, sid).priority == expected
        event = s.query(AuditEvent).filter_by(action="study.reanalyzed", object_id=str(sid)).one()
        assert event.detail["from"] == "0.0.1" and event.detail["priority_before"] == "stat"
    assert sid not in candidates(ctx.session_factory, 100)


def test_signed_study_keeps_its_priority(world, data):
    ctx = world.client.app.state.ctx
    sid = _analysed(world, data)
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    assert world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                             json={"statements": ["SR"]}).status_code == 201
    _age(ctx, sid, "0.0.1", Urgency.urgent)
    out = reanalyze_study(ctx.session_factory, ctx.blobs, ctx.settings, sid)
    assert not out.requeued and "priority kept urgent" in out.line()
    with ctx.session_factory() as s:
        assert s.get(Study, sid).priority == Urgency.urgent
        assert s.query(Analysis).filter_by(study_id=sid).count() == 2
