"""Engine throughput against raw SpiffWorkflow, measured in the same run.

One BPMN (start, two user tasks in different lanes, an exclusive gateway with a loop back, a
message boundary event) is run to completion N times:
  raw       SpiffWorkflow in memory, nothing stored
  raw+json  SpiffWorkflow with a JSON serialize/deserialize round trip after each step
  engine    our engine: every step a committed transaction (workflow, task projection,
            subscriptions, timers, audit chain), on a SQLite file and on PostgreSQL
Each instance takes the loop once (draft, reply rejected, draft, reply accepted): 4 user steps.
Growth: the cost of one step of an instance that already completed 500 user tasks (250 rounds
of the loop) divided by the cost of one with 10, through the same engine.
Goals (issue 18): engine >= 0.25 of raw on SQLite, >= 0.15 on PostgreSQL; growth <= 2.

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


def raw(round_trip: bool, steps: list[tuple[str, dict]] = STEPS):
    """A function running n instances in raw SpiffWorkflow, completing `steps` (element,
    data) in order; returns the seconds it took."""
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

    def run(count: int) -> float:
        began = time.perf_counter()
        for _ in range(count):
            wf = BpmnWorkflow(spec)
            wf.get_tasks(state=TaskState.READY)[0].set_data(project_code=PROJECT)
            wf.do_engine_steps()
            for element, data in steps:
                if round_trip:
                    wf = serializer.deserialize_json(serializer.serialize_json(wf))
                task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
                assert task.task_spec.bpmn_id == element
                task.set_data(**data)
                task.run()
                wf.do_engine_steps()
            assert wf.completed
        return time.perf_counter() - began
    return run


class EngineRun:
    """The engine on one database: `run(n)` runs n instances and returns the seconds it took;
    it counts SQL statements and deserializations; `growth()` compares one step's cost."""

    def __init__(self, url: str):
        from sqlalchemy import event

        from engine.compiler import SourceFile
        from engine.core import Engine
        from engine.db import Database
        from engine.deploy import deploy
        from processes.policy import role_of_lane, scope_of
        from processes.migrate import upgrade

        db = Database(url)
        upgrade(db)
        self.engine = Engine(db=db, role_of=role_of_lane, scope_of=scope_of)
        with open(BPMN, "rb") as fh:
            with self.engine.unit("bench") as unit:
                deploy(unit, [SourceFile("two_lanes.bpmn", fh.read())])
        self.statements = self.steps = self.loads = 0

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(*_args):
            self.statements += 1

    def start(self):
        from engine import instances

        with self.engine.unit("bench") as unit:
            return instances.start(self.engine, unit, "two_lanes", PROJECT,
                                   {"project_code": PROJECT})

    def step(self, handle, data):
        from SpiffWorkflow.task import TaskState

        from engine import tasks

        task_id = str(handle.wf.get_tasks(state=TaskState.READY, manual=True)[0].id)
        with self.engine.unit("bench") as unit:
            return tasks.complete(self.engine, unit, task_id, data)

    def run(self, count: int) -> float:
        from engine.serializer import counts

        statements, loads = self.statements, counts["loads"]
        began = time.perf_counter()
        for _ in range(count):
            handle = self.start()
            for _element, data in STEPS:
                handle = self.step(handle, data)
        seconds = time.perf_counter() - began
        self.steps += count * (len(STEPS) + 1)
        self.loads += counts["loads"] - loads
        self.counted = self.statements - statements
        return seconds

    def growth(self) -> dict:
        def rounds(handle, n: int):
            for _ in range(n):
                handle = self.step(self.step(handle, {}), {"accepted": False})
            return handle

        handles = {"small": rounds(self.start(), 5),      # 10 user tasks completed
                   "large": rounds(self.start(), 250)}    # 500 user tasks completed
        spent = {"small": 0.0, "large": 0.0}
        for _ in range(30):              # alternating, so that the machine's load is shared
            for size, handle in handles.items():
                began = time.perf_counter()
                handles[size] = rounds(handle, 1)
                spent[size] += time.perf_counter() - began
        small, large = spent["small"] / 60, spent["large"] / 60
        return {"step_small_ms": small * 1000, "step_large_ms": large * 1000,
                "growth": large / small}

    def close(self) -> None:
        self.engine.close()


def measure(url: str, count: int, chunks: int = 10) -> dict:
    """Raw and the engine in alternating chunks, so that a change in the machine's load
    during the run weighs on both alike."""
    engine, base = EngineRun(url), raw(False)
    engine.run(5)                                      # warm-up
    engine.statements = engine.steps = engine.loads = 0
    size = max(1, count // chunks)
    raw_s = engine_s = 0.0
    for _ in range(chunks):
        raw_s += base(size)
        engine_s += engine.run(size)
    done = size * chunks
    result = {"raw": done / raw_s, "rate": done / engine_s,
              "statements": engine.statements / engine.steps,
              "loads": engine.loads / engine.steps, **engine.growth()}
    engine.close()
    return result


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
    round_trip = args.count / raw(True)(args.count)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs["engine, SQLite file"] = (measure(f"sqlite:///{tmp}/bench.db", args.count), 0.25)
    if not args.no_pg:
        runs["engine, PostgreSQL"] = (measure(fresh_pg_url(args.pg), args.count), 0.15)
    print(f"{args.count} instances, {len(STEPS)} user steps each, every engine step committed; "
          f"raw and engine measured in alternating chunks")
    print(f"{'run':38} {'instances/s':>11} {'ratio':>7} {'goal':>7} {'SQL/step':>9} "
          f"{'deser./step':>11}")
    for name, (r, goal) in runs.items():
        ratio = r["rate"] / r["raw"]
        print(f"{'raw SpiffWorkflow (memory), beside it':38} {r['raw']:11.1f} {1:7.4f}")
        print(f"{name:38} {r['rate']:11.1f} {ratio:7.4f} {'>=' + str(goal):>7} "
              f"{r['statements']:9.1f} {r['loads']:11.2f}  {'met' if ratio >= goal else 'NOT met'}")
    first = next(iter(runs.values()))[0]["raw"]
    print(f"{'raw SpiffWorkflow + JSON round trip':38} {round_trip:11.1f} "
          f"{round_trip / first:7.4f}")
    print()
    print(f"{'growth: one step after 500 vs 10 tasks':38} {'10 (ms)':>9} {'500 (ms)':>9} "
          f"{'ratio':>6} {'goal':>6}")
    for name, (r, _goal) in runs.items():
        print(f"{name:38} {r['step_small_ms']:9.2f} {r['step_large_ms']:9.2f} "
              f"{r['growth']:6.2f} {'<=2':>6}  {'met' if r['growth'] <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
