"""The sandbox's worker processes: designer code that might loop or allocate runs here.

A worker is started as `python -m engine.sandbox_worker` (not forked: the web server is
threaded) with an empty environment (no SECRET_KEY, no DATABASE_URL: only PYTHONPATH, LANG and
TZ), then limits itself: address space, CPU time per request, no file writes, no new processes,
few file descriptors. It serves one request at a time over a length-prefixed JSON channel. JSON
in both directions: the server never unpickles what a worker says, and refuses a reply that is
not a well-formed answer of bounded size.
"""
from __future__ import annotations

import decimal
import importlib
import json
import math
import os
import resource
import select
import struct
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable

from .sandbox_cost import MAX_RESULT_SIZE
from engine.i18n import _

STARTUP_TIMEOUT = 30.0
MAX_FRAME = 8 * MAX_RESULT_SIZE      # UTF-8 JSON of a value and the task data, each bounded
CPU_BUDGET = 600                     # seconds of CPU a worker may use before it is replaced
MAX_OPEN_FILES = 16
TAG = "\u0000jg"                     # marks the non-JSON values below


class WireError(ValueError):
    """A message that cannot be encoded, or a reply that is not a well-formed answer."""


# -- the JSON channel ---------------------------------------------------------------------------
# Task data is JSON with datetimes (spiff stores it so): tuples travel as lists and dict keys as
# text, as they would be stored. Datetimes, dates, times, timedeltas, decimals and sets travel
# as {TAG: [kind, payload]}; a dict of exactly that shape in task data would be read as one.
def _tag(value: Any) -> dict:
    if isinstance(value, (datetime, date, time)):
        kind = "datetime" if isinstance(value, datetime) else type(value).__name__
        return {TAG: [kind if kind in ("date", "time") else "datetime", value.isoformat()]}
    if isinstance(value, timedelta):
        return {TAG: ["timedelta", [value.days, value.seconds, value.microseconds]]}
    if isinstance(value, Decimal):
        return {TAG: ["decimal", str(value)]}
    if isinstance(value, (set, frozenset)):
        return {TAG: ["set", list(value)]}
    name = type(value).__name__
    raise TypeError(_("{name} 不能传递").format(name=name))


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "set": set, "datetime": datetime.fromisoformat, "date": date.fromisoformat,
    "time": time.fromisoformat, "decimal": Decimal,
    "timedelta": lambda parts: timedelta(*parts)}
_MARK = json.dumps(TAG)


def _tagged(obj: dict) -> Any:
    body = obj.get(TAG) if len(obj) == 1 else None
    if type(body) is not list or len(body) != 2 or body[0] not in _DECODERS:
        return obj
    return _DECODERS[body[0]](body[1])


def dumps(message: Any) -> bytes:
    try:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=_tag)
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise WireError(str(exc)[:200]) from None
    return data.encode("utf-8")


def loads(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_hook=_tagged if _MARK in text else None)
    except (ValueError, TypeError, KeyError, RecursionError, MemoryError) as exc:
        raise WireError(_("不是有效的 JSON: {value}").format(value=str(exc)[:200])) from None


def _send(stream, data: bytes) -> None:
    stream.write(struct.pack("!I", len(data)) + data)
    stream.flush()


def _recv(stream, limit: int = MAX_FRAME) -> bytes:
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("worker closed")
    (size,) = struct.unpack("!I", head)
    if size > limit:
        raise WireError(_("消息过大: {size}").format(size=size))
    body = stream.read(size)
    if len(body) < size:
        raise EOFError("worker closed")
    return body


def encode_request(source: str, mode: str, context: dict, external: dict, now: datetime) -> bytes:
    return dumps({"source": source, "mode": mode, "context": context, "now": now.isoformat(),
                  "external": {k: v for k, v in external.items() if not callable(v)}})


def decode_reply(data: bytes) -> tuple[str, Any, dict | None, bool]:
    """(status, value or message, task data, retire); WireError for anything else."""
    reply = loads(data)
    if type(reply) is not dict or set(reply) != {"status", "value", "data", "retire"}:
        raise WireError(_("回复格式不符"))
    status, value, data, retire = reply["status"], reply["value"], reply["data"], reply["retire"]
    if status not in ("ok", "error") or type(retire) is not bool \
            or not (data is None or type(data) is dict) \
            or (status == "error" and type(value) is not str):
        raise WireError(_("回复格式不符"))
    return status, value, data, retire


