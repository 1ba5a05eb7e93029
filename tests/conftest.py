"""Shared fixtures: an app on SQLite and on the machine's PostgreSQL, and an API client."""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from engine.clock import clock

PG_URL = os.environ.get("JIANGUAN_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SCHEMA = f"jianguan_test_{os.getpid()}"     # one per test session: runs may overlap
HERE = os.path.dirname(os.path.abspath(__file__))


def pg_url(schema: str = PG_SCHEMA) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file copied for each test (migrating per test is slow)."""
    from engine.db import Database
    from processes.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema():
    """A fresh schema on the real PostgreSQL server, migrated once per test session."""
    from engine.db import Database
    from processes.migrate import upgrade

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    admin.dispose()
    db = Database(pg_url())
    upgrade(db)
    db.dispose()
    yield pg_url()
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    from engine.schema import metadata
    import processes.schema  # noqa: F401

    eng = create_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    eng.dispose()


def make_database_url(kind: str, tmp_path, request) -> str:
    if kind == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / f"{uuid.uuid4().hex}.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_schema")
    _truncate_pg(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request):
    return request.param


def run_jobs_at_once(engine):
    """engine.wake for tests: the embedded worker, woken after the commit that reached an
    async task (a document gate), runs it right away instead of on its own thread, so a test
    sees the gate's next task as a user does a moment later. Same code path (fire_instance);
    tests of back-off and incidents replace it."""
    from engine.timers import JobPostponed, fire_instance

    def wake(instance_id: str) -> None:
        try:
            fire_instance(engine, instance_id, actor="system:worker")
        except JobPostponed:
            pass
    return wake


@contextmanager
def host_sandbox(time_limit: float, memory_limit_mb: int):
    """The script sandbox as workflows have it (the host functions, two workers), with the
    given limits; closed when the block ends. For a module's `env` fixture."""
    from engine.sandbox import SandboxEnvironment
    from engine.scripting import HOST_FUNCTIONS

    sandbox = SandboxEnvironment(time_limit=time_limit, memory_limit_mb=memory_limit_mb,
                                 functions=dict(HOST_FUNCTIONS), workers=2)
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def app(db_kind, tmp_path, request):
    from app import create_app

    url = make_database_url(db_kind, tmp_path, request)
    application = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret",
                              "VAR_DIR": str(tmp_path / "var"), "TESTING": True,
                              "ENGINE": {"script_time_limit": 1.0}})
    from processes.demo import load_reference
    engine = application.extensions["jianguan.engine"]
    engine.wake = run_jobs_at_once(engine)
    with engine.db.write() as conn:
        load_reference(conn)
    yield application
    engine.close()
    clock.reset()


@pytest.fixture
def sqlite_app(tmp_path, request):
    """For tests that need only one database (CLI, OpenAPI)."""
    from app import create_app

    url = make_database_url("sqlite", tmp_path, request)
    application = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret",
                              "VAR_DIR": str(tmp_path / "var"), "TESTING": True})
    yield application
    application.extensions["jianguan.engine"].close()
    clock.reset()


@pytest.fixture
def engine(app):
    return app.extensions["jianguan.engine"]


@pytest.fixture
def api(app):
    from tests.apiclient import ApiClient
    return ApiClient(app)


@pytest.fixture
def bundled(engine):
    """The bundled processes (bpmn/, forms/) deployed, as `flask setup` does."""
    from processes.bundled import deploy_bundled

    deploy_bundled(engine, actor="system:test")
    return engine
