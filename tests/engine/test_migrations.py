"""The Alembic history builds exactly the schema the code declares, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import processes.schema  # noqa: F401  (the domain's tables are on the same metadata)
from engine.schema import metadata


def test_migrations_match_the_declared_tables(engine):
    with engine.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
