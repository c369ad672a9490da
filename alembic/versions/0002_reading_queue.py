"""reading queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:41:58.643796
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.models.base

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('reader_coverage',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_reader_coverage_site_id_sites')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reader_coverage_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_reader_coverage'))
    )
    op.create_table('claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Uuid(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('claimed_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Enum('signed', 'released', 'expired', 'reassigned', 'returned', name='claimoutcome', native_enum=False, length=16), nullable=True),
    sa.Column('open_study_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['reader_id'], ['users.id'], name=op.f('fk_claims_reader_id_users')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_claims_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims')),
    sa.UniqueConstraint('open_study_id', name=op.f('uq_claims_open_study_id'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_reader', ['reader_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_study_id'), ['study_id'], unique=False)

    op.create_table('critical_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Uuid(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('raised_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('acknowledged_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_critical_notices_site_id_sites')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_critical_notices_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_critical_notices')),
    sa.UniqueConstraint('study_id', 'code', name=op.f('uq_critical_notices_study_id'))
    )
    with op.batch_alter_table('critical_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_critical_notices_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_critical_notices_study_id'), ['study_id'], unique=False)

    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('study_id', sa.Uuid(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_escalations_site_id_sites')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_escalations_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')),
    sa.UniqueConstraint('kind', 'study_id', name=op.f('uq_escalations_kind'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_study_id'), ['study_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('statements', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('free_text', sa.Text(), nullable=False),
    sa.Column('measurements', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('signed_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('amendment_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_reports_author_id_users')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_reports_study_id_studies')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['reports.id'], name=op.f('fk_reports_supersedes_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('study_id', 'version', name=op.f('uq_reports_study_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_study_id'), ['study_id'], unique=False)

    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority_rank', sa.SmallInteger(), nullable=False, server_default="2"))
        batch_op.add_column(sa.Column('pool', sa.Enum('pediatric', 'adult', name='readerpool', native_enum=False, length=16), nullable=True))
        batch_op.create_index('ix_studies_queue', ['status', 'priority_rank', 'due_at'], unique=False)
    op.execute("UPDATE studies SET priority_rank = CASE priority WHEN 'stat' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END")




def downgrade() -> None:

    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_index('ix_studies_queue')
        batch_op.drop_column('pool')
        batch_op.drop_column('priority_rank')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_study_id'))

    op.drop_table('reports')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalations_study_id'))

    op.drop_table('escalations')
    with op.batch_alter_table('critical_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_critical_notices_study_id'))
        batch_op.drop_index(batch_op.f('ix_critical_notices_site_id'))

    op.drop_table('critical_notices')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_study_id'))
        batch_op.drop_index('ix_claims_reader')

    op.drop_table('claims')
    op.drop_table('reader_coverage')

