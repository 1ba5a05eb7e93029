"""The restricted environment for designer code: scripts, conditions, timer and DMN expressions.

Two guards, because RestrictedPython bounds what code may name but neither its time nor its
memory:
- RestrictedPython compiles every snippet: no imports, no names or attributes starting with an
  underscore or leading to frames, guarded attribute, item, write and iteration access, a short
  list of builtins and read-only modules (`sandbox_names`).
- Code that provably ends quickly and small (`sandbox_cost.plan`: straight-line code of a few
  cheap constructs, reading small variables) runs in this process: nearly every gateway
  condition and assignment, which must stay fast; what it hands back is measured. Anything else
  runs in a worker process (`sandbox_worker`: empty environment, JSON only, CPU, memory, file
  and process limits), killed and replaced when it overruns the time limit. Workers are spawned
  (not forked: the server is threaded) and reused.
"""
from __future__ import annotations

import ast
import os
import threading
import time
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec

from .nesting import deeper_than
from .sandbox_cost import (CHEAP_FUNCTIONS, MAX_CHEAP_INPUT, MAX_RESULT_SIZE, Plan, TooLarge,
                           link_parents, measure, plan)
from .sandbox_names import (BASE_GLOBALS, BLOCKED_ATTRIBUTES, IS_SET, ScriptError,
                            make_is_set)
from engine.i18n import _

if TYPE_CHECKING:
    from .sandbox_worker import _Worker

__all__ = ["ScriptError", "SandboxEnvironment", "check_source"]

MAX_SOURCE = 20_000
MAX_DEPTH = 100             # nesting of expressions and blocks; CPython's compiler recurses
STARTUP_TIMEOUT = 30.0
FORBIDDEN_CALLS = frozenset({
    "open", "compile", "globals", "locals", "vars", "input", "type", "memoryview", "help",
    "exit", "quit", "dir", "setattr", "delattr", "eval", "exec", "breakpoint", "hasattr",
    "object", "super", "classmethod", "staticmethod", "property"})


def _message(exc: BaseException, line: int | None = None) -> str:
    if isinstance(exc, ScriptError):
        text = str(exc)
    elif isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        text = _("未定义的名称 '{name}'").format(name=name)
    elif isinstance(exc, MemoryError):
        text = _("脚本内存超限")
    elif isinstance(exc, RecursionError):
        text = _("脚本递归过深")
    elif isinstance(exc, ZeroDivisionError):
        text = _("除数为零: {exc}").format(exc=exc)
    elif isinstance(exc, KeyError):
        text = _("键不存在: {exc}").format(exc=exc)
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


# -- compiling ------------------------------------------------------------------------------
def _refused_attribute(name: str) -> bool:
    return name.startswith("_") or name in BLOCKED_ATTRIBUTES


