"""sessions: signed-in browsers and API tokens kept server-side, so they can be revoked

Sign-out, a password change and a deactivation end a user's sessions at once; an API token
can be revoked with DELETE /api/v1/auth/token. Cookies and tokens issued before this revision
carry no session and stop working (users sign in again).

Revision ID: auth_0011
Revises: engine_0010
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0011'
down_revision = 'tasks_0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sessions_user_id', 'sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sessions_user_id', table_name='sessions')
    op.drop_table('sessions')
