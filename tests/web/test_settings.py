"""One configuration: a typed Settings built once (file < environment < create_app's dict),
handed to the engine, Celery, the listener and the scheduler; `flask config` shows it masked."""
from __future__ import annotations

import os
import re
import uuid

import pytest
import redis

from settings import Settings, SettingsError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REDIS = os.environ.get("JIANGUAN_TEST_REDIS", "redis://127.0.0.1:6379")


def test_sources_override_each_other_in_order(tmp_path):
    path = tmp_path / "jianguan.toml"
    path.write_text('timer_interval = 7\nMQTT_URL = "mqtt://file:1883"\n'
                    'JIANGUAN_TASK_MAX_RETRIES = 9\n[engine]\nscript_time_limit = 1.5\n',
                    encoding="utf-8")
    env = {"JIANGUAN_SETTINGS_FILE": str(path), "MQTT_URL": "mqtt://env:1883",
           "JIANGUAN_TASK_MAX_RETRIES": "", "PATH": "/usr/bin"}
    s = Settings.load(env, {"JIANGUAN_TASK_MAX_RETRIES": 1})
    assert (s.timer_interval, s.mqtt_url, s.task_max_retries) == (7.0, "mqtt://env:1883", 1)
    assert s.engine_settings() == {"job_attempts": 2, "job_backoff_seconds": 2.0,
                                   "script_time_limit": 1.5}
    assert Settings.load({}).task_max_retries == 3 and Settings.load({}).engine_settings()[
        "job_attempts"] == 4                      # one default, for the engine and Celery alike


def test_a_bad_value_names_its_variable(tmp_path):
    with pytest.raises(SettingsError, match="JIANGUAN_TIMER_INTERVAL"):
        Settings.load({"JIANGUAN_TIMER_INTERVAL": "often"})
    broken = tmp_path / "bad.toml"
    broken.write_text("timer_interval = [", encoding="utf-8")
    with pytest.raises(SettingsError, match="bad.toml"):
        Settings.load({"JIANGUAN_SETTINGS_FILE": str(broken)})


def test_flask_config_prints_the_settings_with_secrets_masked(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("JIANGUAN_TASK_MAX_RETRIES", "6")
    app = create_app({"DATABASE_URL": "postgresql+psycopg://jg:s3cret-pw@db.example/jg",
                      "SECRET_KEY": "very-secret-key", "VAR_DIR": str(tmp_path),
                      "REDIS_URL": "redis://:redis-pw@cache.example:6379/0"})
    out = app.test_cli_runner().invoke(args=["config"])
    assert out.exit_code == 0, out.output
    assert "very-secret-key" not in out.output and "s3cret-pw" not in out.output
    assert "redis-pw" not in out.output
    assert re.search(r"SECRET_KEY\s+\*\*\*", out.output)
    assert "postgresql+psycopg://jg:***@db.example/jg" in out.output
    assert re.search(r"JIANGUAN_TASK_MAX_RETRIES\s+6", out.output)
    engine = app.extensions["jianguan.engine"]
    assert engine.settings.job_attempts == 7
    engine.close()


ONE_TASK_PER_NAME = pytest.mark.filterwarnings(
    "error::celery.exceptions.DuplicateTaskNameWarning")      # each app's tasks are its own


@ONE_TASK_PER_NAME
def test_wake_posts_to_the_broker_the_app_was_given(tmp_path, monkeypatch):
    """The broker named in create_app's dict (not the environment) is the one a task goes to,
    on the queue the workers of these settings read."""
    from app import create_app

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    broker, queue = f"{REDIS}/14", f"jianguan-settings-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("JIANGUAN_CELERY_QUEUE", queue)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "SECRET_KEY": "x",
                      "VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": broker})
    celery = app.extensions["jianguan.celery"]
    assert celery.conf.broker_url == broker and celery.conf.task_default_queue == queue
    client = redis.Redis.from_url(broker)
    try:
        app.extensions["jianguan.engine"].wake("instance-1")
        assert client.llen(queue) == 1
        assert b"jianguan.run_async_service" in client.lindex(queue, 0)
    finally:
        client.delete(queue)
        app.extensions["jianguan.engine"].close()


@ONE_TASK_PER_NAME
def test_celery_finds_its_app_through_create_app(tmp_path, monkeypatch):
    import app as module
    from celery.app.utils import find_app

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("JIANGUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CELERY_BROKER_URL", f"{REDIS}/14")
    monkeypatch.setenv("JIANGUAN_TIMER_INTERVAL", "3")
    celery = find_app("app")                     # what `celery -A app worker` does
    assert celery.conf.broker_url == f"{REDIS}/14"
    assert celery.conf.beat_schedule["fire-due-timers"]["schedule"] == 3.0
    assert "jianguan.run_async_service" in celery.tasks
    monkeypatch.delenv("CELERY_BROKER_URL")
    with pytest.raises(RuntimeError, match="CELERY_BROKER_URL"):
        module.celery


def _sources(*folders: str):
    for folder in folders:
        for dirpath, _, names in os.walk(os.path.join(ROOT, folder)):
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(dirpath, name)
                    with open(path, encoding="utf-8") as fh:
                        yield os.path.relpath(path, ROOT), fh.read()


def test_only_settings_reads_the_environment_and_nothing_imports_the_app():
    readers = {path for path, text in _sources("engine", "processes", "web", "integrations")
               if re.search(r"os\.environ|getenv\(", text)}
    # the sandbox hands its own PYTHONPATH to the worker processes it spawns
    assert readers == {"engine/sandbox_worker.py"}
    importers = {path for path, text in _sources("engine", "processes", "web", "integrations")
                 if re.search(r"^\s*(from app import|import app\b)", text, re.M)}
    assert importers == set()
