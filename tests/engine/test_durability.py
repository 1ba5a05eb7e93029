"""A crash between two steps leaves the last committed state intact: everything a step writes
(workflow, task projection, subscriptions, timers, audit) commits together or not at all.
The crash is real: a separate process runs the step, is held just before its COMMIT goes to
the database (everything written, audit events chained) and is killed with SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from sqlalchemy import func, select

from engine.schema import audit_events, instances, subscriptions, tasks, timers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Completes a task in its own process; at the commit (SQLAlchemy's "commit" event runs before
# the driver sends COMMIT) it reports what its transaction sees, then waits to be killed.
STEP = r"""
import json, sys
from sqlalchemy import event
from app import create_app
from engine import tasks as task_commands

url, var, task_id, instance_id = sys.argv[1:5]
app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret", "VAR_DIR": var,
                  "TESTING": True})
engine = app.extensions["jianguan.engine"]
engine.wake = None

def before_commit(conn):
    cur = conn.connection.dbapi_connection.cursor()
    cur.execute("SELECT count(*) FROM audit_events")
    events = cur.fetchone()[0]
    cur.execute(f"SELECT lock_version FROM instances WHERE id = '{instance_id}'")
    lock_version = cur.fetchone()[0]
    cur.execute(f"SELECT count(*) FROM tasks WHERE instance_id = '{instance_id}' "
                "AND state = 'open'")
    open_tasks = cur.fetchone()[0]
    print(json.dumps({"events": events, "lock_version": lock_version,
                      "open_tasks": open_tasks}), flush=True)
    sys.stdin.read()                      # held here until the test kills the process

event.listen(engine.db.engine, "commit", before_commit)
with engine.unit("inspector_cc") as unit:
    task_commands.complete(engine, unit, task_id, {"note": "已整改"})
print("committed", flush=True)
"""


def snapshot(engine, iid):
    with engine.db.read() as conn:
        inst = conn.execute(select(instances.c.lock_version, instances.c.blob, instances.c.state)
                            .where(instances.c.id == iid)).one()
        open_tasks = conn.execute(select(tasks.c.element_id).where(
            tasks.c.instance_id == iid, tasks.c.state == "open")).scalars().all()
        subs = conn.execute(select(func.count()).select_from(subscriptions)
                            .where(subscriptions.c.instance_id == iid)).scalar()
        tms = conn.execute(select(func.count()).select_from(timers)
                           .where(timers.c.instance_id == iid)).scalar()
        events = conn.execute(select(func.count()).select_from(audit_events)).scalar()
    return tuple(inst), open_tasks, subs, tms, events


def test_a_process_killed_before_its_commit_changes_nothing(app, api, engine, tmp_path):
    api.deploy("timers.bpmn")
    iid = api.start("timers", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001",
                                                 "deadline": "P2D"}).get_json()["id"]
    task_id = api.open_task(iid, "fix")["id"]
    before = snapshot(engine, iid)
    assert before[1] == ["fix"] and before[3] == 2

    proc = subprocess.Popen([sys.executable, "-c", STEP, engine.db.url, str(tmp_path / "var-2"),
                             task_id, iid], cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()     # blocks until the step reached its commit
        assert line, proc.stderr.read()
        inside = json.loads(line)
        # inside its transaction the step is done: the task closed, the instance and the
        # audit trail written
        assert inside == {"events": before[4] + 1, "lock_version": before[0][0] + 1,
                          "open_tasks": 0}
        os.kill(proc.pid, signal.SIGKILL)  # the process dies before COMMIT reaches the database
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    assert snapshot(engine, iid) == before
    verified = app.test_cli_runner().invoke(args=["verify-audit"])
    assert verified.exit_code == 0, verified.output
    assert api.complete(task_id, {"note": "已整改"}).status_code == 200   # nothing left locked
    after = snapshot(engine, iid)
    assert after[1] == [] and after[2] == 1 and after[0][0] == before[0][0] + 1
    history = api.get(f"/api/v1/instances/{iid}/history").get_json()   # nothing of the crash
    assert [e["kind"] for e in history] == ["instance.started", "task.admin_override",
                                            "task.completed"]
