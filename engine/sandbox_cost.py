"""Which designer code is provably cheap enough to run inside the server, and how big values are.

The server process runs only straight-line code built from a short list of constructs, with a
bounded number of operations that allocate and a bounded growth of the largest value (each `+`
can double it, a list display repeat its items), on inputs whose measured size is small. Its
time and memory are then at most a small multiple of its input and source sizes. Everything else
(loops, comprehensions, functions, f-strings, str(), format, join, `*` of sequences, `**`, `%`,
calls outside the lists below) runs in a worker process under CPU, memory and time limits.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

MAX_CHEAP_NODES = 200          # AST nodes of in-process code
MAX_CHEAP_ALLOCATIONS = 16     # operations that build a new string, list or dict
MAX_CHEAP_GROWTH = 4           # log2 of how much the largest value may grow: 16 times
MAX_CHEAP_INPUT = 64 * 1024    # measured size of the variables in-process code reads
MAX_RESULT_SIZE = 8 * 1024 * 1024   # measured size of what any designer code hands back

# Calls that end quickly and allocate at most a few times their input: functions by name, plus
# the environment's host functions; methods by name with the log2 of their growth.
CHEAP_FUNCTIONS = frozenset({
    "len", "int", "float", "bool", "abs", "round", "min", "max", "isinstance",
    "datetime", "timedelta", "date", "is_set"})
CHEAP_METHODS = {
    "get": 0, "strip": 0, "lstrip": 0, "rstrip": 0, "lower": 2, "upper": 2, "startswith": 0,
    "endswith": 0, "split": 3, "isdigit": 0, "find": 0, "count": 0, "keys": 0, "values": 0,
    "items": 0, "now": 0, "today": 0, "fromisoformat": 0, "isoformat": 0,
    "total_seconds": 0, "date": 0, "weekday": 0, "timestamp": 0}
ALLOCATING_METHODS = frozenset({"strip", "lstrip", "rstrip", "lower", "upper", "split"})
_NODES = (ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.IfExp,
          ast.Pass, ast.Delete, ast.BoolOp, ast.Compare, ast.UnaryOp, ast.BinOp, ast.Name,
          ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.Call, ast.keyword,
          ast.Tuple, ast.List, ast.Set, ast.Dict, ast.expr_context, ast.boolop, ast.cmpop,
          ast.operator,
          ast.unaryop)
_GROWING = (ast.Add, ast.BitOr, ast.BitAnd, ast.BitXor)
_SHRINKING = (ast.Sub, ast.Div, ast.FloorDiv)


@dataclass(frozen=True)
class Plan:
    """Code that may run in-process: the function names it calls (the environment runs it in
    process only when these are cheap) and the variable names it reads."""
    called: frozenset
    reads: frozenset


def _is_float(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is float


def _growth_of_display(node: ast.AST) -> int:
    items = node.values + [k for k in node.keys if k is not None] if isinstance(node, ast.Dict) \
        else node.elts
    dynamic = sum(not isinstance(i, ast.Constant) for i in items)
    return max(0, dynamic - 1).bit_length() if dynamic else 0


def _call_cost(node: ast.Call) -> tuple[int, int] | None:
    """(allocations, growth) of a cheap call; None when the call is not cheap."""
    if node.keywords and any(kw.arg is None or kw.arg == "key" for kw in node.keywords):
        return None              # max(xs, key=bytes) calls what it is given
    fn = node.func
    if isinstance(fn, ast.Name):
        if fn.id == "round" and len(node.args) > 1:
            digits = node.args[1]   # round(5, -10**7) computes 10**10**7
            if not (isinstance(digits, ast.Constant) and type(digits.value) is int
                    and abs(digits.value) <= 100):
                return None
        return 0, 0              # the environment checks the names (its host functions too)
    if isinstance(fn, ast.Attribute) and fn.attr in CHEAP_METHODS:
        return int(fn.attr in ALLOCATING_METHODS), CHEAP_METHODS[fn.attr]
    return None


def plan(tree: ast.AST) -> Plan | None:
    """The plan when `tree` may run in the server process, None when it must go to a worker."""
    nodes = allocations = growth = 0
    called, bound, reads = set(), set(), set()
    for node in ast.walk(tree):
        nodes += 1
        if nodes > MAX_CHEAP_NODES or not isinstance(node, _NODES) or isinstance(node, ast.Starred):
            return None
        if isinstance(node, (ast.BinOp, ast.AugAssign)):
            op = node.op
            if isinstance(op, _GROWING):
                allocations, growth = allocations + 1, growth + 1
            elif isinstance(op, ast.Mult):
                # a float factor cannot repeat a string or a list
                operands = (node.left, node.right) if isinstance(node, ast.BinOp) else (node.value,)
                if not any(_is_float(o) for o in operands):
                    return None
            elif not isinstance(op, _SHRINKING):
                return None      # ** and << make big numbers, % formats
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
            display = _growth_of_display(node)
            allocations, growth = allocations + bool(display), growth + display
        elif isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Store) and not isinstance(_assigned(node), ast.Constant):
                allocations, growth = allocations + 1, growth + 1
            elif isinstance(node.slice, ast.Slice):
                allocations += 1
        elif isinstance(node, ast.Call):
            cost = _call_cost(node)
            if cost is None:
                return None
            allocations, growth = allocations + cost[0], growth + cost[1]
            if isinstance(node.func, ast.Name):
                called.add(node.func.id)
        elif isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    if allocations > MAX_CHEAP_ALLOCATIONS or growth > MAX_CHEAP_GROWTH or called & bound:
        return None              # `len = sorted; len(...)` calls what it was given
    return Plan(frozenset(called), frozenset(reads - called))


def _assigned(target: ast.AST) -> ast.AST | None:
    parent = getattr(target, "jg_parent", None)
    return getattr(parent, "value", None)


def link_parents(tree: ast.AST) -> ast.AST:
    """Marks each assignment target with its statement (plan() reads the assigned value)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                for sub in ast.walk(target):
                    sub.jg_parent = node
    return tree


