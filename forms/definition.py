"""Loading and checking a form-js form definition (the JSON the form-js editor writes).

The form's `id` is the formKey a BPMN user task names. Problems are collected, not raised one by
one, so a designer sees every mistake of a file at once.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from engine.i18n import _
from engine.nesting import deeper_than

MAX_FORM_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_NESTING = 10            # groups / dynamic lists inside each other
MAX_COMPONENTS = 500
MAX_PATTERN = 500
FORM_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}(\.[A-Za-z][A-Za-z0-9_]{0,63}){0,7}$")
# validate.minDate / maxDate of a date field: relative to today, or a fixed date
DATE_BOUND = re.compile(r"today(?P<offset>[+-]\d{1,5})?|(?P<fixed>\d{4}-\d{2}-\d{2})")

# Components whose value lands in the submitted data under their `key`.
KEYED_TYPES = {"textfield", "textarea", "number", "checkbox", "checklist", "radio", "select",
               "taglist", "datetime", "filepicker", "expression"}
CONTAINER_TYPES = {"group", "dynamiclist"}
STATIC_TYPES = {"text", "html", "image", "spacer", "separator", "iframe", "table", "button"}
KNOWN_TYPES = KEYED_TYPES | CONTAINER_TYPES | STATIC_TYPES
CHOICE_TYPES = {"checklist", "radio", "select", "taglist"}
DATETIME_SUBTYPES = {"date", "time", "datetime"}


@dataclass
class FormProblem:
    path: str        # JSON path into the form, e.g. "components[3].type"
    message: str     # Chinese, English in parentheses


class FormDefinitionError(Exception):
    def __init__(self, problems: list[FormProblem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems[:5]))
        self.problems = problems


def load_form(content: bytes | str, file_name: str = "") -> dict:
    """The parsed form, or FormDefinitionError listing every problem with its JSON path."""
    raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if len(raw) > MAX_FORM_BYTES:
        raise FormDefinitionError([FormProblem("$", _("表单定义超过 1 MB"))])
    try:
        form = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        detail = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise FormDefinitionError(
            [FormProblem("$", _("不是有效的 JSON, {detail}").format(detail=detail))]) from None
    if deeper_than(form, _json_children, MAX_JSON_DEPTH):
        raise FormDefinitionError([FormProblem("$", _("嵌套过深: {MAX_JSON_DEPTH}").format(
                                                        MAX_JSON_DEPTH=MAX_JSON_DEPTH))])
    if not isinstance(form, dict):
        raise FormDefinitionError([FormProblem("$", _("表单定义必须是 JSON 对象"))])
    problems: list[FormProblem] = []
    form_id = form.get("id")
    if not isinstance(form_id, str) or not form_id:
        problems.append(FormProblem("id", _("缺少表单 id")))
    elif not FORM_ID.match(form_id):
        problems.append(FormProblem(
            "id", _("表单 id 无效 '{value}'").format(value=form_id[:100])))
    if "name" in form and not isinstance(form["name"], str):
        problems.append(FormProblem("name", _("名称必须是文本")))
    components = form.get("components")
    if not isinstance(components, list):
        problems.append(FormProblem("components", _("components 必须是数组")))
    else:
        checker = _Checker(problems)
        checker.components(components, "components", "", checker.keys, 0)
        checker.conflicts(checker.keys)
    if problems:
        raise FormDefinitionError(problems)
    return form


def _json_children(value) -> Iterable:
    return value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()


class _Checker:
    def __init__(self, problems: list[FormProblem]):
        self.problems = problems
        self.keys: dict[str, str] = {}      # full key -> JSON path, one scope (form or row)
        self.ids: set[str] = set()
        self.count = 0

    def add(self, path: str, message: str) -> None:
        self.problems.append(FormProblem(path, message))

    def components(self, components: list, path: str, prefix: str, keys: dict,
                   depth: int) -> None:
        if depth > MAX_NESTING:
            self.add(path, _("分组嵌套过深: {MAX_NESTING}").format(MAX_NESTING=MAX_NESTING))
            return
        for i, comp in enumerate(components):
            here = f"{path}[{i}]"
            self.count += 1
            if self.count > MAX_COMPONENTS:
                self.add(here, _("字段过多: {MAX_COMPONENTS}").format(MAX_COMPONENTS=MAX_COMPONENTS))
                return
            if not isinstance(comp, dict):
                self.add(here, _("字段必须是对象"))
                continue
            kind = comp.get("type")
            if kind not in KNOWN_TYPES:
                shown = kind if isinstance(kind, str) else json.dumps(kind)
                self.add(f"{here}.type", _("表单字段类型未知 '{value}'").format(value=shown[:50]))
                continue
            self.common(comp, here)
            if kind in KEYED_TYPES:
                self.key(comp.get("key"), f"{here}.key", prefix, keys)
                self.validate(comp, here)
                if kind in CHOICE_TYPES:
                    self.values(comp, here)
                if kind == "datetime" and comp.get("subtype", "date") not in DATETIME_SUBTYPES:
                    self.add(f"{here}.subtype",
                             _("日期字段 subtype 必须是 date、time 或 datetime"))
                self.date_rules(comp, here)
                if kind == "number" and "decimalDigits" in comp and not _is_int(
                        comp["decimalDigits"], 0):
                    self.add(f"{here}.decimalDigits", _("小数位数必须是非负整数"))
            elif kind in CONTAINER_TYPES:
                self.container(comp, here, prefix, keys, depth)

    def container(self, comp: dict, here: str, prefix: str, keys: dict, depth: int) -> None:
        inner = comp.get("components", [])
        group_path = comp.get("path")
        if comp["type"] == "dynamiclist":
            # The list is one value (a list of row objects) under its path; keys inside a row
            # are relative to the row, so they get a scope of their own.
            self.key(group_path, f"{here}.path", prefix, keys)
            self.validate(comp, here)
            inner_prefix, inner_keys = "", {}
        else:
            if group_path not in (None, ""):
                if not isinstance(group_path, str) or not KEY.match(group_path):
                    self.add(f"{here}.path", _("分组 path 无效 '{group_path}'").format(
                                                 group_path=group_path))
                    group_path = None
            inner_prefix = f"{prefix}{group_path}." if group_path else prefix
            inner_keys = keys
        if not isinstance(inner, list):
            self.add(f"{here}.components", _("components 必须是数组"))
            return
        self.components(inner, f"{here}.components", inner_prefix, inner_keys, depth + 1)
        if inner_keys is not keys:
            self.conflicts(inner_keys)

    def common(self, comp: dict, here: str) -> None:
        comp_id = comp.get("id")
        if comp_id is not None:
            if not isinstance(comp_id, str):
                self.add(f"{here}.id", _("字段 id 必须是文本"))
            elif comp_id in self.ids:
                self.add(f"{here}.id", _("字段 id 重复 '{value}'").format(value=comp_id[:100]))
            else:
                self.ids.add(comp_id)
        props = comp.get("properties")
        if props is not None and not (isinstance(props, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in props.items())):
            self.add(f"{here}.properties", _("properties 必须是文本键值对"))
        conditional = comp.get("conditional")
        if conditional is not None and not (
                isinstance(conditional, dict) and isinstance(conditional.get("hide", ""), str)):
            self.add(f"{here}.conditional", _("conditional.hide 必须是表达式文本"))

    def key(self, key, here: str, prefix: str, keys: dict) -> None:
        if not isinstance(key, str) or not KEY.match(key):
            shown = key if isinstance(key, str) else json.dumps(key)
            self.add(here, _("字段 key 无效 '{value}'").format(value=shown[:100]))
            return
        full = prefix + key
        if full in keys:
            self.add(here, _("字段 key 重复 '{full}': {value}").format(full=full, value=keys[full]))
        else:
            keys[full] = here

    def conflicts(self, keys: dict) -> None:
        # "a" and "a.b" cannot both hold a value: a would be a text and an object at once.
        for full, here in keys.items():
            parts = full.split(".")
            for n in range(1, len(parts)):
                parent = ".".join(parts[:n])
                if parent in keys:
                    self.add(here, _("字段 key '{full}' 与 '{parent}' 冲突").format(
                                       full=full, parent=parent))
                    break

    def validate(self, comp: dict, here: str) -> None:
        rules = comp.get("validate")
        if rules is None:
            return
        if not isinstance(rules, dict):
            self.add(f"{here}.validate", _("validate 必须是对象"))
            return
        at = f"{here}.validate"
        if "required" in rules and not isinstance(rules["required"], bool):
            self.add(f"{at}.required", _("required 必须是 true/false"))
        for name in ("min", "max"):
            if rules.get(name) is not None and not _is_number(rules[name]):
                self.add(f"{at}.{name}", _("{name} 必须是数字").format(name=name))
        for name in ("minLength", "maxLength"):
            if rules.get(name) is not None and not _is_int(rules[name], 0):
                self.add(f"{at}.{name}", _("{name} 必须是非负整数").format(name=name))
        for low, high in (("min", "max"), ("minLength", "maxLength")):
            lo, hi = rules.get(low), rules.get(high)
            if _is_number(lo) and _is_number(hi) and lo > hi:
                self.add(f"{at}.{low}", _("{low} 大于 {high}").format(low=low, high=high))
        pattern = rules.get("pattern")
        if pattern is not None and pattern != "":
            if not isinstance(pattern, str):
                self.add(f"{at}.pattern", _("pattern 必须是文本"))
            elif len(pattern) > MAX_PATTERN:
                self.add(f"{at}.pattern", _("正则过长: {MAX_PATTERN}").format(MAX_PATTERN=MAX_PATTERN))
            else:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    self.add(f"{at}.pattern", _("正则表达式无效: {exc}").format(exc=exc))
        kind = rules.get("validationType")
        if kind not in (None, "", "email", "phone", "custom"):
            self.add(f"{at}.validationType", _("validationType 只能是 email、phone 或 custom"))

    def date_rules(self, comp: dict, here: str) -> None:
        """disallowPassedDates (form-js) and validate.minDate / maxDate (ours): date fields only."""
        rules = comp.get("validate") if isinstance(comp.get("validate"), dict) else {}
        dated = comp["type"] == "datetime" and comp.get("subtype", "date") in ("date", "datetime")
        if "disallowPassedDates" in comp and not isinstance(comp["disallowPassedDates"], bool):
            self.add(f"{here}.disallowPassedDates",
                     _("disallowPassedDates 必须是 true/false"))
        for name in ("minDate", "maxDate"):
            bound = rules.get(name)
            if bound is None:
                continue
            at = f"{here}.validate.{name}"
            if not dated:
                self.add(at, _("{name} 只适用于日期字段").format(name=name))
            elif not isinstance(bound, str) or not DATE_BOUND.fullmatch(bound) or not _date_ok(bound):
                self.add(at, _("{name} 必须是 today、today+N、today-N 或 YYYY-MM-DD").format(name=name))

    def values(self, comp: dict, here: str) -> None:
        if comp.get("valuesKey") or comp.get("valuesExpression"):
            for name in ("valuesKey", "valuesExpression"):
                if comp.get(name) and not isinstance(comp[name], str):
                    self.add(f"{here}.{name}", _("{name} 必须是文本").format(name=name))
            return
        values = comp.get("values")
        if not isinstance(values, list) or not values:
            self.add(f"{here}.values", _("缺少选项: 需要 values 或 valuesKey"))
            return
        for i, item in enumerate(values):
            if not (isinstance(item, dict) and "value" in item and "label" in item
                    and isinstance(item["value"], (str, int, float, bool))):
                self.add(f"{here}.values[{i}]",
                         _("选项必须是 {label, value} 且 value 为文本或数字"))


def _date_ok(bound: str) -> bool:
    fixed = DATE_BOUND.fullmatch(bound).group("fixed")
    try:
        return fixed is None or bool(date.fromisoformat(fixed))
    except ValueError:
        return False


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def form_fields(form: dict) -> list[dict]:
    """Input components with their full key ("group_path.key"), in form order.

    A dynamic list is one field: its key is its path (with group prefix), its value a list of
    rows, and its row components stay under "components". Expression fields are left out: their
    value is computed in the browser, never taken from the submitter.
    """
    out: list[dict] = []

    def walk(components, prefix: str) -> None:
        if not isinstance(components, list):
            return
        for comp in components:
            if not isinstance(comp, dict):
                continue
            kind = comp.get("type")
            if kind == "group":
                path = comp.get("path")
                walk(comp.get("components"), f"{prefix}{path}." if path else prefix)
            elif kind == "dynamiclist" and isinstance(comp.get("path"), str):
                out.append({**comp, "key": prefix + comp["path"]})
            elif kind in KEYED_TYPES and kind != "expression" and isinstance(comp.get("key"), str):
                out.append({**comp, "key": prefix + comp["key"]})

    walk(form.get("components"), "")
    return out


def computed_keys(form: dict) -> list[str]:
    """Full keys of expression fields (computed in the browser; dropped from submissions)."""
    out: list[str] = []

    def walk(components, prefix: str) -> None:
        for comp in components if isinstance(components, list) else []:
            if not isinstance(comp, dict):
                continue
            if comp.get("type") == "group":
                path = comp.get("path")
                walk(comp.get("components"), f"{prefix}{path}." if path else prefix)
            elif comp.get("type") == "expression" and isinstance(comp.get("key"), str):
                out.append(prefix + comp["key"])

    walk(form.get("components"), "")
    return out
