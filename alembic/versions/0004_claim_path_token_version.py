"""claim path: token version per user, partial index of open leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 16:30:00

``users.token_version`` is carried in every access token; bumping it (logout,
disable, revoke all sessions) refuses every token issued before. The partial
index ``ix_claims_open_lease`` lets the housekeeper find lapsed leases among
open claims only, so claims no longer expire leases inline.
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_claims_open_lease', 'claims', ['lease_until'], unique=False,
                    postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_claims_open_lease', table_name='claims')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
