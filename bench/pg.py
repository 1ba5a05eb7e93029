"""The benchmarks' PostgreSQL: an empty schema of their own on the server the tests use."""
from __future__ import annotations


def fresh_schema(base: str, schema: str) -> str:
    """Drops and creates `schema`; the URL of `base` with it as the search path."""
    from sqlalchemy import create_engine, text

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"
