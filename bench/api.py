"""Through the HTTP API against raw SpiffWorkflow in memory, measured in the same run.

A 2-step notice (tests/engine/processes/two_lanes.bpmn, the reply accepted at once) is run per
instance as a user's browser does it, over a real socket to gunicorn (a separate process, the
Procfile's web line), with real tokens: inspector_cc starts it and reads it, completes the
draft and reads it, contractor_gdjg completes the reply and reads it: 6 calls.
  raw       the same two steps in SpiffWorkflow, in memory, nothing stored, run in chunks
            alternating with the API's so that the machine's load weighs on both alike
  sequence  one client, one instance after another, on a SQLite file and on PostgreSQL;
            with the SQL statements and workflow deserializations of each kind of call
            (recorded inside the server by bench/gunicorn_probe.py)
  cores     PostgreSQL: gunicorn with 1, 2 and 4 worker processes, as many client processes
            as workers times 2, for --seconds each; SQLite with 1 and 2 workers (one writer)
Goals (issue 18): sequence >= 0.05 of raw on SQLite, >= 0.03 on PostgreSQL.

    .venv/bin/python bench/api.py [--count 200] [--seconds 20] [--pg URL] [--no-pg]
                                  [--no-cores]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

from bench.pg import fresh_schema  # noqa: E402
from tests.system.client import Client  # noqa: E402
from tests.system.topology import free_port  # noqa: E402
from tests.waiting import wait_until as wait_for  # noqa: E402

BPMN = os.path.join(ROOT, "tests", "engine", "processes", "two_lanes.bpmn")
PROJECT = "FS-CC-2026-001"
INSPECTOR, CONTRACTOR = "inspector_cc", "contractor_gdjg"
GOALS = {"SQLite": 0.05, "PostgreSQL": 0.03}


# -- the baseline ---------------------------------------------------------------------------
def raw(count: int) -> float:
    """Seconds for `count` instances of the two steps in raw SpiffWorkflow."""
    return raw_runner()(count)


def raw_runner():
    """The BPMN parsed once; a function running n instances that returns the seconds."""
    from bench.engine import raw as raw_engine

    return raw_engine(False, [("draft", {}), ("reply", {"accepted": True})])


# -- a database and a server ----------------------------------------------------------------
def prepare(url: str) -> None:
    """Schema, reference data (demo users) and the process, as `flask setup` would."""
    from engine.compiler import SourceFile
    from engine.core import Engine
    from engine.db import Database
    from engine.deploy import deploy
    from processes.demo import load_reference
    from processes.migrate import upgrade

    db = Database(url)
    upgrade(db)
    engine = Engine(db=db)
    with engine.unit("bench") as unit:
        load_reference(unit.conn)
        with open(BPMN, "rb") as fh:
            deploy(unit, [SourceFile("two_lanes.bpmn", fh.read())])
    engine.close()


@contextmanager
def server(url: str, workers: int, probe: str | None = None, threads: int = 4):
    """gunicorn as the Procfile runs it (gthread), on a free port; yields its base URL."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret", PYTHONPATH=ROOT)
    env.pop("CELERY_BROKER_URL", None)
    if probe:
        env["BENCH_PROBE_FILE"] = probe
    args = [os.path.join(ROOT, ".venv", "bin", "gunicorn"), "app:create_app()",
            "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
            "--workers", str(workers), "--threads", str(threads), "--timeout", "120",
            "--no-control-socket", "--log-level", "warning",
            "-c", os.path.join(HERE, "gunicorn_probe.py")]
    with tempfile.TemporaryDirectory() as var:
        proc = subprocess.Popen(args, cwd=var, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            health = Client(base)
            wait_for(lambda: _up(health), 60, "gunicorn to answer /healthz")
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _up(client: Client) -> bool:
    try:
        return client.get("/healthz", None).status in (200, 503)
    except OSError:
        return False


# -- what a user does -----------------------------------------------------------------------
def one_instance(client: Client) -> int:
    """Start, read, complete the draft, read, complete the reply, read: 6 calls."""
    inst = client.ok(client.post("/api/v1/instances", INSPECTOR, {
        "process_key": "two_lanes", "business_key": PROJECT,
        "variables": {"project_code": PROJECT}}), 201)
    iid = inst["id"]
    draft = client.instance(iid, INSPECTOR)["tasks"][0]
    assert draft["element_id"] == "draft", draft
    client.complete(draft["id"], {}, INSPECTOR)
    reply = client.instance(iid, CONTRACTOR)["tasks"][0]
    assert reply["element_id"] == "reply", reply
    client.complete(reply["id"], {"accepted": True}, CONTRACTOR)
    assert client.instance(iid, INSPECTOR)["state"] == "completed"
    return 6


def sequence(base: str, count: int, chunks: int = 10) -> tuple[float, float]:
    """(API instances/s, raw instances/s), measured in alternating chunks so that a change in
    the machine's load weighs on both alike."""
    client = Client(base)
    client.token(INSPECTOR)
    client.token(CONTRACTOR)
    one_instance(client)                        # warm-up: caches, prepared statements
    size = max(1, count // chunks)
    api_s = raw_s = 0.0
    for _ in range(chunks):
        raw_s += raw(size * 5) / 5
        began = time.perf_counter()
        for _ in range(size):
            one_instance(client)
        api_s += time.perf_counter() - began
    client.close()
    return size * chunks / api_s, size * chunks / raw_s


def _client_loop(base: str, seconds: float) -> int:
    client = Client(base)
    client.token(INSPECTOR)
    client.token(CONTRACTOR)
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        one_instance(client)
        done += 1
    client.close()
    return done


def concurrent(base: str, clients: int, seconds: float) -> float:
    with ProcessPoolExecutor(clients) as pool:
        began = time.perf_counter()
        counts = list(pool.map(_client_loop, [base] * clients, [seconds] * clients))
        return sum(counts) / (time.perf_counter() - began)


def per_call(probe: str) -> list[tuple[str, int, float, float]]:
    """(call, count, SQL statements per call, deserializations per call), token calls aside."""
    seen = defaultdict(lambda: [0, 0, 0])
    with open(probe) as fh:
        for line in fh:
            r = json.loads(line)
            if r["path"].startswith("/api/v1/instances") or "/complete" in r["path"]:
                key = f"{r['method']} {r['path']}"
                seen[key][0] += 1
                seen[key][1] += r["statements"]
                seen[key][2] += r["loads"]
    return [(k, n, s / n, d / n) for k, (n, s, d) in sorted(seen.items())]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-cores", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"SQLite": f"sqlite:///{tmp}/bench.db"}
        if not args.no_pg:
            urls["PostgreSQL"] = fresh_schema(args.pg, "jianguan_bench_api")
        results, calls = {}, {}
        for name, url in urls.items():
            prepare(url)
            probe = os.path.join(tmp, f"probe-{name}.jsonl")
            with server(url, 1, probe) as base:
                results[name] = sequence(base, args.count)    # (api, raw beside it)
            calls[name] = per_call(probe)
        print(f"{args.count} instances one after another, 6 calls each (start, 2 completions, "
              f"3 reads) over HTTP to gunicorn (1 worker)")
        print(f"{'run':34} {'instances/s':>11} {'calls/s':>8} {'ratio':>7} {'goal':>6}")
        for name, (rate, base_rate) in results.items():
            ratio, goal = rate / base_rate, GOALS[name]
            print(f"{'raw SpiffWorkflow (memory), beside it':34} {base_rate:11.1f} {'':>8} "
                  f"{1:7.4f}")
            print(f"{'API, ' + name:34} {rate:11.1f} {rate * 6:8.1f} {ratio:7.4f} "
                  f"{'>=' + str(goal):>6}  {'met' if ratio >= goal else 'NOT met'}")
        for name, rows in calls.items():
            print(f"\nper call on {name}: {'calls':>6} {'SQL statements':>15} "
                  f"{'deserializations':>17}")
            for call, n, statements, loads in rows:
                print(f"  {call:46} {n:6d} {statements:15.1f} {loads:17.2f}")
        if args.no_cores:
            return
        print(f"\nseveral cores: instances/s with concurrent client processes, {args.seconds:g} s "
              f"each (this machine: {os.cpu_count()} cores, shared with the load generator)")
        print(f"{'database':12} {'workers':>7} {'clients':>7} {'instances/s':>11} {'calls/s':>8}")
        for name, url in urls.items():
            for workers in ((1, 2, 4) if name == "PostgreSQL" else (1, 2)):
                with server(url, workers) as base:
                    rate = concurrent(base, workers * 2, args.seconds)
                print(f"{name:12} {workers:7d} {workers * 2:7d} {rate:11.1f} {rate * 6:8.1f}")


if __name__ == "__main__":
    main()
