"""The production topology as real OS processes, for the system test and bench/load.py.

Each process is started from its Procfile line (so the Procfile itself is what is tested),
by bash with the project's .venv first on PATH, in its own session so a SIGKILL takes its
children (a prefork pool) with it, as when a machine or container dies. Everything is fresh
and private to one run: a PostgreSQL database (created here, dropped at the end), a Redis
database number nobody else uses (claimed with a key, flushed at the end), a Celery queue, a
web port, a working folder (var/ lives there, not in the repository)."""
from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("JIANGUAN_TEST_DATABASE_URL",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("JIANGUAN_TEST_REDIS", "redis://127.0.0.1:6379")
MQTT_URL = os.environ.get("JIANGUAN_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
CLAIM_KEY = "jianguan:topology:claimed-by"
SKIP_REDIS_DBS = {0, 13}          # 0: a developer's `make run-services`; 13: tests/workers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    lines = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            lines[match.group(1)] = match.group(2)
    return lines


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def claim_redis_db(owner: str) -> int:
    """An empty Redis database number, claimed so a concurrent run does not take it too."""
    import redis

    for db in range(1, 16):
        if db in SKIP_REDIS_DBS:
            continue
        client = redis.Redis.from_url(f"{REDIS_BASE}/{db}", socket_connect_timeout=2)
        if client.dbsize() == 0 and client.set(CLAIM_KEY, owner, nx=True, ex=4 * 3600):
            return db
    raise AssertionError("no empty Redis database among 1-15 to run the topology on")


class Topology:
    def __init__(self, workdir: Path, label: str = "sys", extra_env: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.owner = f"{label}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.db_name = f"jianguan_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.database_url = _with_database(PG_BASE, self.db_name)
        self.redis_db: int | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.commands = procfile()
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.env = {**os.environ,
                    "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "TZ": "UTC",
                    "DATABASE_URL": self.database_url, "MQTT_URL": MQTT_URL,
                    "SECRET_KEY": secrets.token_hex(16), "PORT": str(self.port),
                    "JIANGUAN_CELERY_QUEUE": f"jianguan-{self.owner}",
                    "JIANGUAN_BEAT_SCHEDULE": str(self.workdir / "celerybeat-schedule"),
                    "JIANGUAN_WEB_URL": self.base_url,
                    # a topic prefix and a client id of our own: runs can share the broker
                    "MQTT_TOPIC_PREFIX": f"jg-{self.owner}", "MQTT_CLIENT_ID": f"lst-{self.owner}",
                    "FLASK_APP": "app", **(extra_env or {})}
        for key in ("CELERY_BROKER_URL", "REDIS_URL", "JIANGUAN_EXTRA_OPERATIONS"):
            self.env.pop(key, None)

    # -- servers ----------------------------------------------------------------------------
    def create(self) -> None:
        self.redis_db = claim_redis_db(self.owner)
        redis_url = f"{REDIS_BASE}/{self.redis_db}"
        self.env.update(CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url)
        self.flask("create-database")
        self.flask("setup", timeout=600)

    def destroy(self) -> None:
        self.stop_all()
        from sqlalchemy import create_engine, text

        admin = create_engine(_with_database(PG_BASE, "postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name AND pid <> pg_backend_pid()"),
                             {"name": self.db_name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}"'))
        finally:
            admin.dispose()
        if self.redis_db is not None:
            import redis
            client = redis.Redis.from_url(self.env["REDIS_URL"], socket_connect_timeout=2)
            if client.get(CLAIM_KEY) in (self.owner.encode(), None):
                client.flushdb()
        clear_mqtt_session(self.env["MQTT_URL"], self.env["MQTT_CLIENT_ID"])

    def query(self, sql: str, **params) -> list:
        """Read the topology's database directly (what the processes wrote)."""
        from sqlalchemy import create_engine, text

        eng = create_engine(self.database_url)
        try:
            with eng.connect() as conn:
                return conn.execute(text(sql), params).all()
        finally:
            eng.dispose()

    # -- processes --------------------------------------------------------------------------
    def flask(self, *args: str, timeout: float = 300, check: bool = True
              ) -> subprocess.CompletedProcess:
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", *args],
                              cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"flask {' '.join(args)} exited {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done

    def start(self, name: str, kind: str | None = None, env: dict | None = None
              ) -> subprocess.Popen:
        """Start the Procfile line `kind` (default: name) as process `name`; its log goes to
        workdir/name.log (appended to across restarts). Its database sessions carry the
        application_name `name` (PGAPPNAME), so a test can tell whose session holds what."""
        command = self.commands[kind or name]
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "a") as fh:
            fh.write(f"\n=== start {name}: {command}\n")
            fh.flush()
            proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.workdir,
                                    env={**self.env, "PGAPPNAME": name, **(env or {})}, stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name], self.logs[name] = proc, log_path
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(30)

    def signal(self, name: str, sig: int) -> None:
        """Send a signal to the whole process group (e.g. SIGSTOP / SIGCONT a worker)."""
        os.killpg(self.procs[name].pid, sig)

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def stop_all(self, timeout: float = 20) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            try:   # whatever is left of its session (pool children)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.poll() is None:
                proc.wait(10)

    def health(self, kind: str) -> bool:
        return self.flask("health", "--kind", kind, check=False, timeout=60).returncode == 0

    def wait_healthy(self, *kinds: str, timeout: float = 90) -> None:
        for kind in kinds:
            wait_until(lambda: self.health(kind), timeout, f"{kind} healthy",
                       step=0.5, on_timeout=self.log_dump)

    # -- diagnostics ------------------------------------------------------------------------
    def log(self, name: str) -> str:
        path = self.logs.get(name)
        return path.read_text(errors="replace") if path and path.exists() else ""

    def log_dump(self, tail: int = 6000) -> str:
        parts = []
        for name in self.logs:
            state = "running" if self.alive(name) else f"exited {self.procs[name].returncode}"
            parts.append(f"----- {name} ({state}) -----\n{self.log(name)[-tail:]}")
        return "\n".join(parts)


def clear_mqtt_session(url: str, client_id: str) -> None:
    """Drop the persistent session a listener left on the broker (clean start, no expiry)."""
    import paho.mqtt.client as mqtt

    parts = urlsplit(url)
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.on_connect = lambda *_: done.set()
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, clean_start=True)
    client.loop_start()
    try:
        if not done.wait(30):        # a real event: the broker's CONNACK
            raise AssertionError(f"could not clear the MQTT session {client_id} on {url}")
    finally:
        client.disconnect()
        client.loop_stop()
