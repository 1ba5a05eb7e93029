"""the inbox's whole sort order in its indexes, per role and per role and project

The inbox sorts open tasks by (due_at, created_at, id). Without id in the index, tasks that
share a due and creation time (a batch of alarms, a timer-started round) form one group that
PostgreSQL must read and sort in full before it can return the first page. A scoped inbox
reads each project's first tasks from (role, scope_key, due_at, created_at, id).

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
    _replace('ix_tasks_open_role_due', ['role', 'due_at', 'created_at', 'id'])
    _replace('ix_tasks_open_role_scope', ['role', 'scope_key', 'due_at', 'created_at', 'id'])


def downgrade() -> None:
    _replace('ix_tasks_open_role_due', ['role', 'due_at', 'created_at'])
    _replace('ix_tasks_open_role_scope', ['role', 'scope_key'])


def _replace(name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name='tasks')
    op.create_index(name, 'tasks', columns, unique=False, postgresql_where=OPEN,
                    sqlite_where=OPEN)
