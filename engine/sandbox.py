"""The restricted environment for designer code: scripts, conditions, timer and DMN expressions.

Two guards, because RestrictedPython bounds what code may name but neither its time nor its
memory:
- RestrictedPython compiles every snippet: no imports, no names or attributes starting with an
  underscore, guarded attribute, item and iteration access, a short list of builtins.
- Code that cannot loop or allocate much (no loops, comprehensions, functions, `*`, `**`, `<<`,
  and only cheap calls) runs in this process: that is nearly every gateway condition and
  assignment, which must stay fast. Anything else runs in a worker process with an address-space
  limit, and is killed when it overruns the time limit.
"""
from __future__ import annotations

import ast
import copy
import os
import pickle
import queue
import resource
import select
import struct
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr)

MAX_SOURCE = 20_000
MAX_RANGE = 100_000
# Attributes that lead from an object to frames, code or globals without an underscore.
BLOCKED_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame",
    "ag_code", "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next",
    "co_code", "func_globals", "format", "format_map", "mro"})
CHEAP_CALLS = frozenset({
    "len", "str", "int", "float", "bool", "abs", "round", "min", "max", "isinstance", "get",
    "strip", "lower", "upper", "startswith", "endswith", "keys", "values", "items", "now",
    "add_days", "days_until", "date", "datetime", "timedelta", "fromisoformat", "isoformat"})
LOOPING_NODES = (ast.While, ast.For, ast.comprehension, ast.Lambda, ast.FunctionDef,
                 ast.AsyncFunctionDef, ast.ClassDef, ast.Try, ast.With)
HEAVY_OPERATORS = (ast.Mult, ast.Pow, ast.LShift)


class ScriptError(ValueError):
    """A designer's code was refused or failed; the message says why in Chinese and English.

    A ValueError because spiff's error formatter expects one (a SyntaxError without a line
    number crashes it)."""


def _message(exc: BaseException) -> str:
    if isinstance(exc, ScriptError):
        return str(exc)
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        return f"未定义的名称 '{name}' (name '{name}' is not defined)"
    if isinstance(exc, MemoryError):
        return "脚本内存超限 (memory limit exceeded)"
    if isinstance(exc, RecursionError):
        return "脚本递归过深 (recursion too deep)"
    return f"脚本运行出错 ({type(exc).__name__}: {exc})"


# -- guards ---------------------------------------------------------------------------------
def _guarded_getattr(obj: Any, name: str, default: Any = None, *args: Any) -> Any:
    if not isinstance(name, str):
        raise ScriptError("属性名必须是字符串 (attribute name must be a string)")
    if name.startswith("_") or name in BLOCKED_ATTRIBUTES:
        raise ScriptError(f"不允许访问属性 '{name}' (attribute not allowed)")
    if args or default is not None:
        return safer_getattr(obj, name, default)
    return safer_getattr(obj, name)


def _getiter(obj: Any):
    return iter(obj)


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    ops = {"+=": lambda: x + y, "-=": lambda: x - y, "*=": lambda: x * y, "/=": lambda: x / y,
           "//=": lambda: x // y, "%=": lambda: x % y, "|=": lambda: x | y, "&=": lambda: x & y}
    if op not in ops:
        raise ScriptError(f"不支持的运算 {op} (operator not allowed)")
    return ops[op]()


def _range(*args: int):
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ScriptError(f"range 过大 (range longer than {MAX_RANGE})")
    return r


def _refused(name: str) -> Callable[..., Any]:
    def refuse(*_a: Any, **_k: Any) -> Any:
        raise ScriptError(f"不允许调用 {name} ({name} is not allowed)")
    return refuse


def _builtins() -> dict:
    allowed = dict(safe_builtins)
    for name in ("setattr", "delattr", "compile", "__import__"):
        allowed.pop(name, None)
    allowed.update({
        "len": len, "min": min, "max": max, "sum": sum, "sorted": sorted, "any": any,
        "all": all, "abs": abs, "round": round, "enumerate": enumerate, "zip": zip,
        "list": list, "dict": dict, "set": set, "tuple": tuple, "str": str, "int": int,
        "float": float, "bool": bool, "isinstance": isinstance, "map": map, "filter": filter,
        "reversed": reversed, "range": _range, "getattr": _guarded_getattr,
        "date": date, "datetime": datetime, "timedelta": timedelta, "timezone": timezone,
        "True": True, "False": False, "None": None})
    return allowed


def _globals(functions: dict) -> dict:
    return {"__builtins__": _builtins(), "__name__": "designer_script", "_getattr_": _guarded_getattr,
            "_getitem_": default_guarded_getitem, "_getiter_": _getiter,
            "_write_": lambda obj: obj, "_inplacevar_": _inplacevar,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence, **functions}


# -- compiling ------------------------------------------------------------------------------
def _explain(error: str) -> str:
    """RestrictedPython's messages, with the reason a designer needs first."""
    lowered = error.lower()
    if "import" in lowered:
        reason = "不允许导入模块 (import is not allowed)"
    elif "invalid variable name" in lowered or "invalid attribute name" in lowered \
            or "starts with \"_\"" in error:
        reason = "不允许使用下划线开头的名称或属性 (names starting with '_' are not allowed)"
    elif "eval" in lowered or "exec" in lowered:
        reason = "不允许调用 eval/exec (eval and exec are not allowed)"
    else:
        reason = "脚本无法编译 (does not compile)"
    return f"{reason}: {error}"


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str):
    if len(source) > MAX_SOURCE:
        raise ScriptError(f"脚本过长 (longer than {MAX_SOURCE} characters)")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptError(f"脚本无法编译 (does not compile): {exc.msg}, line {exc.lineno}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ScriptError(f"不允许导入模块 (import is not allowed), line {node.lineno}")
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(source, filename="<string>")
    if result.errors:
        raise ScriptError(_explain(result.errors[0]))
    return result.code, _is_cheap(source, mode)


def _is_cheap(source: str, mode: str) -> bool:
    """True when the code provably ends quickly and small: it can run in this process."""
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        if isinstance(node, LOOPING_NODES):
            return False
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, HEAVY_OPERATORS):
            return False
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            if name not in CHEAP_CALLS:
                return False
    return True


