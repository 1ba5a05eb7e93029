"""The sandbox's worker processes hold no secrets and are limited, and the server believes
nothing a worker sends but a JSON answer of bounded size."""
from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from engine import sandbox_worker
from engine.sandbox import SandboxEnvironment, ScriptError
from engine.scripting import HOST_FUNCTIONS

LOOP = "total = 0\nfor n in items:\n    total += n"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "secret-key-for-the-worker-test")
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret-user:secret-pw@db/prod")
    sandbox = SandboxEnvironment(time_limit=2.0, memory_limit_mb=128,
                                 functions=dict(HOST_FUNCTIONS), workers=1)
    data = {"items": [1, 2, 3]}
    sandbox.execute(LOOP, data)          # starts the one worker
    assert data["total"] == 6
    yield sandbox
    sandbox.close()


def _worker_pid(sandbox: SandboxEnvironment) -> int:
    (worker,) = sandbox._idle
    return worker.process.pid


def test_worker_environment_holds_no_secrets(env):
    with open(f"/proc/{_worker_pid(env)}/environ", "rb") as fh:
        variables = dict(v.split(b"=", 1) for v in fh.read().split(b"\0") if v)
    assert b"secret" not in b"".join(variables.values())
    assert set(variables) <= {b"PYTHONPATH", b"LANG", b"PYTHONDONTWRITEBYTECODE", b"TZ"}


def test_worker_runs_under_cpu_file_process_and_memory_limits(env):
    with open(f"/proc/{_worker_pid(env)}/limits") as fh:
        limits = {line[:26].strip(): line[26:].split() for line in fh.read().splitlines()[1:]}
    assert limits["Max cpu time"][0] != "unlimited"
    assert limits["Max file size"][:2] == ["0", "0"]
    assert limits["Max processes"][:2] == ["0", "0"]
    assert int(limits["Max open files"][1]) <= 16
    assert limits["Max address space"][0] != "unlimited"
    assert limits["Max core file size"][:2] == ["0", "0"]


class _Unpickled:
    """Unpickling this creates a file: proof that the server ran what a worker sent."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


class _LyingWorker(sandbox_worker._Worker):
    """A worker that answers every request with the bytes `reply` (Python) evaluates to."""
    reply = "b''"

    def __init__(self, *args, **kwargs):
        code = ("import struct, sys\nsys.stdin.buffer.read(4)\n"
                f"reply = {self.reply}\n"
                "sys.stdout.buffer.write(struct.pack('!I', len(reply)) + reply)\n"
                "sys.stdout.buffer.flush()\nsys.stdin.buffer.read()")
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)


@pytest.mark.parametrize("kind", ["pickle", "not json", "wrong shape", "too large"])
def test_a_reply_that_is_not_a_json_answer_is_refused(monkeypatch, tmp_path, kind):
    marker = tmp_path / "unpickled"
    replies = {
        "pickle": repr(pickle.dumps(("ok", _Unpickled(str(marker)), {}, False))),
        "not json": repr(b"\x80\x04not json at all"),
        "wrong shape": repr(b'{"status": "ok", "value": 1}'),
        "too large": f"b'[' + b'1,' * {sandbox_worker.MAX_FRAME // 2} + b'1]'",
    }
    monkeypatch.setattr(_LyingWorker, "reply", replies[kind])
    monkeypatch.setattr(sandbox_worker, "_Worker", _LyingWorker)
    sandbox = SandboxEnvironment(time_limit=5.0, functions=dict(HOST_FUNCTIONS), workers=1)
    try:
        with pytest.raises(ScriptError, match="拒绝|进程异常"):
            sandbox.execute(LOOP, {"items": [1]})
    finally:
        sandbox.close()
    assert not marker.exists()


def test_values_beyond_json_travel_to_the_worker_and_back(env):
    from datetime import date, datetime, timedelta, timezone
    from decimal import Decimal

    data = {"when": datetime(2026, 3, 1, 9, tzinfo=timezone.utc), "span": timedelta(days=2),
            "pair": [1, 2], "odd": {"\u0000jg": 1}, "items": [1]}
    env.execute("later = when + span\nfirst = pair[0]\nsame = odd\n" + LOOP, data)
    assert data["later"] == datetime(2026, 3, 3, 9, tzinfo=timezone.utc)
    assert data["first"] == 1 and data["same"] == {"\u0000jg": 1}
    value = env.evaluate("[d for d in [day, amount, {2, 3}, span]]",
                         {"day": date(2026, 1, 2), "amount": Decimal("1.10"),
                          "span": timedelta(seconds=5)})
    assert value == [date(2026, 1, 2), Decimal("1.10"), {2, 3}, timedelta(seconds=5)]
    with pytest.raises(ScriptError, match="不能传递|cannot be sent"):
        env.execute(LOOP, {"items": [1], "thing": object()})
