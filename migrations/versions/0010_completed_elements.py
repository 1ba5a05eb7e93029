"""instances.completed_elements: the BPMN elements an instance has completed

The instance read (GET /instances/{id}) listed them by loading and deserializing the workflow
blob; the engine now keeps them in this column on every step (and may cut finished history
out of the blob, so the blob alone no longer knows them). NULL for rows written before:
the read model then computes them once from the blob.

Revision ID: engine_0010
Revises: 0009
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'engine_0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completed_elements', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('completed_elements')
