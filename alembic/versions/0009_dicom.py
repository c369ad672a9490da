"""dicom: calling AE titles of ECG carts mapped to sites, PACS destinations, PACS deliveries (outbox)

Revision ID: 0009_dicom
Revises: 0008
Create Date: 2026-12-04 18:57:24.388311
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op


import storage.models.base

revision: str = '0009_dicom'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dicom_pacs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('ae_title', sa.String(length=16), nullable=False),
    sa.Column('enabled_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event_cursor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_dicom_pacs_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dicom_pacs')),
    sa.UniqueConstraint('site_id', name=op.f('uq_dicom_pacs_site_id'))
    )
    op.create_table('dicom_peers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ae_title', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_dicom_peers_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dicom_peers')),
    sa.UniqueConstraint('ae_title', name=op.f('uq_dicom_peers_ae_title'))
    )
    with op.batch_alter_table('dicom_peers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dicom_peers_site_id'), ['site_id'], unique=False)

    op.create_table('dicom_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Uuid(), nullable=False),
    sa.Column('report_version', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('ae_title', sa.String(length=16), nullable=False),
    sa.Column('study_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_dicom_deliveries_event_id_events')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_dicom_deliveries_site_id_sites')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_dicom_deliveries_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dicom_deliveries')),
    sa.UniqueConstraint('event_id', name=op.f('uq_dicom_deliveries_event_id'))
    )
    with op.batch_alter_table('dicom_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_dicom_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dicom_deliveries_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dicom_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dicom_deliveries_site_id'))
        batch_op.drop_index('ix_dicom_deliveries_due')

    op.drop_table('dicom_deliveries')
    with op.batch_alter_table('dicom_peers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dicom_peers_site_id'))

    op.drop_table('dicom_peers')
    op.drop_table('dicom_pacs')
