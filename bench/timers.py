"""Timer lateness under load: the time from a timer's due time to its `timer.fired` event.

10,000 timers stay armed (due after the run) while --rate timers (default 100) come due per
second for --seconds; each due timer is an instance waiting on a timer intermediate event.
Lateness = the audit event's time - the due time; a timer not fired by the end counts as
missed. Run three ways:
  embedded   the `flask serve` thread (integrations.scheduler.TimerThread, a pass every
             --interval seconds and at once when woken) in this process, on a SQLite file
             and on PostgreSQL
  celery     the Procfile's worker (2 pool processes) and beat (a pass every --interval
             seconds) as separate processes on PostgreSQL and the machine's Redis
Instances are armed in bulk: one is started through the engine, then copied row by row with
its due time rewritten (blob and timers row), as bench/load.py copies real instances.
Goal (issue 18): p99 < 1 s.

    .venv/bin/python bench/timers.py [--seconds 30] [--rate 100] [--armed 10000]
                                     [--interval 0.5] [--no-celery]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

from bench.pg import fresh_schema  # noqa: E402

PG = os.environ.get("JIANGUAN_TEST_DATABASE_URL",
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SENTINEL = "2099-01-01T00:00:00+00:00"
BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="bench_timer" name="bench timer" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDate>due</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""
GOAL_P99 = 1.0


def new_engine(url: str):
    from engine.core import Engine
    from engine.db import Database
    from processes.migrate import upgrade

    db = Database(url)
    upgrade(db)
    return Engine(db=db)


def arm(engine, seconds: float, rate: float, armed: int, margin: float) -> dict[str, datetime]:
    """Start one instance, copy it: rate*seconds due during the run from now+margin, `armed`
    due an hour after it. Returns instance id -> due time of those due during the run."""
    from sqlalchemy import insert, select, text as sql

    from engine import instances as commands
    from engine.compiler import SourceFile
    from engine.deploy import deploy
    from engine.schema import instances, timers

    with engine.unit("bench") as unit:
        deploy(unit, [SourceFile("bench_timer.bpmn", BPMN)])
    with engine.unit("bench") as unit:
        template_id = commands.start(engine, unit, "bench_timer", None, {"due": SENTINEL}).id
    with engine.db.read() as conn:
        row = conn.execute(select(instances).where(instances.c.id == template_id)).first()
        timer = conn.execute(select(timers).where(timers.c.instance_id == template_id)).first()
    text = zlib.decompress(row.blob).decode()
    assert SENTINEL in text, "the timer's due time is not in the blob as written"
    base = {k: v for k, v in row._mapping.items() if k not in ("id", "blob")}

    def copy(due: datetime, blob: bytes) -> tuple[dict, dict]:
        iid = str(uuid.uuid4())
        return ({**base, "id": iid, "blob": blob, "variables": {"due": due.isoformat()}},
                {"instance_id": iid, "task_id": timer.task_id, "element_id": timer.element_id,
                 "kind": timer.kind, "due_at": due, "attempts": 0})

    t0 = datetime.now(timezone.utc) + timedelta(seconds=margin)
    later = t0 + timedelta(seconds=seconds + 3600)
    later_blob = zlib.compress(text.replace(SENTINEL, later.isoformat()).encode(), 1)
    due_rows, due_at = [], {}
    for i in range(int(seconds * rate)):
        due = t0 + timedelta(seconds=i / rate)
        inst, tmr = copy(due, zlib.compress(text.replace(SENTINEL, due.isoformat()).encode(), 1))
        due_rows.append((inst, tmr))
        due_at[inst["id"]] = due
    far_rows = [copy(later + timedelta(seconds=i / rate), later_blob) for i in range(armed)]
    with engine.db.write() as conn:
        for chunk in range(0, len(due_rows) + len(far_rows), 2000):
            part = (due_rows + far_rows)[chunk:chunk + 2000]
            conn.execute(insert(instances), [r[0] for r in part])
            conn.execute(insert(timers), [r[1] for r in part])
    if engine.db.engine.dialect.name == "postgresql":
        # what autovacuum does soon after a bulk load: planned on an empty table's statistics,
        # the claim scans every timer instead of walking the due_at index
        with engine.db.write() as conn:
            conn.execute(sql("ANALYZE timers"))
            conn.execute(sql("ANALYZE instances"))
    if datetime.now(timezone.utc) > t0:
        raise SystemExit(f"arming took longer than --margin {margin:g} s: raise it")
    return due_at


def lateness(engine, due_at: dict[str, datetime]) -> tuple[list[float], int]:
    from sqlalchemy import select

    from engine.schema import audit_events

    with engine.db.read() as conn:
        rows = conn.execute(select(audit_events.c.instance_id, audit_events.c.at)
                            .where(audit_events.c.kind == "timer.fired")).all()
    late = [(r.at - due_at[r.instance_id]).total_seconds() for r in rows
            if r.instance_id in due_at]
    return late, len(due_at) - len(late)


def wait_until(moment: datetime) -> None:
    threading.Event().wait(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()))


def fired_count(engine, due_at) -> int:
    return len(lateness(engine, due_at)[0])


def drain(engine, due_at: dict, seconds: float, grace: float) -> None:
    """Wait for the run's last due time, then until all fired or `grace` seconds passed."""
    wait_until(max(due_at.values()))
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and fired_count(engine, due_at) < len(due_at):
        threading.Event().wait(0.5)


