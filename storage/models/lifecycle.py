"""The study life cycle as one table: which status may follow which (DESIGN.md section 2).

Every status write goes through ``move`` (an ORM object in hand) or a repository
update guarded by ``check`` (a conditional UPDATE), so a study can never, say,
be signed while unreadable or go back to the queue once reported, whichever
code path tries. The PostgreSQL claim statement (``CLAIM_NEXT_PG``) writes
``awaiting_read -> in_read`` in SQL; that step is in the table too.
"""

from __future__ import annotations

from storage.models.clinical import Study
from storage.models.enums import StudyStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.received: frozenset({S.awaiting_read, S.unreadable, S.analysis_failed, S.withdrawn}),
    S.analyzed: frozenset({S.awaiting_read, S.in_read, S.withdrawn}),  # rows from before the queue
    # awaiting_read -> awaiting_read: re-analysis updates a queued study's priority
    S.awaiting_read: frozenset({S.awaiting_read, S.in_read, S.withdrawn}),
    # in_read -> awaiting_read: released, lease lapsed or claim revoked; in_read -> in_read: reassigned
    S.in_read: frozenset({S.awaiting_read, S.in_read, S.reported, S.returned}),
    S.reported: frozenset({S.amended}),
    S.amended: frozenset({S.amended}),
    S.unreadable: frozenset(),
    S.analysis_failed: frozenset(),
    S.returned: frozenset(),
    S.withdrawn: frozenset(),
}


class IllegalTransition(Exception):
    """A status change the life cycle does not allow (a bug in the caller, never user input)."""


def check(old: S, new: S) -> None:
    """Raise ``IllegalTransition`` unless ``old -> new`` is in ``TRANSITIONS``."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"a study cannot go from {old.value} to {new.value}")


def move(study: Study, new: S) -> None:
    """Set ``study.status`` to ``new`` after checking the step."""
    check(study.status, new)
    study.status = new
