"""The one Celery application: `celery -A integrations.celery_app worker` and `... beat`.

Configured from the environment:
- CELERY_BROKER_URL, else REDIS_URL: the broker (Redis). Without either, nothing here is used:
  `flask serve` runs the same passes in-process (integrations.scheduler.TimerThread).
- DATABASE_URL and the rest of app.ENV_KEYS: read by create_app(), which builds the platform
  lazily, once per worker process, on the first task.
- JIANGUAN_CELERY_QUEUE (default "jianguan"), JIANGUAN_TIMER_INTERVAL (beat period, default 5 s),
  JIANGUAN_TASK_MAX_RETRIES (default 5), JIANGUAN_RETRY_BACKOFF (first back-off, default 2 s,
  doubling, capped at 300 s), JIANGUAN_CELERY_VISIBILITY_TIMEOUT (seconds before a message a
  dead worker took is handed to another worker; default 3600), JIANGUAN_EXTRA_OPERATIONS
  (comma-separated modules with `register(registry)`: further service operations, e.g. tests').

Exactly once: the database decides, not the broker. Tasks are acknowledged late and requeued
when their worker dies (`task_acks_late`, `task_reject_on_worker_lost`), so a killed worker
loses nothing; what they do is one transaction that first claims its rows (FOR UPDATE SKIP
LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite: see engine.timers), so running a task twice
applies it once. No Redis locks: a lock with expiry can expire while its holder still works,
the row lock cannot outlive the transaction that writes.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading

from celery import Celery

log = logging.getLogger(__name__)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or None
QUEUE = os.environ.get("JIANGUAN_CELERY_QUEUE", "jianguan")
TIMER_INTERVAL = _env_float("JIANGUAN_TIMER_INTERVAL", 5.0)
MAX_RETRIES = int(_env_float("JIANGUAN_TASK_MAX_RETRIES", 5))
BACKOFF = _env_float("JIANGUAN_RETRY_BACKOFF", 2.0)
MAX_BACKOFF = 300.0
VISIBILITY_TIMEOUT = _env_float("JIANGUAN_CELERY_VISIBILITY_TIMEOUT", 3600)

app = Celery("jianguan", broker=BROKER_URL or "memory://", set_as_current=True)
app.conf.update(
    task_default_queue=QUEUE,
    task_acks_late=True,                 # acknowledged after the work committed
    task_reject_on_worker_lost=True,     # a killed worker's task goes back to the queue
    worker_prefetch_multiplier=1,        # a worker holds one message at a time
    task_ignore_result=True,             # nobody waits for results: the database has them
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "unacked_restore_interval": max(1, int(min(10, VISIBILITY_TIMEOUT))),
        "unacked_restore_throttle": 1 if VISIBILITY_TIMEOUT < 60 else 10,
    },
    timezone="UTC",
    enable_utc=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "fire-due-timers": {"task": "jianguan.fire_due_timers", "schedule": TIMER_INTERVAL,
                            "options": {"expires": TIMER_INTERVAL * 2}},
        "silent-devices": {"task": "jianguan.check_silent_devices", "schedule": 300.0,
                           "options": {"expires": 600}},
        "generate-documents": {"task": "jianguan.generate_documents",
                               "schedule": TIMER_INTERVAL,
                               "options": {"expires": TIMER_INTERVAL * 2}},
    },
)

_lock = threading.Lock()
_flask = None


def flask_app():
    """The platform, built on first use in this process (after a prefork child started)."""
    global _flask
    with _lock:
        if _flask is None:
            from app import create_app

            built = create_app()
            engine = built.extensions["jianguan.engine"]
            for name in filter(None, os.environ.get("JIANGUAN_EXTRA_OPERATIONS", "").split(",")):
                importlib.import_module(name.strip()).register(engine.services)
            _flask = built
        return _flask


def engine():
    return flask_app().extensions["jianguan.engine"]


def backoff(retries: int) -> float:
    return min(MAX_BACKOFF, BACKOFF * (2 ** retries))


def run_passes(eng) -> dict:
    """The background passes of one tick (same as TimerThread.tick)."""
    from engine import schedules
    from engine.timers import fire_due

    fired = fire_due(eng)
    schedules.sync(eng)
    started = schedules.fire_due(eng)
    return {"fired": fired, "started": started}


@app.task(name="jianguan.fire_due_timers")
def fire_due_timers() -> dict:
    """Beat, every JIANGUAN_TIMER_INTERVAL seconds. Any number may run at once."""
    result = run_passes(engine())
    if result["fired"] or result["started"]:
        log.info("timers fired %(fired)d, scheduled instances started %(started)d", result)
    return result


@app.task(name="jianguan.generate_documents")
def generate_documents() -> None:
    from processes.documents import generate_pending

    generate_pending(engine())


@app.task(name="jianguan.check_silent_devices")
def check_silent_devices() -> int:
    """Every 5 minutes: dust and video devices silent for 3 days start a rectification."""
    from processes.alarms import check_silent

    return check_silent(engine())


@app.task(name="jianguan.run_async_service", bind=True, max_retries=None)
def run_async_service(self, instance_id: str) -> list:
    """Run what is due on one instance now: sent after the commit that reached an async task
    (engine.wake), so the task does not wait for the next beat. A failing async task is
    pushed back in the database (attempts, due time, audit `job.failed`) and this task comes
    back when it is due; the engine opens the incident on the last attempt. An error outside
    the step (database unreachable) is retried here, and leaves an incident when it outlasts
    the retries."""
    from engine.errors import Conflict, NotFound
    from engine.timers import JobPostponed, fire_instance, record_incident

    eng = engine()
    try:
        return fire_instance(eng, instance_id, actor="system:worker")
    except NotFound:
        return []
    except JobPostponed as postponed:
        raise self.retry(countdown=postponed.delay + 0.05)
    except Conflict as exc:
        raise self.retry(exc=exc, countdown=backoff(0), max_retries=MAX_RETRIES * 4)
    except Exception as exc:
        if self.request.retries >= MAX_RETRIES:
            record_incident(eng, instance_id, "worker",
                            f"后台任务多次失败 (background task failed): {type(exc).__name__}: {exc}")
            return []
        raise self.retry(exc=exc, countdown=backoff(self.request.retries))


def wake(instance_id: str) -> None:
    """engine.wake with a broker: run the instance's new async task on a worker."""
    run_async_service.apply_async(args=[instance_id], queue=QUEUE)


@app.task(name="jianguan.ping")
def ping() -> str:
    return "pong"
