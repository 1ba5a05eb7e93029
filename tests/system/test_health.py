"""Health checks without the topology: /healthz names the part that is down, `flask health`
exits 0 or 1 per kind, heartbeats go stale, `create-database` creates once."""
from __future__ import annotations

import time
import uuid

import pytest
import redis
from sqlalchemy import create_engine, text

from integrations import health
from tests.system.topology import PG_BASE, REDIS_BASE, _with_database, claim_redis_db, free_port
from web.cli_ops import create_database


@pytest.fixture
def redis_db():
    """An empty Redis database of our own (the heartbeat keys have fixed names)."""
    owner = f"health-{uuid.uuid4().hex[:8]}"
    db = claim_redis_db(owner)
    url = f"{REDIS_BASE}/{db}"
    yield url
    redis.Redis.from_url(url).flushdb()


def make_app(tmp_path, request, **config):
    from app import create_app
    from tests.conftest import make_database_url

    url = make_database_url("sqlite", tmp_path, request)
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "VAR_DIR": str(tmp_path),
                       "TESTING": True, **config})


def test_healthz_on_embedded_defaults_needs_no_token(tmp_path, request):
    r = make_app(tmp_path, request).test_client().get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": "ok", "redis": "off", "broker": "off"}


def test_healthz_names_the_part_that_is_down(tmp_path, request, redis_db):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(tmp_path, request, REDIS_URL=dead, CELERY_BROKER_URL=redis_db)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "down" and body["down"] == ["redis"]
    assert body["database"] == "ok" and body["broker"] == "ok" and body["redis"] == "down"
    assert "redis" in body["errors"]


@pytest.mark.parametrize("kind", ["beat", "listener"])
def test_heartbeat_fresh_stale_and_absent(tmp_path, request, redis_db, kind):
    app = make_app(tmp_path, request, REDIS_URL=redis_db)
    runner = app.test_cli_runner()
    key = {"beat": health.BEAT_KEY, "listener": health.LISTENER_KEY}[kind]
    absent = runner.invoke(args=["health", "--kind", kind])
    assert absent.exit_code == 1 and "absent" in absent.output
    health.write_heartbeat(redis_db, key)
    fresh = runner.invoke(args=["health", "--kind", kind])
    assert fresh.exit_code == 0, fresh.output
    redis.Redis.from_url(redis_db).set(key, f"{time.time() - 120:.3f}")
    stale = runner.invoke(args=["health", "--kind", kind])
    assert stale.exit_code == 1 and "stale" in stale.output
    assert runner.invoke(args=["health", "--kind", kind, "--max-age", "600"]).exit_code == 0


def test_unreachable_web_worker_and_redis_fail(tmp_path, request, monkeypatch):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(tmp_path, request, REDIS_URL=dead)
    runner = app.test_cli_runner()
    web = runner.invoke(args=["health", "--kind", "web",
                              "--url", f"http://127.0.0.1:{free_port()}"])
    assert web.exit_code == 1 and "refused" in web.output.lower()
    listener = runner.invoke(args=["health", "--kind", "listener"])
    assert listener.exit_code == 1 and "unreachable" in listener.output
    worker = runner.invoke(args=["health", "--kind", "worker"])
    assert worker.exit_code == 1 and "no CELERY_BROKER_URL" in worker.output


def test_create_database_creates_once():
    name = f"jianguan_create_{uuid.uuid4().hex[:8]}"
    url = _with_database(PG_BASE, name)
    try:
        assert create_database(url) is True
        assert create_database(url) is False
        eng = create_engine(url)
        with eng.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == name
        eng.dispose()
    finally:
        admin = create_engine(_with_database(PG_BASE, "postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    assert create_database("sqlite:///x.db") is False
