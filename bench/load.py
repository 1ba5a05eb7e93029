"""The production topology under load, on this machine only (loopback).

Starts web (gunicorn), two Celery workers, beat and the MQTT listener as separate processes
(the Procfile, through tests/system/topology.py) on a fresh PostgreSQL database, seeds it with
`--tasks` open tasks, then for `--seconds` drives at once:
  inbox     `--users` concurrent users, each GET /api/v1/tasks then a think time
  complete  inspectors completing rectification notices (each makes a worker render a PDF)
  alarm     `--alarm-rate` alarms per second published over MQTT (QoS 1); latency is the
            device's time to the listener's commit, read back from the alarms table
and prints throughput, p50/p95/p99 latency and errors per operation. Every loop is bounded
by the duration; the database is dropped at the end (`--keep` keeps it).

Seeding: real instances of the demo projects (load-demo, the duties beat starts, and one
rectification per project started over the API) are the templates; each copy gets new
instance and SpiffWorkflow task ids (rewritten in its serialized workflow) and its own rows
in instances, tasks and timers, written in bulk with COPY. The inbox queries, access rules and
the engine treat the copies as the real thing: they can be opened and completed.

    .venv/bin/python bench/load.py [--seconds 180] [--tasks 100000] [--users 200]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.system.client import Client  # noqa: E402
from tests.system.mqtt import Gateway, alarm_payload  # noqa: E402
from tests.system.topology import MQTT_URL, Topology  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

USERS = ("inspector_cc", "inspector_nh", "inspector_sd", "inspector_gm", "inspector_ss",
         "contractor_gdjg", "contractor_zj3", "contractor_fs1", "contractor_gz2",
         "supervisor_hn", "supervisor_fs", "supervisor_hd", "builder_fscj", "leader_cc")
INSPECTORS = {"inspector_cc": "禅城区", "inspector_nh": "南海区", "inspector_sd": "顺德区",
              "inspector_gm": "高明区", "inspector_ss": "三水区"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOTICE = {"rect_location": "3号楼五层", "rect_issue": "临边防护缺失",
          "rect_requirement": "立即设置防护栏杆", "stop_work": False}


class Recorder:
    """Latencies (seconds) and errors per operation; list.append is atomic under the GIL."""

    def __init__(self):
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, list[str]] = {}

    def ok(self, op: str, seconds: float) -> None:
        self.samples.setdefault(op, []).append(seconds)

    def error(self, op: str, what: str) -> None:
        self.errors.setdefault(op, []).append(what[:200])


# -- seeding ---------------------------------------------------------------------------------

def seed(topo: Topology, target: int) -> int:
    """Copy running instances with open tasks until `target` tasks are open; returns that."""
    from sqlalchemy import create_engine, text

    eng = create_engine(topo.database_url)
    with eng.begin() as conn:
        templates = conn.execute(text(
            "SELECT i.* FROM instances i WHERE i.state = 'running' AND i.parent_id IS NULL "
            "AND EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = i.id AND t.state = 'open') "
            "AND NOT EXISTS (SELECT 1 FROM timers m WHERE m.instance_id = i.id "
            "AND m.kind = 'async')")).mappings().all()
        open_now = conn.execute(text("SELECT count(*) FROM tasks WHERE state = 'open'")).scalar()
        children = {}
        for tpl in templates:
            children[tpl["id"]] = (
                conn.execute(text("SELECT * FROM tasks WHERE instance_id = :i AND state = 'open'"),
                             {"i": tpl["id"]}).mappings().all(),
                conn.execute(text("SELECT * FROM timers WHERE instance_id = :i"),
                             {"i": tpl["id"]}).mappings().all())
    assert templates, "no running instances to copy"
    rows_i, rows_t, rows_m = [], [], []
    total = open_now
    for tpl in itertools.cycle(templates):
        if total >= target:
            break
        tasks, timers = children[tpl["id"]]
        mapping: dict[str, str] = {}
        text_blob = zlib.decompress(tpl["blob"]).decode()
        new_blob = UUID.sub(lambda m: mapping.setdefault(m.group(0), str(uuid.uuid4())),
                            text_blob)
        iid = str(uuid.uuid4())
        rows_i.append((iid, tpl["definition_id"], tpl["process_key"], tpl["version"],
                       tpl["business_key"], tpl["scope_key"], "running", 1,
                       zlib.compress(new_blob.encode(), 1), json.dumps(tpl["variables"]),
                       tpl["started_by"], tpl["started_at"], tpl["updated_at"]))
        for t in tasks:
            rows_t.append((mapping.get(t["id"], str(uuid.uuid4())), iid, t["process_key"],
                           t["element_id"], t["name"], t["lane"], t["role"], t["form_key"],
                           t["scope_key"], "open", t["assignee"], t["due_at"], t["created_at"]))
        for m in timers:
            rows_m.append((iid, mapping.get(m["task_id"], m["task_id"]), m["element_id"],
                           m["kind"], m["due_at"], 0))
        total += len(tasks)
    raw = eng.raw_connection()
    try:
        with raw.cursor() as cur:
            for table, cols, rows in (
                    ("instances", "id, definition_id, process_key, version, business_key, "
                     "scope_key, state, lock_version, blob, variables, started_by, started_at, "
                     "updated_at", rows_i),
                    ("tasks", "id, instance_id, process_key, element_id, name, lane, role, "
                     "form_key, scope_key, state, assignee, due_at, created_at", rows_t),
                    ("timers", "instance_id, task_id, element_id, kind, due_at, attempts",
                     rows_m)):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        raw.commit()
        # VACUUM ANALYZE: the state autovacuum leaves a database in use in (and it needs
        # autocommit)
        raw.driver_connection.autocommit = True
        with raw.cursor() as cur:
            for table in ("instances", "tasks", "timers"):
                cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        raw.close()
        eng.dispose()
    return total


# -- load ------------------------------------------------------------------------------------

def inbox_user(base: str, user: str, think: float, stop: threading.Event, rec: Recorder,
               token: str) -> None:
    client = Client(base, timeout=30)
    client._tokens[user] = token
    rng = random.Random()
    stop.wait(rng.uniform(0, think))          # spread the first requests
    while not stop.is_set():
        began = time.perf_counter()
        try:
            r = client.get("/api/v1/tasks", user)
            if r.status == 200:
                rec.ok("inbox", time.perf_counter() - began)
            else:
                rec.error("inbox", f"HTTP {r.status} {r.body[:300].decode(errors='replace')}")
        except Exception as exc:
            rec.error("inbox", f"{type(exc).__name__}: {exc}")
            client.close()
        stop.wait(rng.uniform(0.5, 1.5) * think)
    client.close()


def completer(base: str, user: str, tasks: list[str], interval: float,
              stop: threading.Event, rec: Recorder, token: str) -> None:
    client = Client(base, timeout=60)
    client._tokens[user] = token
    deadline = (datetime.now(timezone(timedelta(hours=8))) + timedelta(days=7)).date()
    for task_id in tasks:
        if stop.is_set():
            break
        began = time.perf_counter()
        try:
            r = client.post(f"/api/v1/tasks/{task_id}/complete", user,
                            {"data": {**NOTICE, "deadline": deadline.isoformat()}})
            if r.status == 200:
                rec.ok("complete", time.perf_counter() - began)
            else:
                rec.error("complete",
                          f"HTTP {r.status} {r.body[:300].decode(errors='replace')}")
        except Exception as exc:
            rec.error("complete", f"{type(exc).__name__}: {exc}")
            client.close()
        stop.wait(max(0.0, interval - (time.perf_counter() - began)))
    client.close()


def publisher(gateway: Gateway, devices: list[dict], rate: float, run: str,
              stop: threading.Event, sent: list) -> None:
    tick, chunk = threading.Event(), max(1, int(rate / 20))
    began, n = time.perf_counter(), 0
    while not stop.is_set():
        for _ in range(chunk):
            device = devices[n % len(devices)]
            gateway.send(device, alarm_payload(f"L{run}-{n:07d}", "pm25"))
            n += 1
        sent[0] = n
        ahead = n / rate - (time.perf_counter() - began)
        if ahead > 0:
            tick.wait(ahead)


def cpu_seconds(sessions: dict[str, int]) -> dict[str, float]:
    """CPU time so far of each topology process (its whole session: gunicorn workers, pool
    children) and of the PostgreSQL server processes, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    by_session = {sid: name for name, sid in sessions.items()}
    totals = dict.fromkeys([*sessions, "postgres"], 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        # utime + stime, and of children already reaped (PostgreSQL's parallel workers)
        used = sum(int(v) for v in fields[11:15]) / tick
        name = "postgres" if comm.startswith("postgres") else by_session.get(int(fields[3]))
        if name:
            totals[name] += used
    return totals


# -- report ----------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(rec: Recorder, seconds: dict[str, float]) -> list[str]:
    """One line per operation; `seconds` is the time each one's count is divided by."""
    lines = [f"{'operation':<10} {'count':>8} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} "
             f"{'p99 ms':>8} {'max ms':>8} {'errors':>7}"]
    for op in sorted(set(rec.samples) | set(rec.errors)):
        v = rec.samples.get(op, [])
        lines.append(f"{op:<10} {len(v):>8} {len(v) / seconds[op]:>8.1f} "
                     f"{pct(v, .5) * 1e3:>8.1f} {pct(v, .95) * 1e3:>8.1f} "
                     f"{pct(v, .99) * 1e3:>8.1f} {max(v, default=float('nan')) * 1e3:>8.1f} "
                     f"{len(rec.errors.get(op, [])):>7}")
    for op, errs in rec.errors.items():
        lines.append(f"  {op} errors, first: {errs[:3]}")
    return lines


def prepare(topo: Topology, tasks: int) -> tuple[Client, int]:
    """Database, demo, processes, one rectification per project, then the copies."""
    topo.create()
    topo.flask("load-demo", timeout=600)
    for name, kind in (("web", "web"), ("worker1", "worker"), ("worker2", "worker"),
                       ("beat", "beat"), ("listener", "listener")):
        topo.start(name, kind)
    topo.wait_healthy("web", "worker", "beat", "listener")
    admin = Client(topo.base_url)
    for p in admin.ok(admin.get("/api/v1/projects", page_size=100)):
        admin.ok(admin.post("/api/v1/instances", "admin", {
            "process_key": "rectification", "business_key": p["code"],
            "variables": {"project_code": p["code"]}}), 201)
    wait_until(lambda: topo.query("SELECT count(*) AS n FROM instances WHERE process_key "
                                  "= 'duty_video_weekly'")[0].n > 0, 60, "duties started")
    return admin, seed(topo, tasks)


def drive(topo: Topology, admin: Client, args, rec: Recorder, stop: threading.Event) -> dict:
    """Run every load thread for args.seconds; returns what the report needs."""
    tokens = {u: admin.token(u) for u in USERS}
    devices = [d for d in admin.ok(admin.get("/api/v1/devices", page_size=100))
               if d["device_type"] in ("dust", "pit", "video") and not d.get("crane_id")]
    per_inspector = int(args.completion_rate * args.seconds / len(INSPECTORS)) + 5
    threads = []
    for user, district in INSPECTORS.items() if args.completion_rate else ():
        ids = [r.id for r in topo.query(
            "SELECT t.id FROM tasks t JOIN projects p ON p.code = t.scope_key "
            "WHERE t.element_id = 'rect_notice' AND t.state = 'open' AND p.district = :d "
            "LIMIT :n", d=district, n=per_inspector)]
        threads.append(threading.Thread(target=completer, args=(
            topo.base_url, user, ids, len(INSPECTORS) / args.completion_rate, stop, rec,
            tokens[user]), daemon=True))
    for n in range(args.users):
        user = USERS[n % len(USERS)]
        threads.append(threading.Thread(target=inbox_user, args=(
            topo.base_url, user, args.think, stop, rec, tokens[user]), daemon=True))
    gateway = Gateway(topo.env["MQTT_URL"], topo.env["MQTT_TOPIC_PREFIX"])
    run, sent = uuid.uuid4().hex[:8], [0]
    if args.alarm_rate:
        threads.append(threading.Thread(target=publisher, args=(
            gateway, devices, args.alarm_rate, run, stop, sent), daemon=True))
    print(f"load: {args.users} inbox users (think {args.think:g} s), "
          f"{args.completion_rate:g} completions/s, {args.alarm_rate:g} alarms/s "
          f"for {args.seconds:g} s", flush=True)
    sessions = {name: proc.pid for name, proc in topo.procs.items()}
    cpu_before = cpu_seconds(sessions)
    began, client_began = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    stop.wait(args.seconds)
    stop.set()
    for t in threads:
        t.join(60)
    elapsed = time.perf_counter() - began
    cpu_after = cpu_seconds(sessions)
    busy = {name: (cpu_after[name] - cpu_before[name]) / elapsed for name in cpu_after}
    busy["load generator"] = (time.process_time() - client_began) / elapsed

    def recorded() -> int:
        return topo.query("SELECT count(*) AS n FROM alarms WHERE alarm_id LIKE :p",
                          p=f"L{run}-%")[0].n
    drain_began = time.perf_counter()
    try:
        wait_until(lambda: recorded() >= sent[0], 120, "alarms drained", step=0.5)
    except AssertionError:
        rec.error("alarm", f"only {recorded()} of {sent[0]} recorded 120 s after the load")
    drain = time.perf_counter() - drain_began
    gateway.close()
    for r in topo.query("SELECT extract(epoch FROM received_at - at) AS s FROM alarms "
                        "WHERE alarm_id LIKE :p", p=f"L{run}-%"):
        rec.ok("alarm", float(r.s))
    dead = topo.query("SELECT count(*) AS n FROM dead_letters")[0].n
    if dead:
        rec.error("alarm", f"{dead} dead letters")
    return {"elapsed": elapsed, "drain": drain, "sent": sent[0], "busy": busy,
            "pending": topo.query("SELECT count(*) AS n FROM timers WHERE kind = 'async'")[0].n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds between a user's calls")
    ap.add_argument("--alarm-rate", type=float, default=500)
    ap.add_argument("--completion-rate", type=float, default=2, help="completions per second")
    ap.add_argument("--keep", action="store_true", help="keep the database and the folder")
    args = ap.parse_args()
    if not (0 < args.seconds <= 3600 and 0 <= args.users <= 1000 and args.tasks <= 1_000_000
            and 0 <= args.alarm_rate <= 5000 and 0 <= args.completion_rate <= 100):
        ap.error("out of bounds: seconds 1-3600, users <= 1000, tasks <= 1e6, "
                 "alarm-rate <= 5000, completion-rate <= 100")
    if urlsplit(MQTT_URL).hostname not in ("127.0.0.1", "localhost", "::1"):
        ap.error(f"loopback only: {MQTT_URL}")

    workdir = tempfile.mkdtemp(prefix="jianguan-load-")
    topo = Topology(workdir, label="load", extra_env={
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "8")})
    rec, stop = Recorder(), threading.Event()
    try:
        began = time.perf_counter()
        admin, open_tasks = prepare(topo, args.tasks)
        print(f"seeded: {open_tasks} open tasks in {time.perf_counter() - began:.0f} s "
              f"(setup, demo, copies)", flush=True)
        result = drive(topo, admin, args, rec, stop)
        # alarms are counted over the load and the drain after it: what the listener applied
        spans = {"inbox": result["elapsed"], "complete": result["elapsed"],
                 "alarm": result["elapsed"] + result["drain"]}
        print("\n".join(report(rec, spans)))
        print("cores busy during the load: " + ", ".join(
            f"{name} {value:.2f}" for name, value in result["busy"].items()))
        print(f"alarms: {result['sent']} published, drained {result['drain']:.1f} s after the "
              f"load; documents still to render: {result['pending']}; open tasks: "
              f"{open_tasks}; cores: {os.cpu_count()}")
        if args.keep:
            print(f"kept: {topo.database_url} {workdir}")
    finally:
        stop.set()
        if args.keep:
            topo.stop_all()
        else:
            topo.destroy()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
