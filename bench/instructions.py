"""Instructions per instance, counted by valgrind's callgrind: nearly the same count on every
run, whatever else the machine is doing, where the clock-based benchmarks move by ±20 %. For
comparing two versions of the code (at the same --count: the count per instance changes
with it, 44.1 million for the API at 3 and 42.5 at 10), and for seeing how much of a ratio
is work and how much is waiting (README "Performance").

Each target runs in its own process under callgrind, which counts only inside the measured
loop (`--toggle-collect` on functools.reduce, which drives it), after a warm-up:
  raw             bench/engine.py's instance in raw SpiffWorkflow (start and 4 user steps)
  engine-sqlite   the same through the engine, every step committed, on a SQLite file
  engine-pg       the same on PostgreSQL (the engine's process only, not the server's)
  raw-api         bench/api.py's instance in raw SpiffWorkflow (start and 2 user steps)
  api-sqlite      bench/api.py's six calls of that instance through Flask's test client
                  (the server's side of an HTTP call, without gunicorn and the socket)
Each engine or API target is printed beside its raw one, as raw's count ÷ its count.

    .venv/bin/python bench/instructions.py [--count 10] [--targets raw,engine-sqlite,...]
                                           [--pg URL]
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

TARGETS = ("raw", "engine-sqlite", "engine-pg", "raw-api", "api-sqlite")
BASELINE = {"engine-sqlite": "raw", "engine-pg": "raw", "api-sqlite": "raw-api"}
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WARM_UP = 20


# -- inside callgrind: one target's loop ----------------------------------------------------
def _one_instance(target: str, pg: str, tmp: str):
    """A function running one instance of the target, set up."""
    if target == "raw":
        from bench.engine import raw
        run = raw(False)
        return lambda: run(1)
    if target == "raw-api":
        from bench.api import raw_runner
        run = raw_runner()
        return lambda: run(1)
    if target.startswith("engine-"):
        from bench.engine import EngineRun, fresh_pg_url
        url = (fresh_pg_url(pg) if target == "engine-pg"
               else f"sqlite:///{tmp}/instructions.db")
        engine = EngineRun(url)
        return lambda: engine.run(1)
    return _api_instance(f"sqlite:///{tmp}/instructions.db")


def _api_instance(url: str):
    from app import create_app
    from bench.api import one_instance, prepare
    from tests.system.client import Client, Reply

    prepare(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret",
                      "VAR_DIR": os.path.dirname(url.split("///", 1)[1])})
    test_client = app.test_client()

    class InProcess(Client):
        """bench/api.py's client, its calls made through Flask's test client."""

        def request(self, method, path, user=None, json_body=None, body=None, headers=None,
                    query=None) -> Reply:
            headers = dict(headers or {})
            if user:
                headers["Authorization"] = f"Bearer {self.token(user)}"
            r = test_client.open(path, method=method, json=json_body, data=body,
                                 headers=headers, query_string=query)
            return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.data)

    client = InProcess("http://localhost")
    return lambda: one_instance(client)


def measured(target: str, count: int, pg: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one = _one_instance(target, pg, tmp)
        for _ in range(WARM_UP):
            one()
        functools.reduce(lambda _acc, _i: one(), range(count), None)   # counted


# -- outside: run each target under callgrind -----------------------------------------------
def count(target: str, count: int, pg: str) -> float:
    """Millions of instructions per instance of `target`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--toggle-collect=functools_reduce",
             f"--callgrind-out-file={out}", sys.executable, os.path.abspath(__file__),
             "--inside", target, "--count", str(count), "--pg", pg],
            cwd=ROOT, env=dict(os.environ, PYTHONHASHSEED="0"),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{target} failed under callgrind:\n{done.stderr[-3000:]}")
        with open(out) as fh:
            totals = re.search(r"^(?:summary|totals): (\d+)", fh.read(), re.M)
    return int(totals.group(1)) / count / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--pg", default=PG)
    ap.add_argument("--inside", choices=TARGETS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        measured(args.inside, args.count, args.pg)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    targets = [t for t in args.targets.split(",") if t]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        sys.exit(f"unknown targets: {', '.join(unknown)} (known: {', '.join(TARGETS)})")
    # one process per core: callgrind's counts do not depend on what runs beside them
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        counts = dict(zip(targets, pool.map(lambda t: count(t, args.count, args.pg), targets)))
    print(f"instructions per instance, {args.count} instances after {WARM_UP} to warm up "
          f"(callgrind)")
    print(f"{'target':16} {'millions':>9} {'raw ÷ target':>13}")
    for target, millions in counts.items():
        base = BASELINE.get(target)
        ratio = f"{counts[base] / millions:13.3f}" if base in counts else ""
        print(f"{target:16} {millions:9.2f} {ratio}")


if __name__ == "__main__":
    main()
