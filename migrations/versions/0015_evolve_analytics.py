"""analytics_rollup, analytics_watermark, ix_tasks_ended_at: incremental process analytics

Revision ID: evolve_0012
Revises: evolve_0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = 'evolve_0012'
down_revision = 'evolve_0011'
branch_labels = None
depends_on = None

BUCKETS = 40      # processes.schema.HISTOGRAM_BUCKETS when this revision was written


def upgrade() -> None:
    op.create_table(
        'analytics_rollup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=200), nullable=False),
        sa.Column('element_id', sa.String(length=200), nullable=False),
        sa.Column('element_name', sa.String(length=300), nullable=False),
        sa.Column('grain', sa.String(length=5), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('dim', sa.String(length=12), nullable=False),
        sa.Column('dim_value', sa.String(length=200), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('total_seconds', sa.Float(), nullable=False),
        sa.Column('overdue', sa.Integer(), nullable=False),
        sa.Column('rework', sa.Integer(), nullable=False),
        *[sa.Column(f'h{i}', sa.Integer(), nullable=False) for i in range(BUCKETS)],
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_rollup')),
    )
    op.create_index('ix_analytics_rollup_grain_dim_day', 'analytics_rollup',
                    ['grain', 'dim', 'day', 'process_key'], unique=False)
    op.create_table(
        'analytics_watermark',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('ended_before', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_analytics_watermark')),
    )
    op.create_index('ix_tasks_ended_at', 'tasks', ['ended_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_ended_at', table_name='tasks')
    op.drop_table('analytics_watermark')
    op.drop_index('ix_analytics_rollup_grain_dim_day', table_name='analytics_rollup')
    op.drop_table('analytics_rollup')
