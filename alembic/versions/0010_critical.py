"""critical-value closed loop and trusted acquisition time

The acknowledgement of a critical notice records the whole 危急值 loop (who received it, whom
they told and when, the read-back, the action); a study records where its acquisition time
came from (device header, clinic form, or server receipt when the device clock was wrong).

Revision ID: 0010_critical
Revises: 0009_dicom
Create Date: 2026-12-04 19:00:00
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = '0010_critical'
down_revision: str | None = '0009_dicom'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOTICE_COLUMNS = (
    ('received_by_name', sa.String(length=200)),
    ('received_by_role', sa.String(length=100)),
    ('told_name', sa.String(length=200)),
    ('told_role', sa.String(length=100)),
    ('told_at', UTCDateTime(timezone=True)),
    ('read_back', sa.Text()),
    ('action_taken', sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table('critical_notices', schema=None) as batch_op:
        for name, type_ in _NOTICE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acquired_at_source', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_column('acquired_at_source')
    with op.batch_alter_table('critical_notices', schema=None) as batch_op:
        for name, _ in reversed(_NOTICE_COLUMNS):
            batch_op.drop_column(name)
