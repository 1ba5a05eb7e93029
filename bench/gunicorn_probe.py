"""gunicorn configuration used by bench/api.py: after each request, appends to the file named
by BENCH_PROBE_FILE one JSON line with the request's method, path, status, the SQL statements
it ran and the workflows it deserialized. The application is not changed: the counters hang
on SQLAlchemy's events and the serializer's counts, registered once the worker loaded it."""
from __future__ import annotations

import json
import os
import re
import threading

_local = threading.local()
_lock = threading.Lock()
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def post_worker_init(worker):
    from sqlalchemy import event

    engine = worker.wsgi.extensions["jianguan.engine"]

    @event.listens_for(engine.db.engine, "before_cursor_execute")
    def _count(*_args):
        _local.statements = getattr(_local, "statements", 0) + 1


def pre_request(worker, req):
    from engine.serializer import counts

    _local.statements = 0
    _local.loads = counts["loads"]


def post_request(worker, req, environ, resp):
    from engine.serializer import counts

    path = os.environ.get("BENCH_PROBE_FILE")
    if not path:
        return
    record = {"method": req.method, "path": _UUID.sub("{id}", req.path),
              "status": getattr(resp, "status_code", None),
              "statements": getattr(_local, "statements", 0),
              "loads": counts["loads"] - getattr(_local, "loads", counts["loads"])}
    with _lock, open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
