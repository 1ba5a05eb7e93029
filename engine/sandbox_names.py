"""What designer code can name: the guards RestrictedPython calls, the builtins, the read-only
modules (`math`, `datetime`, `decimal`, `statistics`), a `str.format` that reaches no attribute,
and `is_set`. Shared by the server's in-process path and the worker processes."""
from __future__ import annotations

import datetime as _datetime_module
import decimal
import math
import operator
import statistics
import string
import types
from _string import formatter_field_name_split
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable

from RestrictedPython import safe_builtins
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr_raise)
from RestrictedPython.PrintCollector import PrintCollector
from engine.i18n import _

MAX_RANGE = 1_000_000
# Attributes that lead from an object to frames, code or globals without an underscore.
BLOCKED_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "cr_frame", "cr_code", "cr_await",
    "cr_origin", "ag_frame", "ag_code", "ag_await", "f_globals", "f_locals", "f_builtins",
    "f_back", "f_code", "f_trace", "tb_frame", "tb_next", "co_code", "func_globals",
    "func_code", "mro"})
FORMAT_METHODS = frozenset({"format", "format_map"})


class ScriptError(ValueError):
    """A designer's code was refused or failed; the message says why in Chinese and English.

    A ValueError because spiff's error formatter expects one (a SyntaxError without a line
    number crashes it)."""


# -- read-only modules --------------------------------------------------------------------------
class ReadOnlyModule:
    """A module's harmless public members as attributes: no submodules (statistics.sys), no
    underscore names, nothing to assign."""

    __slots__ = ("_name", "_members")

    def __init__(self, name: str, members: dict):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_members", types.MappingProxyType(dict(members)))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            raise AttributeError(_("模块 {name} 没有 '{name2}'").format(name=self._name, name2=name)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise ScriptError(_("模块 {name} 只读").format(name=self._name))

    def __dir__(self):
        return sorted(self._members)

    def __repr__(self) -> str:
        return f"<只读模块 {self._name}>"


def _public(module, names=None, without=()) -> dict:
    names = names if names is not None else [n for n in dir(module) if not n.startswith("_")]
    return {n: getattr(module, n) for n in names if n not in without
            and not isinstance(getattr(module, n), types.ModuleType)}


# decimal's shared contexts are mutable process state: a worker serves many instances.
_DECIMAL_STATE = {"getcontext", "setcontext", "localcontext", "DefaultContext", "BasicContext",
                  "ExtendedContext", "HAVE_CONTEXTVAR", "HAVE_THREADS"}
MODULES = {
    "math": ReadOnlyModule("math", _public(math)),
    "decimal": ReadOnlyModule("decimal", _public(decimal, without=_DECIMAL_STATE)),
    "statistics": ReadOnlyModule("statistics", _public(statistics, statistics.__all__)),
}
# `datetime` stays the class designers call (datetime(2026, 1, 1), datetime.now()) and also
# answers the module's names, so datetime.datetime.now() and datetime.timedelta(...) work too.
DATETIME_MODULE_NAMES = {"datetime": datetime, "date": date, "time": time,
                         "timedelta": timedelta, "timezone": timezone,
                         "tzinfo": _datetime_module.tzinfo, "MINYEAR": _datetime_module.MINYEAR,
                         "MAXYEAR": _datetime_module.MAXYEAR, "UTC": timezone.utc}


# -- str.format without attribute access ----------------------------------------------------------
class _SafeFormatter(string.Formatter):
    """str.format as designers use it ('{}', '{0}', '{name}', '{x[key]}', specs); a field that
    reaches an attribute ('{0.__class__}') or indexes anything but plain data is refused."""

    def get_field(self, field_name, args, kwargs):
        first, rest = formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            if is_attribute:
                raise ScriptError(_("format 格式串中不允许访问属性 '{key}'").format(key=key))
            if type(obj) not in (dict, list, tuple):
                raise ScriptError(_("format 格式串只能索引字典和列表"))
            obj = obj[key]
        return obj, first


_FORMATTER = _SafeFormatter()


def _format(template: str, *args: Any, **kwargs: Any) -> str:
    if not isinstance(template, str):
        raise ScriptError(_("format 需要字符串"))
    return _FORMATTER.vformat(template, args, kwargs)


def _format_map(template: str, mapping: dict) -> str:
    if not isinstance(template, str):
        raise ScriptError(_("format_map 需要字符串"))
    return _FORMATTER.vformat(template, (), mapping)


_SAFE_FORMAT = {"format": _format, "format_map": _format_map}


# -- guards -------------------------------------------------------------------------------------
def guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    if not isinstance(name, str):
        raise ScriptError(_("属性名必须是字符串"))
    if name.startswith("_") or name in BLOCKED_ATTRIBUTES:
        raise ScriptError(_("不允许访问属性 '{name}'").format(name=name))
    if name in FORMAT_METHODS:
        if obj is str:
            return _SAFE_FORMAT[name]
        if isinstance(obj, str):
            return lambda *args, **kwargs: _SAFE_FORMAT[name](obj, *args, **kwargs)
    if obj is datetime and name in DATETIME_MODULE_NAMES:
        return DATETIME_MODULE_NAMES[name]
    return safer_getattr_raise(obj, name, *default)


def _write(obj: Any) -> Any:
    # Item assignment and deletion on data containers only; no attribute assignment anywhere.
    if type(obj) in (dict, list):
        return obj
    raise ScriptError(_("不允许修改 {name} 对象").format(name=type(obj).__name__))


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
            "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
            "**=": operator.ipow, "|=": operator.ior, "&=": operator.iand,
            "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptError(_("不支持的运算 {op}").format(op=op))
    return _INPLACE[op](x, y)


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ScriptError(_("range 过大: {MAX_RANGE}").format(MAX_RANGE=MAX_RANGE))
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
        "reversed": reversed, "range": _range, "getattr": guarded_getattr,
        "date": date, "datetime": datetime, "timedelta": timedelta, "timezone": timezone,
        **MODULES})
    return allowed


BUILTINS = _make_builtins()
BASE_GLOBALS = {
    "__builtins__": BUILTINS, "__name__": "designer_script", "__metaclass__": type,
    "_getattr_": guarded_getattr, "_getitem_": default_guarded_getitem, "_getiter_": iter,
    "_write_": _write, "_inplacevar_": _inplacevar, "_apply_": _apply,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence, "_print_": PrintCollector}
IS_SET = "is_set"


def make_is_set(env: dict, reserved: dict) -> Callable[[str], bool]:
    """is_set("name"): the script's data has a variable of that name whose value is not None
    (reading an unset variable is an error; this asks first)."""
    def is_set(name: str) -> bool:
        if not isinstance(name, str) or name.startswith("_") or name not in env:
            return False
        value = env[name]
        return value is not None and not (name in reserved and reserved[name] is value)
    return is_set
