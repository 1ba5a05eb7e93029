"""Real Celery workers (and beat) as subprocesses on the machine's Redis, pointed at the test's
database (a SQLite file or the PostgreSQL schema of the `app` fixture) through DATABASE_URL.

Time: worker subprocesses read the wall clock (engine.clock is process-local), so these tests
give timers due times a few seconds ahead of the real clock and wait for them; nothing here
moves or freezes the clock."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
import redis

from tests.waiting import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
REDIS_URL = os.environ.get("JIANGUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        raise AssertionError(f"no Redis at {REDIS_URL} ({exc}): `make services` starts it") \
            from exc


def register_test_operations(engine) -> None:
    from tests.workers import ops
    ops.register(engine.services)


def deploy_test(api, *names):
    files = {}
    for name in names:
        with open(os.path.join(HERE, "processes", name), "rb") as fh:
            files[name] = fh.read()
    r = api.deploy(files=files)
    assert r.status_code in (200, 201), r.get_json()


class Cluster:
    """Worker and beat subprocesses sharing one queue, one broker and the test database."""

    def __init__(self, database_url: str, tmp_path, markers: str):
        self.queue = f"jianguan-test-{uuid.uuid4().hex[:10]}"
        self.tmp = tmp_path
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, str] = {}
        self.env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": REDIS_URL,
                    "JIANGUAN_CELERY_QUEUE": self.queue, "SECRET_KEY": "test-secret",
                    "TZ": "UTC", "JIANGUAN_TIMER_INTERVAL": "1",
                    "JIANGUAN_CELERY_VISIBILITY_TIMEOUT": "4", "JIANGUAN_TASK_MAX_RETRIES": "3",
                    "JIANGUAN_RETRY_BACKOFF": "0.2", "JIANGUAN_EXTRA_OPERATIONS": "tests.workers.ops",
                    "JIANGUAN_TEST_MARKERS": markers, "PYTHONPATH": ROOT}
        self.env.pop("REDIS_URL", None)
        from celery import Celery
        self.client = Celery("jianguan-test-client", broker=REDIS_URL)
        self.client.conf.broker_connection_retry_on_startup = True

    def _spawn(self, name: str, args: list[str], ready: str | None) -> subprocess.Popen:
        log = str(self.tmp / f"{name}.log")
        fh = open(log, "w")
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "app",
                                 *args], cwd=ROOT, env=self.env, stdout=fh,
                                stderr=subprocess.STDOUT)
        self.procs[name], self.logs[name] = proc, log
        if ready:
            wait_until(lambda: ready in self.log(name) or proc.poll() is not None, 60,
                       f"{name} ready")
            assert proc.poll() is None, self.log(name)
        return proc

    def worker(self, name: str) -> subprocess.Popen:
        return self._spawn(name, ["worker", "--concurrency", "1", "-P", "solo", "-n",
                                  f"{name}-{self.queue}@%h", "-Q", self.queue, "-l", "info",
                                  "--without-gossip", "--without-mingle", "--without-heartbeat"],
                           "ready.")

    def beat(self) -> subprocess.Popen:
        return self._spawn("beat", ["beat", "-l", "info", "-s", str(self.tmp / "beat-schedule"),
                                    "--pidfile", str(self.tmp / "beat.pid")], "beat: Starting")

    def log(self, name: str) -> str:
        with open(self.logs[name], errors="replace") as fh:
            return fh.read()

    def send(self, task: str, *args):
        return self.client.send_task(task, args=list(args), queue=self.queue)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        redis.Redis.from_url(REDIS_URL).delete(self.queue)


@pytest.fixture
def markers(tmp_path, monkeypatch):
    path = tmp_path / "markers"
    path.mkdir()
    monkeypatch.setenv("JIANGUAN_TEST_MARKERS", str(path))
    return path


@pytest.fixture
def cluster(app, engine, tmp_path, markers):
    require_redis()
    register_test_operations(engine)
    engine.wake = None       # the worker processes run async tasks here, not the test's own
    c = Cluster(engine.db.url, tmp_path, str(markers))
    yield c
    c.close()
