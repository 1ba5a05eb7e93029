"""Background work on Celery: `celery -A app worker` and `celery -A app beat`.

The Celery application is made by `create_app()` from the platform's settings (`make_celery`),
so the web process that sends a task and the worker that runs it read one broker, one queue
and one retry policy; nothing here reads the environment or runs at import. Without
CELERY_BROKER_URL nothing here is used: `flask serve` runs the same passes in-process
(integrations.scheduler.TimerThread).

Exactly once: the database decides, not the broker. Tasks are acknowledged late and requeued
when their worker dies (`task_acks_late`, `task_reject_on_worker_lost`), so a killed worker
loses nothing; what they do is one transaction that first claims its rows (FOR UPDATE SKIP
LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite: see engine.timers), so running a task twice
applies it once. No Redis locks: a lock with expiry can expire while its holder still works,
the row lock cannot outlive the transaction that writes.
"""
from __future__ import annotations

import logging
from typing import Callable

from celery import Celery
from celery.signals import worker_process_init
from engine.i18n import _

log = logging.getLogger(__name__)

RUN_ASYNC = "jianguan.run_async_service"


def make_celery(settings, engine) -> Celery:
    """A Celery application for this platform: broker, queue, beat schedule and tasks."""
    interval = settings.timer_interval
    visibility = settings.celery_visibility_timeout
    celery = Celery("jianguan", broker=settings.celery_broker_url, set_as_current=False)
    celery.conf.update(
        task_default_queue=settings.celery_queue,
        task_acks_late=True,                 # acknowledged after the work committed
        task_reject_on_worker_lost=True,     # a killed worker's task goes back to the queue
        worker_prefetch_multiplier=1,        # a worker holds one message at a time
        task_ignore_result=True,             # nobody waits for results: the database has them
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility,
            "unacked_restore_interval": max(1, int(min(10, visibility))),
            "unacked_restore_throttle": 1 if visibility < 60 else 10,
        },
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "fire-due-timers": {"task": "jianguan.fire_due_timers", "schedule": interval,
                                "options": {"expires": interval * 2}},
            "silent-devices": {"task": "jianguan.check_silent_devices", "schedule": 300.0,
                               "options": {"expires": 600}},
            "notifications": {"task": "jianguan.notifications", "schedule": interval,
                              "options": {"expires": interval * 2}},
            "analytics-rollup": {"task": "jianguan.analytics_rollup", "schedule": 60.0,
                                 "options": {"expires": 120}},
            "audit-anchor": {"task": "jianguan.anchor_audit",
                             "schedule": settings.audit_anchor_interval,
                             "options": {"expires": settings.audit_anchor_interval}},
        },
        # read by integrations.health.HeartbeatScheduler (beat's liveness key)
        jianguan_heartbeat_url=settings.heartbeat_redis_url,
    )
    _tasks(celery, settings, engine)

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_kwargs) -> None:
        # a prefork child must not share the parent's pooled database connections
        engine.db.engine.dispose(close=False)

    return celery


def waker(celery: Celery, queue: str) -> Callable[[str], None]:
    """engine.wake with a broker: run the instance's new async task on a worker now."""
    def wake(instance_id: str) -> None:
        celery.send_task(RUN_ASYNC, args=[instance_id], queue=queue)
    return wake


def run_passes(engine) -> dict:
    """The background passes of one tick (same as TimerThread.tick)."""
    from engine import schedules
    from engine.timers import fire_due

    fired = fire_due(engine)
    schedules.sync(engine)
    started = schedules.fire_due(engine)
    return {"fired": fired, "started": started}


def _tasks(celery: Celery, settings, engine) -> None:
    # shared=False: each Celery app has its own tasks bound to its own engine (a shared task
    # would reach the engine of the first app made in this process)
    @celery.task(name="jianguan.fire_due_timers", shared=False)
    def fire_due_timers() -> dict:
        """Beat, every timer_interval seconds. Any number may run at once."""
        result = run_passes(engine)
        if result["fired"] or result["started"]:
            log.info("timers fired %(fired)d, scheduled instances started %(started)d", result)
        return result

    @celery.task(name="jianguan.anchor_audit", shared=False)
    def anchor_audit() -> int | None:
        """Beat, every audit_anchor_interval seconds: a signed checkpoint of the audit head."""
        from engine.audit_anchor import write

        with engine.db.read() as conn:
            checkpoint = write(conn, settings.anchor_dir, engine.audit_key)
        return checkpoint.seq if checkpoint else None

    @celery.task(name="jianguan.check_silent_devices", shared=False)
    def check_silent_devices() -> int:
        """Every 5 minutes: dust and video devices silent for 3 days start a rectification."""
        from processes.alarms import check_silent

        return check_silent(engine)

    @celery.task(name=RUN_ASYNC, bind=True, max_retries=None, shared=False)
    def run_async_service(self, instance_id: str) -> list:
        """Run what is due on one instance now: sent after the commit that reached an async
        task (engine.wake), so the task does not wait for the next beat. A failing async task
        is pushed back in the database (attempts, due time, audit `job.failed`) and this task
        comes back when it is due; the engine opens the incident on the last attempt. An error
        outside the step (database unreachable) is retried here with the same policy, and
        leaves an incident when it outlasts the retries."""
        from engine.errors import Conflict, NotFound
        from engine.timers import JobPostponed, fire_instance, record_incident

        retries = settings.task_max_retries
        try:
            return fire_instance(engine, instance_id, actor="system:worker")
        except NotFound:
            return []
        except JobPostponed as postponed:
            raise self.retry(countdown=postponed.delay + 0.05)
        except Conflict as exc:
            raise self.retry(exc=exc, countdown=settings.backoff(0), max_retries=retries * 4)
        except Exception as exc:
            if self.request.retries >= retries:
                record_incident(engine, instance_id, "worker",
                                _("后台任务多次失败: {name}: {exc}").format(
                                    name=type(exc).__name__, exc=exc))
                return []
            raise self.retry(exc=exc, countdown=settings.backoff(self.request.retries))

    @celery.task(name="jianguan.notifications", shared=False)
    def send_notifications() -> dict:
        """Beat, every timer_interval seconds: notifications written and sent (outbox)."""
        from integrations.notify_channels import job

        return job(settings)(engine)

    @celery.task(name="jianguan.analytics_rollup", shared=False)
    def analytics_rollup() -> int:
        """Every minute: completed tasks folded into the analytics rollup (its watermark makes
        a second run at once a no-op)."""
        from processes.analytics import rollup_pass

        return rollup_pass(engine)

    @celery.task(name="jianguan.run_migration", shared=False)
    def run_migration(migration_id: int) -> dict:
        """A batch of instances moved to another process version (processes.migrations):
        each instance in its own transaction, so a requeued task finishes what is pending."""
        from processes.migrations import run

        return run(engine, migration_id)["counts"]

    @celery.task(name="jianguan.ping", shared=False)
    def ping() -> str:
        return "pong"
