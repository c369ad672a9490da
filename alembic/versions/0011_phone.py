"""report patient_explanation: the reader's plain-language words for the family, printed with the version

Revision ID: 0011_phone
Revises: 0010_critical
Create Date: 2026-12-04 19:00:00
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_phone'
down_revision: str | None = '0010_critical'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_explanation', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('patient_explanation')
