"""partial indexes for the inbox over many open tasks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    op.create_index('ix_tasks_open_role_due', 'tasks', ['role', 'due_at', 'created_at'],
                    unique=False, postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index('ix_tasks_open_role_scope', 'tasks', ['role', 'scope_key'],
                    unique=False, postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index('ix_tasks_open_role_scope', table_name='tasks')
    op.drop_index('ix_tasks_open_role_due', table_name='tasks')
