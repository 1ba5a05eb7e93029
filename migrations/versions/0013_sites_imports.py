"""import_jobs and import_refs: data imported from the districts' systems

Each import (API, page or `flask import`) leaves one job row with its counts and per-row errors
(the report downloadable as Excel); import_refs maps the natural key of an imported open
rectification to the instance it started, so importing the same file again starts nothing.
Project coordinates already have their columns (projects.lng, projects.lat).

Revision ID: sites_0011
Revises: engine_0010
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'sites_0011'
down_revision = 'auth_0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'import_jobs',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('filename', sa.String(200), nullable=False),
        sa.Column('mode', sa.String(10), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('actor', sa.String(100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=False),
        sa.Column('errors', sa.JSON(), nullable=False),
    )
    op.create_index('ix_import_jobs_created_at', 'import_jobs', ['created_at'])
    op.create_table(
        'import_refs',
        sa.Column('kind', sa.String(20), primary_key=True),
        sa.Column('ref', sa.String(100), primary_key=True),
        sa.Column('target', sa.String(36), nullable=False),
        sa.Column('job_id', sa.String(36), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('import_refs')
    op.drop_index('ix_import_jobs_created_at', table_name='import_jobs')
    op.drop_table('import_jobs')
