"""The study life cycle table: every status has its successors, illegal steps raise wherever they are tried."""

from __future__ import annotations

import uuid

import pytest

from storage.models import Study, StudyStatus
from storage.models.lifecycle import TRANSITIONS, IllegalTransition, check, move
from storage.repositories import StudyRepository
from tests.app.factories import upload, wait_for_status, wfdb_files


def test_every_status_is_in_the_table_and_ends_are_final():
    assert set(TRANSITIONS) == set(StudyStatus)
    for final in (StudyStatus.unreadable, StudyStatus.returned, StudyStatus.withdrawn):
        assert TRANSITIONS[final] == frozenset()
    with pytest.raises(IllegalTransition, match="reported to awaiting_read"):
        check(StudyStatus.reported, StudyStatus.awaiting_read)


def test_a_signed_study_cannot_be_put_back_in_the_queue(world, data):
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"))
    sid = uuid.UUID(wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"])
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    assert world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                             json={"statements": ["SR"]}).status_code == 201
    with world.client.app.state.ctx.session_factory() as s:
        study = s.get(Study, sid)
        with pytest.raises(IllegalTransition):
            move(study, StudyStatus.in_read)
        with pytest.raises(IllegalTransition):
            StudyRepository(s).transition(sid, expected=StudyStatus.reported, new=StudyStatus.awaiting_read)
        assert study.status == StudyStatus.reported
