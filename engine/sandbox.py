"""The restricted environment for designer code: scripts, conditions, timer and DMN expressions.

Two guards, because RestrictedPython bounds what code may name but neither its time nor its
memory:
- RestrictedPython compiles every snippet: no imports, no names or attributes starting with an
  underscore or leading to frames, guarded attribute, item, write and iteration access, a short
  list of builtins.
- Code that provably ends quickly and small (no loops, comprehensions, functions, `*`, `**`,
  `%`, few `+`, only cheap calls) runs in this process: nearly every gateway condition and
  assignment, which must stay fast. Anything else runs in a worker process under an
  address-space limit, killed and replaced when it overruns the time limit. Workers are spawned
  (not forked: the server is threaded) and reused.
"""
from __future__ import annotations

import ast
import operator
import os
import pickle
import threading
import time
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr_raise)
from RestrictedPython.PrintCollector import PrintCollector

if TYPE_CHECKING:
    from .sandbox_worker import _Worker

MAX_SOURCE = 20_000
MAX_RANGE = 1_000_000
MAX_RESULT_BYTES = 32 * 1024 * 1024
MAX_CHEAP_ADDS = 8          # straight-line `+` can at most double a value per use: 2**8 bound
STARTUP_TIMEOUT = 30.0
# Attributes that lead from an object to frames, code or globals without an underscore, and
# str.format, which reaches attributes through its format string.
BLOCKED_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "cr_frame", "cr_code", "cr_await",
    "cr_origin", "ag_frame", "ag_code", "ag_await", "f_globals", "f_locals", "f_builtins",
    "f_back", "f_code", "f_trace", "tb_frame", "tb_next", "co_code", "func_globals",
    "func_code", "format", "format_map", "mro"})
FORBIDDEN_CALLS = frozenset({
    "open", "compile", "globals", "locals", "vars", "input", "type", "memoryview", "help",
    "exit", "quit", "dir", "setattr", "delattr", "eval", "exec", "breakpoint", "hasattr",
    "object", "super", "classmethod", "staticmethod", "property"})
# Refused at run time only (str.format reaches attributes through its format string).
RUNTIME_ONLY_ATTRIBUTES = frozenset({"format", "format_map"})
# Calls that end quickly and allocate at most in proportion to their input.
CHEAP_FUNCTIONS = frozenset({
    "len", "str", "int", "float", "bool", "abs", "round", "min", "max", "isinstance",
    "datetime", "timedelta", "date"})          # plus the environment's host functions
CHEAP_METHODS = frozenset({
    "get", "strip", "lstrip", "rstrip", "lower", "upper", "startswith", "endswith", "split",
    "isdigit", "find", "count", "keys", "values", "items", "now", "today", "fromisoformat",
    "isoformat", "total_seconds", "date", "weekday", "timestamp"})
EXPENSIVE_NODES = (ast.While, ast.For, ast.AsyncFor, ast.comprehension, ast.Lambda,
                   ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With,
                   ast.AsyncWith, ast.Starred)
ADDING_OPERATORS = (ast.Add, ast.BitOr, ast.BitAnd, ast.BitXor)


class ScriptError(ValueError):
    """A designer's code was refused or failed; the message says why in Chinese and English.

    A ValueError because spiff's error formatter expects one (a SyntaxError without a line
    number crashes it)."""


def _message(exc: BaseException, line: int | None = None) -> str:
    if isinstance(exc, ScriptError):
        text = str(exc)
    elif isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        text = f"未定义的名称 '{name}' (name '{name}' is not defined)"
    elif isinstance(exc, MemoryError):
        text = "脚本内存超限 (memory limit exceeded)"
    elif isinstance(exc, RecursionError):
        text = "脚本递归过深 (recursion too deep)"
    elif isinstance(exc, ZeroDivisionError):
        text = f"除数为零 (ZeroDivisionError: {exc})"
    elif isinstance(exc, KeyError):
        text = f"键不存在 (KeyError: {exc})"
    else:
        text = f"脚本运行出错 ({type(exc).__name__}: {exc})"
    return f"{text}, line {line}" if line and ", line " not in text else text


