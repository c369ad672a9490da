"""orders hl7

Revision ID: 0004_orders_hl7
Revises: 0005
Create Date: 2026-12-04 16:37:29.342346
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op


import storage.models.base

revision: str = '0004_orders_hl7'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('hl7_endpoints',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('receiving_application', sa.String(length=100), nullable=False),
    sa.Column('receiving_facility', sa.String(length=100), nullable=False),
    sa.Column('enabled_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event_cursor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_hl7_endpoints_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_hl7_endpoints'))
    )
    op.create_table('hl7_facilities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sending_facility', sa.String(length=100), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_hl7_facilities_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hl7_facilities')),
    sa.UniqueConstraint('sending_facility', name=op.f('uq_hl7_facilities_sending_facility'))
    )
    with op.batch_alter_table('hl7_facilities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hl7_facilities_site_id'), ['site_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('placer_order_number', sa.String(length=64), nullable=False),
    sa.Column('filler_order_number', sa.String(length=64), nullable=False),
    sa.Column('accession_number', sa.String(length=64), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('service_text', sa.String(length=200), nullable=False),
    sa.Column('requested_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('urgency', sa.Enum('stat', 'urgent', 'routine', name='urgency', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('study_id', sa.Uuid(), nullable=True),
    sa.Column('sending_facility', sa.String(length=100), nullable=False),
    sa.Column('message_type', sa.String(length=16), nullable=False),
    sa.Column('message_control_id', sa.String(length=64), nullable=False),
    sa.Column('cancel_control_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_orders_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_orders_site_id_sites')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_orders_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('site_id', 'placer_order_number', name=op.f('uq_orders_site_id'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_orders_site_status', ['site_id', 'status', 'requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_study_id'), ['study_id'], unique=False)

    op.create_table('hl7_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Uuid(), nullable=False),
    sa.Column('report_version', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('control_id', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ack_code', sa.String(length=2), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_hl7_deliveries_event_id_events')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_hl7_deliveries_site_id_sites')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_hl7_deliveries_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hl7_deliveries')),
    sa.UniqueConstraint('control_id', name=op.f('uq_hl7_deliveries_control_id')),
    sa.UniqueConstraint('event_id', name=op.f('uq_hl7_deliveries_event_id'))
    )
    with op.batch_alter_table('hl7_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_hl7_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_hl7_deliveries_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hl7_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hl7_deliveries_site_id'))
        batch_op.drop_index('ix_hl7_deliveries_due')

    op.drop_table('hl7_deliveries')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_study_id'))
        batch_op.drop_index('ix_orders_site_status')
        batch_op.drop_index(batch_op.f('ix_orders_patient_id'))

    op.drop_table('orders')
    with op.batch_alter_table('hl7_facilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hl7_facilities_site_id'))

    op.drop_table('hl7_facilities')
    op.drop_table('hl7_endpoints')
