"""Hardening (issue 15): dead letters name their project; the audit chain becomes keyed

- dead_letters.project_code: the known project a refused payload names, so a district's staff
  list only their district's dead letters (NULL for rows written before: the city's).
- audit_head.keyed: whether new events are chained with HMAC-SHA256 (the key lives outside
  the database, settings.audit_key). Existing events keep their plain SHA-256 hashes and stay
  verifiable: the first keyed event written after this migration (`audit.keyed`, by
  `flask setup` or the first write) names the last plain event and its hash, under the key,
  so a chain rewritten with plain hashes afterwards no longer verifies. No row of
  audit_events is touched (its triggers refuse updates).

Revision ID: harden_0011
Revises: engine_0010
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'harden_0011'
down_revision = 'evolve_0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dead_letters', sa.Column('project_code', sa.String(length=50),
                                            nullable=True))
    op.create_index('ix_dead_letters_project_code', 'dead_letters', ['project_code'])
    op.add_column('audit_head', sa.Column('keyed', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('keyed')
    op.drop_index('ix_dead_letters_project_code', table_name='dead_letters')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_column('project_code')
