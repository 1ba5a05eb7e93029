"""Loading and checking a form-js form definition (the JSON the form-js editor writes)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

MAX_FORM_BYTES = 1024 * 1024
MAX_COMPONENTS = 500
FORM_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
INPUT_TYPES = {"textfield", "textarea", "number", "checkbox", "checklist", "radio", "select",
               "taglist", "datetime", "filepicker", "dynamiclist"}
STATIC_TYPES = {"text", "html", "image", "spacer", "separator", "iframe", "table", "button",
                "expression", "group", "default"}
CHOICE_TYPES = {"checklist", "radio", "select", "taglist"}


@dataclass
class FormProblem:
    path: str
    message: str


class FormDefinitionError(Exception):
    def __init__(self, problems: list[FormProblem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems[:5]))
        self.problems = problems


def load_form(content: bytes | str, file_name: str = "") -> dict:
    """The parsed form, or FormDefinitionError listing every problem with its JSON path."""
    raw = content.encode() if isinstance(content, str) else content
    if len(raw) > MAX_FORM_BYTES:
        raise FormDefinitionError([FormProblem("$", "表单定义超过 1 MB (form too large)")])
    try:
        form = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormDefinitionError([FormProblem("$", f"不是有效的 JSON (not valid JSON): {exc}")]) from None
    problems: list[FormProblem] = []
    if not isinstance(form, dict):
        raise FormDefinitionError([FormProblem("$", "表单定义必须是对象 (must be a JSON object)")])
    if not isinstance(form.get("id"), str) or not FORM_ID.match(form["id"]):
        problems.append(FormProblem("id", "表单 id 缺失或无效 (id missing or invalid)"))
    if "name" in form and not isinstance(form["name"], str):
        problems.append(FormProblem("name", "名称必须是文本 (name must be text)"))
    components = form.get("components")
    if not isinstance(components, list):
        problems.append(FormProblem("components", "components 必须是数组 (must be a list)"))
    else:
        counter = [0]
        _check_components(components, "components", problems, set(), counter)
    if problems:
        raise FormDefinitionError(problems)
    return form


def _check_components(components: list, path: str, problems: list, keys: set,
                      counter: list) -> None:
    for i, comp in enumerate(components):
        here = f"{path}[{i}]"
        counter[0] += 1
        if counter[0] > MAX_COMPONENTS:
            problems.append(FormProblem(here, f"字段过多 (more than {MAX_COMPONENTS} components)"))
            return
        if not isinstance(comp, dict):
            problems.append(FormProblem(here, "字段必须是对象 (component must be an object)"))
            continue
        kind = comp.get("type")
        if kind not in INPUT_TYPES | STATIC_TYPES:
            problems.append(FormProblem(f"{here}.type", f"表单字段类型未知 '{kind}' (unknown field type)"))
            continue
        if kind in INPUT_TYPES:
            key = comp.get("path") if kind == "dynamiclist" else comp.get("key")
            if not isinstance(key, str) or not KEY.match(key):
                problems.append(FormProblem(f"{here}.key", f"字段 key 无效 '{key}' (key must be an identifier)"))
            elif key in keys:
                problems.append(FormProblem(f"{here}.key", f"字段 key 重复 '{key}' (duplicate key)"))
            else:
                keys.add(key)
            _check_validate(comp, here, problems)
            if kind in CHOICE_TYPES:
                _check_values(comp, here, problems)
        if kind in ("group", "dynamiclist"):
            inner = comp.get("components", [])
            if not isinstance(inner, list):
                problems.append(FormProblem(f"{here}.components", "必须是数组 (must be a list)"))
            else:
                prefix = comp.get("path") if kind == "group" else None
                inner_keys: set = set() if kind == "dynamiclist" else keys
                before = set(inner_keys)
                _check_components(inner, f"{here}.components", problems, inner_keys, counter)
                if prefix and kind == "group":
                    keys |= {f"{prefix}.{k}" for k in inner_keys - before}


def _check_validate(comp: dict, here: str, problems: list) -> None:
    rules = comp.get("validate", {})
    if not isinstance(rules, dict):
        problems.append(FormProblem(f"{here}.validate", "必须是对象 (must be an object)"))
        return
    checks = {"required": bool, "min": (int, float), "max": (int, float), "minLength": int,
              "maxLength": int, "pattern": str}
    for name, kind in checks.items():
        if name in rules and rules[name] is not None and (
                not isinstance(rules[name], kind) or (kind is int and isinstance(rules[name], bool))):
            problems.append(FormProblem(f"{here}.validate.{name}", f"类型错误 ({name} has the wrong type)"))
    pattern = rules.get("pattern")
    if isinstance(pattern, str):
        if len(pattern) > 500:
            problems.append(FormProblem(f"{here}.validate.pattern", "正则过长 (pattern too long)"))
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(FormProblem(f"{here}.validate.pattern", f"正则无效 (bad pattern): {exc}"))


def _check_values(comp: dict, here: str, problems: list) -> None:
    if comp.get("valuesKey") or comp.get("valuesExpression"):
        return
    values = comp.get("values")
    if not isinstance(values, list) or not values or not all(
            isinstance(v, dict) and "value" in v for v in values):
        problems.append(FormProblem(f"{here}.values",
                                    "选项必须是 {label, value} 列表 (values must list {label, value})"))


def form_fields(form: dict) -> list[dict]:
    """Input fields with their full key ("group.key"); a dynamic list is one field of rows."""
    out: list[dict] = []

    def walk(components: list, prefix: str) -> None:
        for comp in components:
            if not isinstance(comp, dict):
                continue
            kind = comp.get("type")
            if kind == "group":
                inner = f"{prefix}{comp['path']}." if comp.get("path") else prefix
                walk(comp.get("components", []), inner)
            elif kind == "dynamiclist":
                out.append({**comp, "key": prefix + comp.get("path", "")})
            elif kind in INPUT_TYPES and comp.get("key"):
                out.append({**comp, "key": prefix + comp["key"]})

    walk(form.get("components", []), "")
    return out
