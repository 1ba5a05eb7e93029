"""alarms, readings, dead letters, thresholds; devices.alarm_state

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alarm_state', sa.JSON(), nullable=False,
                                      server_default='{}'))
    op.create_table('alarms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=80), nullable=False),
    sa.Column('alarm_id', sa.String(length=120), nullable=False),
    sa.Column('project_code', sa.String(length=50), nullable=False),
    sa.Column('device_type', sa.String(length=10), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('effect', sa.String(length=20), nullable=False),
    sa.Column('instances', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarms')),
    sa.UniqueConstraint('device_id', 'alarm_id', name=op.f('uq_alarms_device_id_alarm_id'))
    )
    op.create_index(op.f('ix_alarms_received_at'), 'alarms', ['received_at'], unique=False)
    op.create_index('ix_alarms_project_received', 'alarms', ['project_code', 'received_at'],
                    unique=False)
    op.create_index('ix_alarms_device_type', 'alarms', ['device_id', 'type', 'id'],
                    unique=False)
    op.create_table('readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readings')),
    sa.UniqueConstraint('device_id', 'at', name=op.f('uq_readings_device_id_at'))
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    op.create_index(op.f('ix_dead_letters_received_at'), 'dead_letters', ['received_at'],
                    unique=False)
    op.create_table('thresholds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_type', sa.String(length=10), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('limit', sa.Float(), nullable=False),
    sa.Column('sustain_seconds', sa.Integer(), nullable=False),
    sa.Column('project_code', sa.String(length=50), nullable=True),
    sa.Column('device_id', sa.String(length=80), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thresholds'))
    )


def downgrade() -> None:
    op.drop_table('thresholds')
    op.drop_index(op.f('ix_dead_letters_received_at'), table_name='dead_letters')
    op.drop_table('dead_letters')
    op.drop_table('readings')
    op.drop_index('ix_alarms_device_type', table_name='alarms')
    op.drop_index('ix_alarms_project_received', table_name='alarms')
    op.drop_index(op.f('ix_alarms_received_at'), table_name='alarms')
    op.drop_table('alarms')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('alarm_state')
