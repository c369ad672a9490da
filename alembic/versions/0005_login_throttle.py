"""login throttle: failed-login counters shared by every API process

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:05:00
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'login_throttle',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('first_failure_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