# -- measuring values -----------------------------------------------------------------------------
class TooLarge(Exception):
    pass


_FIXED = {bool: 5, float: 24, type(None): 4, datetime: 32, date: 12, time: 16, timedelta: 24}
_CONTAINERS = (list, tuple, set, frozenset, dict)


def _leaf(item) -> int:
    kind = type(item)
    if kind is str:
        return len(item) + 2
    if kind is int:
        return item.bit_length() // 3 + 1
    return _FIXED.get(kind, 16)


def measure(value, budget: int) -> int:
    """About the size of `value` as JSON; TooLarge past `budget` or for a cycle. A list shared
    by reference counts once per reference, as storing it would, yet is walked once: a chain of
    doubling references (x = [x, x], sixty times) is measured in sixty steps, not 2**60."""
    if type(value) not in _CONTAINERS:
        size = _leaf(value)
        if size > budget:
            raise TooLarge(size)
        return size
    sizes: dict[int, int] = {}      # id -> size of each container measured (alive in value)
    open_: set[int] = set()         # containers whose children are being measured
    stack = [value]
    while stack:
        item = stack[-1]
        key = id(item)
        if key in sizes:
            stack.pop()
            continue
        if len(item) > budget:      # each item counts at least one
            raise TooLarge(len(item))
        children = [*item.keys(), *item.values()] if type(item) is dict else item
        pending = [c for c in children if type(c) in _CONTAINERS and id(c) not in sizes]
        if pending:
            if key in open_:
                raise TooLarge("cycle")
            open_.add(key)
            stack.extend(pending)
            continue
        total = len(item) * (2 if type(item) is dict else 1) + 2
        for child in children:
            total += sizes[id(child)] if type(child) in _CONTAINERS else _leaf(child)
            if total > budget:
                raise TooLarge(total)
        sizes[key] = total
        open_.discard(key)
        stack.pop()
    return sizes[id(value)]
