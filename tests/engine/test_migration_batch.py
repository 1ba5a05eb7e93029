"""A thousand running instances moved to a new version, the worker killed midway and resumed.

SQLite (the file shared with the worker subprocess) keeps the thousand fast; the API test
(test_migration_api.py) runs the same batch code on both databases."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from sqlalchemy import func, select

from engine import audit
from engine.compiler import SourceFile
from engine.deploy import deploy
from engine.instances import start
from engine.schema import audit_events, instances, subscriptions, tasks
from engine.tasks import complete
from processes import migrations
from tests.engine.migration_diagrams import V1, renamed_reply
from tests.waiting import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNT = 1000


def populate(engine) -> dict[str, int]:
    """COUNT instances of v1: every third waits at `draft`, the rest at `reply` (with the
    cancel boundary event armed); then v2 is deployed."""
    with engine.unit("system:test") as unit:
        deploy(unit, [SourceFile("two_lanes.bpmn", V1.encode())], engine.settings)
    for first in range(0, COUNT, 100):
        with engine.unit("system:test") as unit:
            for n in range(first, first + 100):
                start(engine, unit, "two_lanes", f"P-{n:04d}", {"project_code": f"P-{n:04d}"})
    with engine.db.engine.connect() as conn:
        drafts = conn.execute(select(tasks.c.id).where(tasks.c.state == "open")
                              .order_by(tasks.c.id)).scalars().all()
    to_reply = [t for i, t in enumerate(drafts) if i % 3]
    for first in range(0, len(to_reply), 100):
        with engine.unit("system:test") as unit:
            for task_id in to_reply[first:first + 100]:
                complete(engine, unit, task_id, {})
    with engine.unit("system:test") as unit:
        deploy(unit, [SourceFile("two_lanes.bpmn", renamed_reply())], engine.settings)
    return {"draft": COUNT - len(to_reply), "reply": len(to_reply)}


def counts(engine, migration_id: int) -> dict:
    return migrations.progress(engine, migration_id)["counts"]


def test_a_thousand_instances_move_and_a_killed_worker_resumes(sqlite_app, tmp_path):
    engine = sqlite_app.extensions["jianguan.engine"]
    waiting = populate(engine)
    with engine.db.engine.connect() as conn:
        plan = migrations.dry_run(engine, conn, "two_lanes", 1, 2, {"reply": "reply2"})
    assert (plan["total"], plan["movable"]) == (COUNT, COUNT)
    batch = migrations.create(engine, "designer", "two_lanes", 1, 2, {"reply": "reply2"})
    assert batch["counts"]["pending"] == COUNT

    # the worker: `flask migration run` in its own process, killed with SIGKILL midway
    log = open(tmp_path / "worker.log", "w")
    env = {**os.environ, "DATABASE_URL": str(engine.db.url), "SECRET_KEY": "test-secret",
           "JIANGUAN_VAR_DIR": str(tmp_path / "var"), "TZ": "UTC", "PYTHONPATH": ROOT}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "migration",
                               "run", str(batch["id"])], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: counts(engine, batch["id"])["moved"] >= 50, 120,
                   "the worker to move 50 instances",
                   on_timeout=lambda: open(tmp_path / "worker.log").read())
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(30)
    killed = counts(engine, batch["id"])
    assert killed["moved"] >= 50 and killed["pending"] > 0, killed
    assert killed["failed"] == 0
    assert migrations.progress(engine, batch["id"])["state"] == "running"

    # resumed here: the pending rest moves, nothing moves twice
    done = migrations.run(engine, batch["id"])
    assert done["state"] == "done"
    assert done["counts"] == {"pending": 0, "moved": COUNT, "refused": 0, "failed": 0}
    with engine.db.engine.connect() as conn:
        versions = dict(conn.execute(select(instances.c.version, func.count())
                                     .group_by(instances.c.version)).all())
        assert versions == {2: COUNT}
        per_instance = conn.execute(
            select(audit_events.c.instance_id, func.count())
            .where(audit_events.c.kind == "instance.migrated")
            .group_by(audit_events.c.instance_id)).all()
        assert len(per_instance) == COUNT and {n for _, n in per_instance} == {1}
        open_tasks = dict(conn.execute(
            select(tasks.c.element_id, func.count()).where(tasks.c.state == "open")
            .group_by(tasks.c.element_id)).all())
        assert open_tasks == {"draft": waiting["draft"], "reply2": waiting["reply"]}
        armed = conn.execute(select(func.count()).select_from(subscriptions)
                             .where(subscriptions.c.element_id == "cancel_ev")).scalar_one()
        assert armed == waiting["reply"]
        checked, broken = audit.verify(conn, key=engine.audit_key)
        assert broken is None and checked > COUNT
