"""password reset: users.must_change_password

Revision ID: 0007
Revises: 0004_orders_hl7
Create Date: 2026-12-04 17:50:00

An admin's reset sets a temporary password and this flag; login is refused until the user
chooses their own password (``POST /api/v1/auth/password``).
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0004_orders_hl7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
