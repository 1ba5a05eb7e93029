"""Engine throughput against raw SpiffWorkflow, measured in the same run.

One BPMN (start, two user tasks in different lanes, an exclusive gateway with a loop back, a
message boundary event) is run to completion N times:
  raw       SpiffWorkflow in memory, nothing stored
  raw+json  SpiffWorkflow with a JSON serialize/deserialize round trip after each step
  engine    our engine: every step a committed transaction (workflow, task projection,
            subscriptions, timers, audit chain), on a SQLite file and on PostgreSQL
Each instance takes the loop once (draft, reply rejected, draft, reply accepted): 4 user steps.

    .venv/bin/python bench/engine.py [--count 1000] [--pg URL] [--no-pg]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

# This file is named engine.py too: drop its folder from the path so `engine` is the package.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.dirname(HERE))

BPMN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "engine",
                    "processes", "two_lanes.bpmn")
STEPS = [("draft", {}), ("reply", {"accepted": False}), ("draft", {}), ("reply", {"accepted": True})]
PROJECT = "FS-CC-2026-001"


def raw(count: int, round_trip: bool) -> float:
    import logging
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.task import TaskState

    logging.getLogger("spiff").setLevel(logging.WARNING)
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(BPMN)
    spec = parser.get_spec("two_lanes")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    began = time.perf_counter()
    for _ in range(count):
        wf = BpmnWorkflow(spec)
        wf.get_tasks(state=TaskState.READY)[0].set_data(project_code=PROJECT)
        wf.do_engine_steps()
        for element, data in STEPS:
            if round_trip:
                wf = serializer.deserialize_json(serializer.serialize_json(wf))
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            assert task.task_spec.bpmn_id == element
            task.set_data(**data)
            task.run()
            wf.do_engine_steps()
        assert wf.completed
    return count / (time.perf_counter() - began)


def engine_run(url: str, count: int) -> float:
    from engine import instances, tasks
    from engine.compiler import SourceFile
    from engine.core import Engine
    from engine.db import Database
    from engine.deploy import deploy
    from processes.policy import role_of_lane, scope_of
    from processes.migrate import upgrade

    db = Database(url)
    upgrade(db)
    engine = Engine(db=db, role_of=role_of_lane, scope_of=scope_of)
    with open(BPMN, "rb") as fh:
        with engine.unit("bench") as unit:
            deploy(unit, [SourceFile("two_lanes.bpmn", fh.read())])
    from SpiffWorkflow.task import TaskState

    def next_task(handle) -> str:
        return str(handle.wf.get_tasks(state=TaskState.READY, manual=True)[0].id)

    began = time.perf_counter()
    for _ in range(count):
        with engine.unit("bench") as unit:
            handle = instances.start(engine, unit, "two_lanes", PROJECT,
                                     {"project_code": PROJECT})
        for element, data in STEPS:
            with engine.unit("bench") as unit:
                handle = tasks.complete(engine, unit, next_task(handle), data)
    rate = count / (time.perf_counter() - began)
    engine.close()
    return rate


def fresh_pg_url(base: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS jianguan_bench CASCADE"))
        conn.execute(text("CREATE SCHEMA jianguan_bench"))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3Djianguan_bench"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    results = {"raw SpiffWorkflow (memory)": raw(args.count, False),
               "raw SpiffWorkflow + JSON round trip": raw(args.count, True)}
    with tempfile.TemporaryDirectory() as tmp:
        results["engine, SQLite file"] = engine_run(f"sqlite:///{tmp}/bench.db", args.count)
    if not args.no_pg:
        results["engine, PostgreSQL"] = engine_run(fresh_pg_url(args.pg), args.count)
    base = results["raw SpiffWorkflow (memory)"]
    print(f"{args.count} instances, {len(STEPS)} user steps each, every engine step committed")
    print(f"{'run':40} {'instances/s':>12} {'ratio to raw':>13}")
    for name, rate in results.items():
        print(f"{name:40} {rate:12.1f} {rate / base:13.3f}")


if __name__ == "__main__":
    main()
