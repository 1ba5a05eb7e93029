"""Process analytics over a large history: 1,000,000 completed tasks (history events) in 200
processes' worth of instances across 5 districts, 50 enterprises and 40 inspectors over a
year; the incremental rollup reads them once (rows/s printed), then the analytics page's
questions are timed: the element heat map of one process over the year, the slowest
districts, the enterprises with the most send-backs, the inspectors, the process list, and a
rollup pass with nothing new (what every page load pays). Goal (issue 17): each < 1 s.

    .venv/bin/python bench/analytics.py [--events 1000000] [--db sqlite:///path]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

DISTRICTS = ["禅城区", "南海区", "顺德区", "高明区", "三水区"]
ELEMENTS = [("draft", "起草通知", "inspector"), ("reply", "整改回复", "contractor"),
            ("review", "复查", "inspector"), ("sign", "签发", "leader"),
            ("archive", "归档", "inspector")]


def populate(db, events: int, end: datetime) -> None:
    from sqlalchemy import insert

    from engine.schema import definitions, instances, tasks
    from processes.schema import enterprises, projects, users

    rnd = random.Random(17)
    with db.write() as conn:
        conn.execute(insert(definitions).values(
            id=1, kind="bpmn", key="rectification", version=1, name="整改", file_name="r.bpmn",
            sha256="0" * 64, source="", compiled=None, meta={}, deployed_at=end,
            deployed_by="bench"))
        conn.execute(insert(enterprises), [dict(code=f"E{i:03d}", name=f"施工企业{i:03d}",
                                                kind="contractor", score=0) for i in range(50)])
        conn.execute(insert(users), [dict(username=f"insp{i:02d}", display_name=f"监督员{i:02d}",
                                          password_hash="x", role="inspector",
                                          district=DISTRICTS[i % 5], active=True,
                                          created_at=end) for i in range(40)])
        conn.execute(insert(projects), [dict(code=f"P{i:04d}", name=f"项目{i}",
                                             district=DISTRICTS[i % 5],
                                             contractor_code=f"E{i % 50:03d}", status="在建",
                                             extra={}) for i in range(1000)])
    per_instance = len(ELEMENTS)
    made, started = 0, time.perf_counter()
    while made < events:
        inst_rows, task_rows = [], []
        for _ in range(2000):
            if made >= events:
                break
            iid = str(uuid.uuid4())
            project = f"P{rnd.randrange(1000):04d}"
            at = end - timedelta(days=rnd.uniform(1, 365))
            inst_rows.append(dict(id=iid, definition_id=1, process_key="rectification",
                                  version=1, business_key=project, scope_key=project,
                                  state="completed", lock_version=1, blob=b"", variables={},
                                  started_by="bench", started_at=at, updated_at=at))
            inspector = f"insp{rnd.randrange(40):02d}"
            for element, name, role in ELEMENTS:
                rounds = 2 if element in ("reply", "review") and rnd.random() < 0.15 else 1
                for _ in range(rounds):
                    hours = rnd.lognormvariate(3 if role == "contractor" else 1, 1)
                    ended = at + timedelta(hours=hours)
                    task_rows.append(dict(
                        id=str(uuid.uuid4()), instance_id=iid, process_key="rectification",
                        element_id=element, name=name, lane=role, role=role,
                        scope_key=project, state="completed", created_at=at, ended_at=ended,
                        due_at=at + timedelta(days=3) if role == "contractor" else None,
                        ended_by=inspector if role == "inspector" else "someone"))
                    at = ended
                    made += 1
        with db.write() as conn:
            conn.execute(insert(instances), inst_rows)
            conn.execute(insert(tasks), task_rows)
    print(f"history: {made:,} completed tasks in {made // per_instance:,}-odd instances "
          f"written in {time.perf_counter() - started:.1f} s")


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    ms = (time.perf_counter() - started) * 1000
    print(f"  {label:<46} {ms:8.1f} ms {'ok' if ms < 1000 else 'SLOW (goal < 1 s)'}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a temp SQLite)")
    args = parser.parse_args()

    from engine.clock import clock
    from engine.core import Engine
    from engine.db import Database
    from processes import analytics
    from processes.migrate import upgrade

    tmp = tempfile.mkdtemp(prefix="jianguan-analytics-")
    db = Database(args.db or f"sqlite:///{tmp}/bench.db")
    upgrade(db)
    engine = Engine(db)
    end = datetime(2026, 12, 1, tzinfo=timezone.utc)
    clock.freeze(end + timedelta(days=2))
    populate(db, args.events, end)

    started = time.perf_counter()
    read = analytics.rollup(engine)
    seconds = time.perf_counter() - started
    print(f"rollup (first, from nothing): {read:,} rows in {seconds:.1f} s = "
          f"{read / seconds:,.0f} rows/s")
    with db.engine.connect() as conn:
        from sqlalchemy import func, select
        from processes.schema import analytics_rollup
        rows = conn.execute(select(func.count()).select_from(analytics_rollup)).scalar_one()
    print(f"rollup table: {rows:,} rows for {args.events:,} history events")
    days = ("2025-12-01", "2026-12-01")
    print("page questions over one year:")
    with db.engine.connect() as conn:
        timed("element heat map (one process)",
              lambda: analytics.element_stats(conn, "rectification", days))
        timed("element heat map, one district",
              lambda: analytics.element_stats(conn, "rectification", days, "district", "南海区"))
        timed("slowest districts", lambda: analytics.ranking(conn, "district", days))
        timed("enterprises by send-backs",
              lambda: analytics.ranking(conn, "enterprise", days, sort="rework"))
        timed("inspectors", lambda: analytics.ranking(conn, "inspector", days))
        timed("processes", lambda: analytics.process_stats(conn, days))
    timed("rollup pass with nothing new", lambda: analytics.rollup_pass(engine))
    engine.close()


if __name__ == "__main__":
    main()
