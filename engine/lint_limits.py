"""Deploy-time limits on what a diagram may ask of the engine: call activities that call each
other in a cycle, multi-instance counts written as literals above a limit, timers that fire more
often than a minimum. Limits come from EngineSettings (`limits_of`)."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from engine.i18n import _

HUGE = 10 ** 18         # any count beyond what could be computed cheaply


@dataclass(frozen=True)
class Limits:
    max_multi_instance: int = 1000       # a literal multi-instance count or collection
    min_timer_seconds: float = 60.0      # a literal timer duration or cycle period


def limits_of(settings) -> Limits:
    """The deploy limits of an EngineSettings (defaults for what it does not set)."""
    default = Limits()
    return Limits(
        max_multi_instance=getattr(settings, "max_multi_instance", default.max_multi_instance),
        min_timer_seconds=getattr(settings, "min_timer_seconds", default.min_timer_seconds))


# -- literal counts ---------------------------------------------------------------------------------
def _int(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _int(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        left, right = _int(node.left), _int(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return min(left + right, HUGE)
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return min(left * right, HUGE) if abs(left) < HUGE and abs(right) < HUGE else HUGE
        if isinstance(node.op, ast.FloorDiv) and right:
            return left // right
        if isinstance(node.op, ast.Pow) and right >= 0:
            return HUGE if right > 64 or abs(left) > 10 ** 6 else min(left ** right, HUGE)
    return None


def static_count(node: ast.AST) -> int | None:
    """How many items a literal count or collection has: 20000, 200 * 100, range(20000),
    list(range(...)), [..] * 500, len([...]); None when it depends on data."""
    number = _int(node)
    if number is not None:
        return number
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return None
        return len(node.elts)
    if isinstance(node, ast.Dict):
        return len(node.keys)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, times in ((node.left, node.right), (node.right, node.left)):
            n, k = static_count(seq), _int(times)
            if isinstance(seq, (ast.List, ast.Tuple)) and n is not None and k is not None:
                return min(n * max(k, 0), HUGE)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name, args = node.func.id, node.args
        if name == "range" and 1 <= len(args) <= 3:
            bounds = [_int(a) for a in args]
            if all(b is not None and abs(b) < HUGE for b in bounds) and bounds[-1] != 0:
                return min(len(range(*bounds)), HUGE)
        elif name in ("len", "list", "tuple", "set", "sorted") and len(args) == 1:
            return static_count(args[0])
    return None


def _parsed(text: str | None, mode: str) -> ast.AST | None:
    if not text or not text.strip():
        return None
    try:
        return ast.parse(text.strip() if mode == "eval" else text, mode=mode)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None           # reported by the sandbox's own check


def cardinality(text: str | None) -> int | None:
    tree = _parsed(text, "eval")
    return static_count(tree.body) if tree is not None else None


def literal_collections(scripts: list[str]) -> dict[str, int]:
    """Variables that scripts set to literal collections, with their largest size."""
    found: dict[str, int] = {}
    for text in scripts:
        tree = _parsed(text, "exec")
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                count = static_count(node.value)
                if count is not None and not isinstance(node.value, ast.Constant):
                    name = node.targets[0].id
                    found[name] = max(found.get(name, 0), count)
    return found


# -- timers ---------------------------------------------------------------------------------------
def timer_period(kind: str, value: str) -> float | None:
    """Seconds between firings of an ISO 8601 duration or cycle (None for dates)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as T

    try:
        if kind == "timeDuration":
            start = datetime(2026, 1, 1, tzinfo=timezone.utc)
            return (T.get_timedelta_from_start(T.parse_iso_duration(value), start)
                    .total_seconds())
        if kind == "timeCycle":
            return T.parse_iso_recurring_interval(value)[2].total_seconds()
    except Exception:   # spiff raises a mix of ValueError, TypeError, IndexError
        return None
    return None


# -- the checks lint runs (lint: engine.lint._Lint) ------------------------------------------------
def multi_instance_count(lint, multi, node, cardinality_text: str | None,
                         input_ref: str | None) -> None:
    """A literal count (or a collection a script sets literally) above the limit."""
    limit = lint.limits.max_multi_instance
    count = cardinality(cardinality_text)
    what = "loopCardinality"
    if count is None:
        what = (input_ref or "").strip()
        count = lint.collections.get(what)
    if count is not None and count > limit:
        shown = f"{count}" if count < 10 ** 12 else _("极大")
        lint.add(multi, _("多实例数量 {shown} ({what}) 超过上限 {limit}, 请分批处理").format(
                            shown=shown, what=what, limit=limit), node.get("id"))


def check_timer_period(lint, kind: str, value: str, node) -> None:
    """A literal duration or cycle period under the minimum."""
    minimum = lint.limits.min_timer_seconds
    period = timer_period(kind, value)
    if period is not None and period < minimum:
        what = "周期" if kind == "timeCycle" else "时长"
        lint.add(node, _("定时器{what} '{value}' 短于 {minimum:g} 秒的下限: {value2}").format(
                           what=what, value=value, minimum=minimum,
                           value2='cycle' if kind == 'timeCycle' else 'duration'))


# -- call cycles ----------------------------------------------------------------------------------
def call_cycle(start: str, calls: dict[str, list[str]]) -> list[str] | None:
    """A path start → … → start through `calls` (process id → called ids), or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in calls.get(node, []):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


_CALENDAR = re.compile(r"P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?")
MAX_TIMER_MONTHS = 1200


def too_long_duration(value: str) -> bool:
    """A duration in `value` (alone or in a cycle) of more than 100 years: spiff adds the
    months one at a time, so P99999999Y would keep a deploy busy for minutes."""
    for part in value.upper().split("/"):
        found = _CALENDAR.match(part.strip().lstrip("R"))
        if found and found.group(0) != "P":
            years, months = (float((g or "0").replace(",", ".")) for g in found.groups())
            if years * 12 + months > MAX_TIMER_MONTHS:
                return True
    return False
