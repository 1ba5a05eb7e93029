"""the inbox's whole sort order in its index

The inbox sorts open tasks by (due_at, created_at, id). Without id in the index, tasks that
share a due and creation time (a batch of alarms, a timer-started round) form one group that
PostgreSQL must read and sort in full before it can return the first page.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    op.drop_index('ix_tasks_open_role_due', table_name='tasks')
    op.create_index('ix_tasks_open_role_due', 'tasks', ['role', 'due_at', 'created_at', 'id'],
                    unique=False, postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index('ix_tasks_open_role_due', table_name='tasks')
    op.create_index('ix_tasks_open_role_due', 'tasks', ['role', 'due_at', 'created_at'],
                    unique=False, postgresql_where=OPEN, sqlite_where=OPEN)