def embedded(url: str, args) -> tuple[list[float], int]:
    from integrations.scheduler import TimerThread

    engine = new_engine(url)
    due_at = arm(engine, args.seconds, args.rate, args.armed, args.margin)
    thread = TimerThread(engine, interval=args.interval).start()
    try:
        drain(engine, due_at, args.seconds, args.grace)
    finally:
        thread.stop()
    result = lateness(engine, due_at)
    engine.close()
    return result


def celery(args) -> tuple[list[float], int]:
    from tests.system.topology import Topology
    from tests.waiting import wait_until as wait_for

    with tempfile.TemporaryDirectory() as tmp:
        topo = Topology(Path(tmp), label="timers", extra_env={
            "JIANGUAN_TIMER_INTERVAL": str(args.interval), "WORKER_NICE": "0"})
        try:
            topo.create()
            engine = new_engine(topo.database_url)
            due_at = arm(engine, args.seconds, args.rate, args.armed, args.margin)
            topo.start("worker")
            topo.start("beat")
            wait_for(lambda: topo.health("worker"), 90, "the worker", step=0.5,
                     on_timeout=topo.log_dump)
            drain(engine, due_at, args.seconds, args.grace)
            result = lateness(engine, due_at)
            engine.close()
            return result
        finally:
            topo.destroy()


def line(name: str, late: list[float], missed: int) -> str:
    if len(late) < 2:
        return f"{name:34} {len(late):6d} {missed:6d}   (too few fired to measure)"
    q = statistics.quantiles(late, n=100)
    p99 = q[98] if not missed else float("inf")
    verdict = "met" if p99 < GOAL_P99 else "NOT met"
    return (f"{name:34} {len(late):6d} {missed:6d} {q[49]:7.3f} {q[94]:7.3f} {q[98]:7.3f} "
            f"{max(late):7.3f}   p99 < {GOAL_P99:g} s: {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--armed", type=int, default=10_000)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--margin", type=float, default=30, help="seconds to arm before the first due")
    ap.add_argument("--grace", type=float, default=30, help="seconds to wait after the last due")
    ap.add_argument("--no-celery", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    results = {}
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results["embedded, SQLite"] = embedded(f"sqlite:///{tmp}/timers.db", args)
    results["embedded, PostgreSQL"] = embedded(fresh_schema(PG, "jianguan_bench_timers"), args)
    if not args.no_celery:
        results["Celery (worker x2, beat), PostgreSQL"] = celery(args)
    print(f"{args.armed} timers armed, {args.rate:g} due per second for {args.seconds:g} s, "
          f"a pass every {args.interval:g} s; lateness = timer.fired - due, seconds")
    print(f"{'run':34} {'fired':>6} {'missed':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
    for name, (late, missed) in results.items():
        print(line(name, late, missed))


if __name__ == "__main__":
    main()