def check_source(source: str, mode: str) -> list[str]:
    """Problems that keep designer code from running (deploy-time check); empty when fine."""
    try:
        _compile(source, mode)
    except ScriptError as exc:
        return [str(exc)]
    except SyntaxError as exc:   # ast.parse in _is_cheap on code RestrictedPython accepted
        return [f"脚本无法编译 (does not compile): {exc.msg}, line {exc.lineno}"]
    return []


# -- running --------------------------------------------------------------------------------
def _run(code, mode: str, context: dict, external: dict, functions: dict):
    """Returns (value, None) for eval, (True, the script's variables) for exec.

    One namespace, as spiff's own environment uses: comprehensions see the task's data."""
    env = _globals(functions)
    reserved = set(env) | set(external)
    env.update(external)
    env.update(context)
    if mode == "eval":
        return eval(code, env), None
    exec(code, env)
    return True, {k: v for k, v in env.items() if k not in reserved or k in context}


def _serializable_updates(scope: dict) -> dict:
    return {k: v for k, v in scope.items()
            if not k.startswith("_") and not callable(v) and not isinstance(v, type)}


def _send(stream, obj) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack("!I", len(data)) + data)
    stream.flush()


def _recv(stream):
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError
    (size,) = struct.unpack("!I", head)
    return pickle.loads(stream.read(size))


def worker_main() -> None:
    """Worker process: one request at a time over stdin/stdout, under an address-space limit."""
    from .clock import clock

    memory_limit_mb = int(sys.argv[1])
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr          # stray prints must not corrupt the channel
    with open("/proc/self/statm") as fh:
        base = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = base + memory_limit_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            source, mode, context, external, functions, now = _recv(stdin)
        except EOFError:
            return
        clock.freeze(now)
        try:
            code, _ = _compile(source, mode)
            value, scope = _run(code, mode, context, external, functions)
            _send(stdout, ("ok", value, scope and _serializable_updates(scope)))
        except BaseException as exc:   # noqa: BLE001 - everything goes back as a message
            _send(stdout, ("error", _message(exc), None))


class _Worker:
    def __init__(self, memory_limit_mb: int):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.sandbox", str(memory_limit_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)

    def call(self, payload, time_limit: float):
        _send(self.process.stdin, payload)
        ready, _, _ = select.select([self.process.stdout], [], [], time_limit)
        if not ready:
            raise TimeoutError
        return _recv(self.process.stdout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


class SandboxEnvironment:
    """A SpiffWorkflow script environment (same contract as its TaskDataEnvironment)."""

    def __init__(self, time_limit: float = 2.0, memory_limit_mb: int = 256,
                 functions: dict | None = None, workers: int = 2):
        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self.functions = dict(functions or {})
        self.globals = self.functions      # spiff reads `environment.globals` in a few places
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._size = workers
        self._started = 0
        self._lock = threading.Lock()

    # spiff's environment interface -------------------------------------------------------
    def evaluate(self, expression: str, context: dict, external_context: dict | None = None):
        value, _ = self._call(expression.strip(), "eval", context, external_context or {})
        return value

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        overwrites = set(self.functions) & set(context)
        if overwrites:
            raise ScriptError(f"任务数据与内置函数同名 (data overwrites functions): {sorted(overwrites)}")
        _, scope = self._call(script, "exec", context, external_context or {})
        updates = {k: v for k, v in _serializable_updates(scope).items()
                   if k not in (external_context or {})}
        for key in [k for k in context if k not in updates]:
            del context[key]
        context.update(updates)
        return True

    def call_service(self, context, **kwargs):
        raise ScriptError("服务任务不在沙箱中调用 (service tasks go through the engine)")

    # running ------------------------------------------------------------------------------
    def _call(self, source: str, mode: str, context: dict, external: dict):
        code, cheap = _compile(source, mode)
        if cheap:
            try:
                value, scope = _run(code, mode, context, external, self.functions)
            except ScriptError:
                raise
            except Exception as exc:
                raise ScriptError(_message(exc)) from exc
            return value, scope
        return self._in_worker(source, mode, context, external)

    def _in_worker(self, source: str, mode: str, context: dict, external: dict):
        from .clock import utcnow

        worker = self._checkout()
        payload = (source, mode, copy.deepcopy(context),
                   {k: v for k, v in external.items() if not callable(v)}, self.functions,
                   utcnow())
        try:
            status, value, scope = worker.call(payload, self.time_limit)
        except TimeoutError:
            self._discard(worker)
            raise ScriptError(f"脚本运行超时 (time limit {self.time_limit:g}s exceeded)") from None
        except (EOFError, OSError, pickle.PickleError) as exc:
            self._discard(worker)
            raise ScriptError(f"脚本进程异常 (worker failed: {exc})") from exc
        self._idle.put(worker)
        if status == "error":
            raise ScriptError(value)
        return value, scope

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._started -= 1

    def _checkout(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._started < self._size:
                self._started += 1
                return _Worker(self.memory_limit_mb)
        return self._idle.get(timeout=self.time_limit * 10)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break
        with self._lock:
            self._started = 0


if __name__ == "__main__":
    worker_main()