def _script_line(exc: BaseException) -> int | None:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<string>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# -- guards ---------------------------------------------------------------------------------
def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    if not isinstance(name, str):
        raise ScriptError("属性名必须是字符串 (attribute name must be a string)")
    if name.startswith("_") or name in BLOCKED_ATTRIBUTES:
        raise ScriptError(f"不允许访问属性 '{name}' (attribute not allowed)")
    return safer_getattr_raise(obj, name, *default)


def _write(obj: Any) -> Any:
    # Item assignment and deletion on data containers only; no attribute assignment anywhere.
    if type(obj) in (dict, list):
        return obj
    raise ScriptError(f"不允许修改 {type(obj).__name__} 对象 (cannot modify this object)")


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
            "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
            "**=": operator.ipow, "|=": operator.ior, "&=": operator.iand,
            "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptError(f"不支持的运算 {op} (operator not allowed)")
    return _INPLACE[op](x, y)


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ScriptError(f"range 过大 (range longer than {MAX_RANGE})")
    return r


def _apply(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def _make_builtins() -> dict:
    allowed = dict(safe_builtins)
    for name in ("setattr", "delattr", "__build_class__", "_getattr_", "id", "SystemExit",
                 "KeyboardInterrupt", "GeneratorExit", "BaseException"):
        allowed.pop(name, None)
    allowed.update({
        "len": len, "min": min, "max": max, "sum": sum, "sorted": sorted, "any": any,
        "all": all, "abs": abs, "round": round, "enumerate": enumerate, "zip": zip,
        "list": list, "dict": dict, "set": set, "tuple": tuple, "str": str, "int": int,
        "float": float, "bool": bool, "isinstance": isinstance, "map": map, "filter": filter,
        "reversed": reversed, "range": _range, "getattr": _guarded_getattr,
        "date": date, "datetime": datetime,
        "timedelta": timedelta, "timezone": timezone})
    return allowed


BUILTINS = _make_builtins()
BASE_GLOBALS = {
    "__builtins__": BUILTINS, "__name__": "designer_script", "__metaclass__": type,
    "_getattr_": _guarded_getattr, "_getitem_": default_guarded_getitem, "_getiter_": iter,
    "_write_": _write, "_inplacevar_": _inplacevar, "_apply_": _apply,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence, "_print_": PrintCollector}


# -- compiling ------------------------------------------------------------------------------
def _refused_attribute(name: str) -> bool:
    return name.startswith("_") or (name in BLOCKED_ATTRIBUTES
                                    and name not in RUNTIME_ONLY_ATTRIBUTES)


def _static_problem(tree: ast.AST) -> str | None:
    """The first forbidden construct in reading order, named for a designer (RestrictedPython's
    own words come second). Computed attribute names are left to the run-time guard."""
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = "不允许导入模块 (import is not allowed)"
        elif isinstance(node, ast.Attribute) and _refused_attribute(node.attr):
            text = f"不允许访问属性 '{node.attr}' (attribute not allowed)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "getattr" and len(node.args) > 1 \
                and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str) and _refused_attribute(node.args[1].value):
            text = f"不允许访问属性 '{node.args[1].value}' (attribute not allowed)"
        elif isinstance(node, ast.Name) and node.id.startswith("_") and node.id != "_":
            text = f"不允许使用下划线开头的名称 '{node.id}' (names starting with '_' are not allowed)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FORBIDDEN_CALLS:
            text = f"不允许调用 {node.func.id} ({node.func.id} is not allowed)"
        elif isinstance(node, ast.ClassDef):
            text = "不允许定义类 (class definitions are not allowed)"
        else:
            continue
        found.append(((line or 0, node.end_col_offset or 0), f"{text}, line {line}"))
    return min(found)[1] if found else None


def _explain(error: str) -> str:
    lowered = error.lower()
    if "import" in lowered:
        reason = "不允许导入模块 (import is not allowed)"
    elif "invalid variable name" in lowered or "invalid attribute name" in lowered:
        reason = "不允许使用下划线开头的名称或属性 (names starting with '_' are not allowed)"
    elif "not allowed" in lowered:
        reason = "不允许的语法 (construct not allowed)"
    else:
        reason = "脚本无法编译 (does not compile)"
    return f"{reason}: {error}"


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str):
    """(code, shape) for valid designer code (see _shape); ScriptError otherwise.
    Thread-safe: lru_cache locks."""
    if mode not in ("exec", "eval"):
        raise ScriptError(f"未知的编译模式 (unknown mode {mode!r})")
    if len(source) > MAX_SOURCE:
        raise ScriptError(f"脚本过长 (longer than {MAX_SOURCE} characters)")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptError(f"脚本无法编译 (does not compile): {exc.msg}, line {exc.lineno}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ScriptError(f"脚本无法编译 (does not compile): {exc}") from None
    problem = _static_problem(tree)
    if problem:
        raise ScriptError(problem)
    result = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(
        source, filename="<string>")
    if result.errors:
        raise ScriptError(_explain(result.errors[0]))
    return result.code, _shape(tree)


def _is_float(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is float


def _cheap_call(node: ast.Call) -> bool:
    if any(kw.arg == "key" for kw in node.keywords):
        return False            # max(xs, key=bytes) calls what it is given
    if isinstance(node.func, ast.Name) and node.func.id == "round" and len(node.args) > 1:
        digits = node.args[1]   # round(5, -10**7) computes 10**10**7
        return isinstance(digits, ast.Constant) and type(digits.value) is int \
            and abs(digits.value) <= 100
    return True


def _shape(tree: ast.AST) -> frozenset | None:
    """The function names called when the code provably ends quickly and small provided those
    are cheap functions; None when it must run in a worker."""
    adds, called, bound = 0, set(), set()
    for node in ast.walk(tree):
        if isinstance(node, EXPENSIVE_NODES):
            return None
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            return None         # f"{x:>999999999}" allocates as much as it likes
        if isinstance(node, (ast.BinOp, ast.AugAssign)):
            op = node.op
            if isinstance(op, ADDING_OPERATORS):
                adds += 1
            elif isinstance(op, ast.Mult):
                # a float factor cannot repeat a string or a list
                operands = (node.left, node.right) if isinstance(node, ast.BinOp) else (node.value,)
                if not any(_is_float(o) for o in operands):
                    return None
            elif isinstance(op, (ast.Pow, ast.LShift, ast.Mod)):
                return None     # big numbers; "%0999999999d" % x
        if isinstance(node, ast.Call):
            fn = node.func
            if not _cheap_call(node):
                return None
            if isinstance(fn, ast.Name):
                called.add(fn.id)
            elif not (isinstance(fn, ast.Attribute) and fn.attr in CHEAP_METHODS):
                return None
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
    if adds > MAX_CHEAP_ADDS or called & bound:   # `len = bytes; len(10**9)`
        return None
    return frozenset(called)


def check_source(source: str, mode: str) -> list[str]:
    """Problems that keep designer code from running (deploy-time check); empty when fine."""
    try:
        _compile(source, mode)
    except ScriptError as exc:
        return [str(exc)]
    return []


# -- running --------------------------------------------------------------------------------
def _storable(value: Any, depth: int = 0) -> bool:
    """What the workflow serializer can store: JSON values, datetimes and timedeltas."""
    kind = type(value)
    if value is None or kind in (bool, float, str, datetime, timedelta):
        return True
    if kind is int:
        return value.bit_length() < 13_000      # json refuses ints over 4300 digits
    if depth > 100:
        return False
    if kind in (list, tuple):
        return all(_storable(v, depth + 1) for v in value)
    if kind is dict:
        return all(type(k) is str and _storable(v, depth + 1) for k, v in value.items())
    return False


def _run(code, mode: str, context: dict, external: dict, functions: dict):
    """Returns (value, None) for eval, (True, the task data after the script) for exec.

    One namespace, as spiff's own environment uses: comprehensions see the task's data.
    New values that cannot be stored (ranges, functions, sets, dates) are dropped like spiff
    drops callables; refused when they replace task data; untouched task data passes as is."""
    env = {**BASE_GLOBALS, **functions, **external, **context}
    if mode == "eval":
        return eval(code, env), None
    exec(code, env)
    data = {}
    for key, value in env.items():
        if key.startswith("_") or (key not in context and (key in functions or key in external)):
            continue
        if key in context and context[key] is value:
            data[key] = value
        elif _storable(value):
            data[key] = value
        elif type(value) is int:
            raise ScriptError(f"变量 '{key}' 的数值过大 (integer too large to store)")
        elif key in context:
            raise ScriptError(f"变量 '{key}' 的值无法保存 ({type(value).__name__} is not "
                              f"JSON-serializable)")
    return True, data


def _run_guarded(code, mode: str, context: dict, external: dict, functions: dict):
    try:
        return _run(code, mode, context, external, functions)
    except BaseException as exc:   # noqa: BLE001 - SystemExit too: designer code raised it
        raise ScriptError(_message(exc, _script_line(exc) if mode == "exec" else None)) from exc


class SandboxEnvironment:
    """A SpiffWorkflow script environment (same contract as its TaskDataEnvironment)."""

    def __init__(self, time_limit: float = 2.0, memory_limit_mb: int = 256,
                 functions: dict | None = None, workers: int | None = None):
        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self.functions = dict(functions or {})
        self.globals = self.functions      # spiff's environments expose their globals
        self._cheap_functions = CHEAP_FUNCTIONS | frozenset(self.functions)
        self._size = workers or max(2, min(4, os.cpu_count() or 2))
        self._idle: list[_Worker] = []
        self._started = 0
        self._pool = threading.Condition()

    # spiff's environment interface -------------------------------------------------------
    def evaluate(self, expression: str, context: dict, external_context: dict | None = None):
        value, _ = self._call(expression.strip(), "eval", context, external_context or {})
        return value

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        external = external_context or {}
        overwrites = (set(self.functions) | set(external)) & set(context)
        if overwrites:
            raise ScriptError(f"任务数据与预定义函数或变量同名，请改名 (task data overwrites "
                              f"predefined names): {sorted(overwrites)}")
        _, data = self._call(script, "exec", context, external)
        for key in [k for k in context if k not in data]:
            del context[key]
        context.update(data)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        raise ScriptError("服务任务不在沙箱中调用 (service tasks go through the engine)")

    # running ------------------------------------------------------------------------------
    def _call(self, source: str, mode: str, context: dict, external: dict):
        code, shape = _compile(source, mode)
        if shape is not None and shape <= self._cheap_functions:
            return _run_guarded(code, mode, context, external, self.functions)
        return self._in_worker(source, mode, context, external)

    def _in_worker(self, source: str, mode: str, context: dict, external: dict):
        from .clock import utcnow

        payload = (source, mode, context,
                   {k: v for k, v in external.items() if not callable(v)}, utcnow())
        worker = self._checkout()
        try:
            status, value, data, retire = worker.call(payload, self.time_limit)
        except TimeoutError:
            self._discard(worker)
            raise ScriptError(f"脚本运行超时 (time limit {self.time_limit:g}s exceeded)") from None
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            self._discard(worker)      # the request may be half written
            raise ScriptError(f"任务数据无法传给脚本进程 (data cannot be sent: {exc})") from exc
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            self._discard(worker)
            raise ScriptError(f"脚本内存超限或进程异常 (memory limit exceeded or worker "
                              f"failed: {exc})") from exc
        if retire:
            self._discard(worker)
        else:
            self._checkin(worker)
        if status == "error":
            raise ScriptError(value)
        return value, data

    def _checkout(self) -> _Worker:
        deadline = time.monotonic() + self.time_limit * 5 + STARTUP_TIMEOUT
        with self._pool:
            while not self._idle and self._started >= self._size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ScriptError("脚本进程繁忙，请稍后重试 (sandbox busy)")
                self._pool.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            from .sandbox_worker import _Worker

            return _Worker(self.memory_limit_mb, self.functions)
        except BaseException as exc:
            with self._pool:
                self._started -= 1
                self._pool.notify()
            raise ScriptError(f"脚本进程无法启动 (worker failed to start: {exc!r})") from exc

    def _checkin(self, worker: _Worker) -> None:
        with self._pool:
            self._idle.append(worker)
            self._pool.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._pool:
            self._started -= 1
            self._pool.notify()

    def close(self) -> None:
        """Stops the idle workers (busy ones stop when their parent goes away)."""
        with self._pool:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for worker in idle:
            worker.kill()

