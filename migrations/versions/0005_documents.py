"""documents: stored PDF files (append-only) and verification codes

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_code', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint('uq_documents_verify_code', ['verify_code'])

    op.create_table('document_files',
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                            name=op.f('fk_document_files_document_id_documents')),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_files'))
    )
    _append_only_files()


def _append_only_files() -> None:
    """An issued document never changes: the database refuses UPDATE and DELETE of its file."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER document_files_no_{action.lower()} BEFORE {action} "
                       "ON document_files BEGIN SELECT RAISE(ABORT, "
                       "'issued documents never change'); END")
    else:
        op.execute("CREATE FUNCTION document_files_append_only() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'issued documents never change'; END $$ "
                   "LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER document_files_append_only BEFORE UPDATE OR DELETE "
                   "ON document_files FOR EACH ROW EXECUTE FUNCTION document_files_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_files_append_only ON document_files")
        op.execute("DROP FUNCTION IF EXISTS document_files_append_only()")
    op.drop_table('document_files')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint('uq_documents_verify_code', type_='unique')
        batch_op.drop_column('verify_code')
