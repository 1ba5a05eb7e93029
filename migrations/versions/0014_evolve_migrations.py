"""migrations, migration_items: running instances moved to another process version

Revision ID: evolve_0011
Revises: engine_0010
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'evolve_0011'
down_revision = 'sites_0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'migrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=200), nullable=False),
        sa.Column('from_version', sa.Integer(), nullable=False),
        sa.Column('to_version', sa.Integer(), nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_migrations')),
    )
    op.create_table(
        'migration_items',
        sa.Column('migration_id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('waiting', sa.JSON(), nullable=False),
        sa.Column('moves', sa.JSON(), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['migration_id'], ['migrations.id'],
                                name=op.f('fk_migration_items_migration_id_migrations')),
        sa.PrimaryKeyConstraint('migration_id', 'instance_id', name=op.f('pk_migration_items')),
    )
    op.create_index('ix_migration_items_migration_id_state', 'migration_items',
                    ['migration_id', 'state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_migration_items_migration_id_state', table_name='migration_items')
    op.drop_table('migration_items')
    op.drop_table('migrations')