def _static_problem(tree: ast.AST) -> str | None:
    """The first forbidden construct in reading order, named for a designer (RestrictedPython's
    own words come second). Computed attribute names are left to the run-time guard."""
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = _("不允许导入模块")
        elif isinstance(node, ast.Attribute) and _refused_attribute(node.attr):
            text = _("不允许访问属性 '{attr}'").format(attr=node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "getattr" and len(node.args) > 1 \
                and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str) and _refused_attribute(node.args[1].value):
            text = _("不允许访问属性 '{value}'").format(value=node.args[1].value)
        elif isinstance(node, ast.Name) and node.id.startswith("_") and node.id != "_":
            text = _("不允许使用下划线开头的名称 '{id}'").format(id=node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FORBIDDEN_CALLS:
            text = _("不允许调用 {id}").format(id=node.func.id)
        elif isinstance(node, ast.ClassDef):
            text = _("不允许定义类")
        else:
            continue
        found.append(((line or 0, node.end_col_offset or 0), f"{text}, line {line}"))
    return min(found)[1] if found else None


def _explain(error: str) -> str:
    lowered = error.lower()
    if "import" in lowered:
        reason = _("不允许导入模块")
    elif "invalid variable name" in lowered or "invalid attribute name" in lowered:
        reason = _("不允许使用下划线开头的名称或属性")
    elif "not allowed" in lowered:
        reason = _("不允许的语法")
    else:
        reason = _("脚本无法编译")
    return f"{reason}: {error}"


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> tuple[Any, Plan | None]:
    """(code, plan) for valid designer code (plan None: it runs in a worker); ScriptError
    otherwise, whatever the source (deep nesting, null bytes, huge literals). Thread-safe."""
    if mode not in ("exec", "eval"):
        raise ScriptError(_("未知的编译模式: {mode!r}").format(mode=mode))
    if not isinstance(source, str):
        raise ScriptError(_("脚本必须是文本"))
    if len(source) > MAX_SOURCE:
        raise ScriptError(_("脚本过长: {MAX_SOURCE}").format(MAX_SOURCE=MAX_SOURCE))
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:     # IndentationError and TabError too
        raise ScriptError(_("脚本无法编译: {msg}, line {lineno}").format(msg=exc.msg, lineno=exc.lineno)) from None
    except (ValueError, MemoryError, RecursionError, OverflowError) as exc:
        raise ScriptError(_("脚本无法编译: {name}: {exc}").format(name=type(exc).__name__, exc=exc)) from None
    if deeper_than(tree, ast.iter_child_nodes, MAX_DEPTH):
        raise ScriptError(_("代码嵌套过深, 请拆分: {MAX_DEPTH}").format(MAX_DEPTH=MAX_DEPTH))
    problem = _static_problem(tree)
    if problem:
        raise ScriptError(problem)
    shape = plan(link_parents(tree))
    try:
        result = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(
            tree, filename="<string>")
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as exc:
        raise ScriptError(_("脚本无法编译: {name}: {exc}").format(name=type(exc).__name__, exc=exc)) from None
    if result.errors:
        raise ScriptError(_explain(result.errors[0]))
    return result.code, shape


def check_source(source: str, mode: str) -> list[str]:
    """Problems that keep designer code from running (deploy-time check); empty when fine."""
    try:
        _compile(source, mode)
    except ScriptError as exc:
        return [str(exc)]
    return []


# -- running --------------------------------------------------------------------------------
def _storable(value: Any, depth: int = 0) -> bool:
    """What the workflow serializer can store: JSON values, datetimes and timedeltas. Called on
    measured values only (bounded size)."""
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


def _bounded(value: Any, what: str) -> Any:
    try:
        measure(value, MAX_RESULT_SIZE)
    except TooLarge:
        raise ScriptError(_("{what}过大: {value}").format(
                              what=what, value=MAX_RESULT_SIZE // 1024 // 1024)) from None
    return value


def _run(code, mode: str, context: dict, external: dict, functions: dict):
    """Returns (value, None) for eval, (True, the task data after the script) for exec.

    One namespace, as spiff's own environment uses: comprehensions see the task's data.
    New values that cannot be stored (ranges, functions, sets, dates) are dropped like spiff
    drops callables; refused when they replace task data; untouched task data passes as is.
    Every new value is measured: nothing larger than MAX_RESULT_SIZE comes back."""
    reserved = {**functions}
    env = {**BASE_GLOBALS, **functions, **external, **context}
    if IS_SET not in env:
        env[IS_SET] = reserved[IS_SET] = make_is_set(env, reserved)
    if mode == "eval":
        value = eval(code, env)
        if any(value is v for v in context.values()):
            return value, None           # task data as it is: not built here
        return _bounded(value, "表达式的结果"), None
    exec(code, env)
    data = {}
    for key, value in env.items():
        if key.startswith("_") or (key not in context and (key in reserved or key in external)):
            continue
        if key in context and context[key] is value:
            data[key] = value
            continue
        try:
            measure(value, MAX_RESULT_SIZE)
        except TooLarge:
            raise ScriptError(_("变量 '{key}' 过大: {value}").format(
                                  key=key, value=MAX_RESULT_SIZE // 1024 // 1024)) from None
        if _storable(value):
            data[key] = value
        elif type(value) is int:
            raise ScriptError(_("变量 '{key}' 的数值过大").format(key=key))
        elif key in context:
            raise ScriptError(_("变量 '{key}' 的值无法保存: {name}").format(
                                  key=key, name=type(value).__name__))
    return True, data


def _run_guarded(code, mode: str, context: dict, external: dict, functions: dict):
    try:
        return _run(code, mode, context, external, functions)
    except BaseException as exc:   # noqa: BLE001 - SystemExit too: designer code raised it
        raise ScriptError(_message(exc, _script_line(exc) if mode == "exec" else None)) from exc


def _small_inputs(shape: Plan, context: dict, external: dict) -> bool:
    """The variables in-process code reads measure small together (the walk stops early)."""
    budget = MAX_CHEAP_INPUT
    for name in shape.reads:
        for source in (context, external):
            if name in source:
                try:
                    budget -= measure(source[name], budget)
                except TooLarge:
                    return False
                break
    return True


class SandboxEnvironment:
    """A SpiffWorkflow script environment (same contract as its TaskDataEnvironment)."""

    def __init__(self, time_limit: float = 2.0, memory_limit_mb: int = 256,
                 functions: dict | None = None, workers: int | None = None):
        from .sandbox_worker import function_references

        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self.functions = dict(functions or {})
        self.globals = self.functions      # spiff's environments expose their globals
        self._references = function_references(self.functions)   # what a worker imports
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
            raise ScriptError(_("任务数据与预定义函数或变量同名，请改名: {sorted_overwrites}").format(
                                  sorted_overwrites=sorted(overwrites)))
        _result, data = self._call(script, "exec", context, external)
        for key in [k for k in context if k not in data]:
            del context[key]
        context.update(data)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        raise ScriptError(_("服务任务不在沙箱中调用"))

    # running ------------------------------------------------------------------------------
    def runs_in_server(self, source: str, mode: str, context: dict,
                       external: dict | None = None) -> bool:
        """Whether this code on this data is cheap enough for the server process."""
        _, shape = _compile(source, mode)
        return shape is not None and shape.called <= self._cheap_functions \
            and _small_inputs(shape, context, external or {})

    def _call(self, source: str, mode: str, context: dict, external: dict):
        code, _ = _compile(source, mode)
        if self.runs_in_server(source, mode, context, external):
            return _run_guarded(code, mode, context, external, self.functions)
        return self._in_worker(source, mode, context, external)

    def _in_worker(self, source: str, mode: str, context: dict, external: dict):
        from .clock import utcnow
        from .sandbox_worker import WireError, encode_request

        try:
            request = encode_request(source, mode, context, external, utcnow())
        except WireError as exc:
            raise ScriptError(_("任务数据无法传给脚本进程: {exc}").format(exc=exc)) from None
        worker = self._checkout()
        try:
            status, value, data, retire = worker.call(request, self.time_limit)
        except TimeoutError:
            self._discard(worker)
            raise ScriptError(_("脚本运行超时: {time_limit:g}").format(time_limit=self.time_limit)) from None
        except WireError as exc:
            self._discard(worker)
            raise ScriptError(_("脚本进程的回复无效, 已拒绝: {exc}").format(exc=exc)) from None
        except (EOFError, OSError) as exc:
            self._discard(worker)
            raise ScriptError(_("脚本内存超限或进程异常: {exc}").format(exc=exc)) from exc
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
                    raise ScriptError(_("脚本进程繁忙，请稍后重试"))
                self._pool.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            from .sandbox_worker import _Worker

            return _Worker(self.memory_limit_mb, self._references, self.time_limit)
        except BaseException as exc:
            with self._pool:
                self._started -= 1
                self._pool.notify()
            raise ScriptError(_("脚本进程无法启动: {exc!r}").format(exc=exc)) from exc

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