# -- host functions by reference ------------------------------------------------------------------
def function_references(functions: dict) -> dict[str, str]:
    """'module:qualname' of each host function, which a worker imports (nothing is pickled)."""
    refs = {}
    for name, fn in functions.items():
        ref = f"{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', '')}"
        if _resolve(ref) is not fn:
            raise ValueError(f"host function {name!r} must be a module-level function")
        refs[name] = ref
    return refs


def _resolve(ref: str) -> Any:
    module_name, _, qualname = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return obj


# -- the worker process ---------------------------------------------------------------------------
def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    current_hard = resource.getrlimit(kind)[1]
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    resource.setrlimit(kind, (min(soft, hard), hard))


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(request: dict, functions: dict) -> tuple[dict, bool]:
    from engine.clock import clock

    from .sandbox import _compile, _message, _run_guarded

    clock.freeze(datetime.fromisoformat(request["now"]))
    decimal.setcontext(decimal.Context())        # nothing carries over between requests
    try:
        code, _shape = _compile(request["source"], request["mode"])
        value, data = _run_guarded(code, request["mode"], request["context"],
                                   request["external"], functions)
        return {"status": "ok", "value": value, "data": data, "retire": False}, False
    except BaseException as exc:   # noqa: BLE001 - everything goes back as a message
        retire = isinstance(exc.__cause__ or exc, MemoryError)
        try:
            message = _message(exc)
        except BaseException:      # noqa: BLE001
            message, retire = _("脚本运行出错"), True
        return {"status": "error", "value": message, "data": None, "retire": retire}, retire


def worker_main() -> None:
    """Worker process: imports and limits once, then one request at a time over stdin/stdout."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = open(os.devnull, "w")     # stray prints must not corrupt the channel
    setup = loads(_recv(stdin))
    functions = {name: _resolve(ref) for name, ref in setup["functions"].items()}
    from . import sandbox  # noqa: F401 - imported before the limits
    time_limit = max(1, math.ceil(setup["time_limit"]))
    with open("/proc/self/statm") as fh:
        base = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    memory = base + setup["memory_mb"] * 1024 * 1024
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, 0)
    _limit(resource.RLIMIT_NOFILE, MAX_OPEN_FILES)
    _limit(resource.RLIMIT_NPROC, 0)
    _limit(resource.RLIMIT_CPU, math.ceil(_cpu_used()) + 2 * time_limit, CPU_BUDGET)
    _send(stdout, dumps({"status": "ready"}))
    while True:
        try:
            request = loads(_recv(stdin, limit=2 ** 32))
        except EOFError:
            return
        # SIGXCPU ends the worker if the server has not killed it first
        _limit(resource.RLIMIT_CPU, math.ceil(_cpu_used()) + 2 * time_limit, CPU_BUDGET)
        reply, retire = _serve(request, functions)
        retire = retire or _cpu_used() > CPU_BUDGET / 2
        reply["retire"] = retire
        try:
            data = dumps(reply)
        except WireError as exc:
            data = dumps({"status": "error", "data": None, "retire": retire,
                          "value": _("脚本结果无法传回: {exc}").format(exc=exc)})
        if len(data) > MAX_FRAME:
            data = dumps({"status": "error", "value": _("脚本结果过大"),
                          "data": None, "retire": retire})
        _send(stdout, data)
        if retire:
            return


class _Worker:
    def __init__(self, memory_limit_mb: int, functions: dict[str, str], time_limit: float):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {"PYTHONPATH": root, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        if os.environ.get("TZ"):
            env["TZ"] = os.environ["TZ"]      # designer code's local time matches the server's
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-m", "engine.sandbox_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env, cwd=root)
        try:
            _send(self.process.stdin, dumps({"functions": functions, "time_limit": time_limit,
                                             "memory_mb": memory_limit_mb}))
            if loads(self._wait(STARTUP_TIMEOUT)) != {"status": "ready"}:
                raise EOFError("worker did not start")
        except BaseException:
            self.kill()
            raise

    def _wait(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        return _recv(self.process.stdout)

    def call(self, request: bytes, time_limit: float) -> tuple:
        _send(self.process.stdin, request)
        return decode_reply(self._wait(time_limit))

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


if __name__ == "__main__":
    worker_main()
