"""Is each kind of process alive and able to work? Used by GET /healthz (web/health.py) and by
`flask --app app health --kind web|worker|beat|listener` (web/cli_ops.py).

- web: answers GET /healthz with 200, which it does only when the database, Redis and the
  broker it is configured with all answer.
- worker: a Celery control ping (broadcast over the broker) is answered by a worker.
- beat: beat runs with `-S integrations.health:HeartbeatScheduler`, which writes the Redis
  key `jianguan:beat:heartbeat` on every tick (at most HEARTBEAT_EVERY seconds apart).
- listener: the MQTT listener writes `jianguan:listener:heartbeat` the same way.
A heartbeat key holds the writer's Unix time in seconds (a decimal string); it is fresh when
at most `max_age` seconds old. A key without a number in it counts as fresh while it exists
(its writer is expected to give it an expiry).
"""
from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from celery.beat import PersistentScheduler

log = logging.getLogger(__name__)

BEAT_KEY = "jianguan:beat:heartbeat"
LISTENER_KEY = "jianguan:listener:heartbeat"
HEARTBEAT_EVERY = 5.0        # seconds between heartbeats at most
DEFAULT_MAX_AGE = 30.0       # a heartbeat older than this: the process is hung or gone
CHECK_TIMEOUT = 2.0          # seconds any one check may take

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


@dataclass
class Verdict:
    ok: bool
    detail: str


def redis_client(url: str):
    """One pooled client per URL, with short timeouts: a health check must answer quickly."""
    import redis

    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT,
                                          socket_timeout=CHECK_TIMEOUT)
            _clients[url] = client
        return client


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


# -- the web process: its dependencies ------------------------------------------------------

def check_database(db) -> None:
    """Raise when the database does not answer. Bounded on PostgreSQL by a statement timeout
    so a hung server gives a 503 rather than a hung health check."""
    from sqlalchemy import text

    if db.sqlite:
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
        return
    with db.write() as conn:        # SET LOCAL needs a transaction; reads run outside one
        conn.execute(text(f"SET LOCAL statement_timeout = {int(CHECK_TIMEOUT * 1000)}"))
        conn.execute(text("SELECT 1"))


def check_redis(url: str) -> None:
    redis_client(url).ping()


def check_broker(url: str) -> None:
    if url.startswith(("redis://", "rediss://", "unix://")):
        check_redis(url)
        return
    from kombu import Connection

    with Connection(url, connect_timeout=CHECK_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)


def web_parts(db, settings) -> tuple[dict[str, str], dict[str, str]]:
    """Each part's status ("ok", "down", or "off" when not configured) and the errors."""
    checks = {"database": lambda: check_database(db)}
    if settings.redis_url:
        checks["redis"] = lambda: check_redis(settings.redis_url)
    if settings.celery_broker_url:
        checks["broker"] = lambda: check_broker(settings.celery_broker_url)
    parts = {"database": "off", "redis": "off", "broker": "off"}
    errors: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            parts[name] = "ok"
        except Exception as exc:  # any failure is the answer, not a crash of the check
            parts[name] = "down"
            errors[name] = _short(exc)
    return parts, errors


def check_web(url: str, timeout: float = CHECK_TIMEOUT * 2) -> Verdict:
    target = url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as resp:
            body = resp.read().decode("utf-8", "replace")
            return Verdict(resp.status == 200, f"{target}: {resp.status} {body}")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        return Verdict(False, f"{target}: {exc.code} {body}")
    except Exception as exc:
        return Verdict(False, f"{target}: {_short(exc)}")


# -- workers: Celery control ping -----------------------------------------------------------

def check_worker(celery, timeout: float = CHECK_TIMEOUT,
                 destination: list[str] | None = None) -> Verdict:
    """A worker (or each named one) answers a control ping over the broker (`celery`: the
    app's Celery application, None without CELERY_BROKER_URL)."""
    if celery is None:
        return Verdict(False, "no CELERY_BROKER_URL: no Celery workers to ping")
    try:
        replies = celery.control.ping(timeout=timeout, destination=destination or None)
    except Exception as exc:
        return Verdict(False, f"broker unreachable: {_short(exc)}")
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return Verdict(False, f"no worker answered within {timeout:g} s")
    missing = sorted(set(destination or ()) - set(names))
    if missing:
        return Verdict(False, f"no answer from {', '.join(missing)} (answered: {names})")
    return Verdict(True, f"{len(names)} worker(s) answered: {', '.join(names)}")


# -- beat and the listener: heartbeat keys in Redis -----------------------------------------

def write_heartbeat(url: str, key: str, ttl: float = DEFAULT_MAX_AGE * 4) -> None:
    redis_client(url).set(key, f"{time.time():.3f}", ex=max(1, int(ttl)))


def heartbeat_age(url: str, key: str) -> float | None:
    """Seconds since the heartbeat (0 for a key without a time in it); None when absent."""
    value = redis_client(url).get(key)
    if value is None:
        return None
    try:
        return max(0.0, time.time() - float(value))
    except ValueError:
        return 0.0


def check_heartbeat(url: str | None, key: str, max_age: float = DEFAULT_MAX_AGE) -> Verdict:
    if not url:
        return Verdict(False, "no REDIS_URL or Redis CELERY_BROKER_URL: no heartbeat to read")
    try:
        age = heartbeat_age(url, key)
    except Exception as exc:
        return Verdict(False, f"Redis unreachable: {_short(exc)}")
    if age is None:
        return Verdict(False, f"no heartbeat: key {key} is absent")
    if age > max_age:
        return Verdict(False, f"heartbeat {key} is stale: {age:.0f} s old (> {max_age:g} s)")
    return Verdict(True, f"heartbeat {key} {age:.1f} s old")


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's file-backed scheduler, plus a heartbeat in Redis on each tick. The
    schedule file alone is no sign of life: beat rewrites it only every few minutes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # tick at least this often, so the heartbeat is fresh even with long periods
        self.max_interval = min(self.max_interval or HEARTBEAT_EVERY, HEARTBEAT_EVERY)
        self._redis_url = self.app.conf.get("jianguan_heartbeat_url")
        self._last_beat = 0.0

    def tick(self, *args, **kwargs):
        wait = super().tick(*args, **kwargs)
        now = time.monotonic()
        if self._redis_url and now - self._last_beat >= 1.0:
            try:
                write_heartbeat(self._redis_url, BEAT_KEY)
                self._last_beat = now
            except Exception as exc:   # Redis down: beat keeps scheduling, health says stale
                log.warning("beat heartbeat not written: %s", _short(exc))
        return min(wait, HEARTBEAT_EVERY)


def check(kind: str, settings, celery=None, url: str | None = None,
          timeout: float = CHECK_TIMEOUT, max_age: float = DEFAULT_MAX_AGE,
          destination: list[str] | None = None) -> Verdict:
    """The verdict for one kind of process, as `flask health --kind` prints it."""
    if kind == "web":
        return check_web(url or settings.health_url, timeout=timeout)
    if kind == "worker":
        return check_worker(celery, timeout=timeout, destination=destination)
    key = {"beat": BEAT_KEY, "listener": LISTENER_KEY}.get(kind)
    if key is None:
        return Verdict(False, f"unknown kind {kind!r}")
    return check_heartbeat(settings.heartbeat_redis_url, key, max_age=max_age)
