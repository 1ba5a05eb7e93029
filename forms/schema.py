"""Validating submitted task data with a marshmallow schema built from the task's form."""
from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from datetime import date, datetime, time
from threading import Lock

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .definition import form_fields

MAX_TEXT = 10_000
MAX_ROWS = 200
REQUIRED = "必填项 (required)"
_cache: OrderedDict = OrderedDict()
_cache_lock = Lock()


class _FormSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "未知字段 (unknown field)",
                      "type": "数据必须是对象 (must be an object)"}


def _messages(kind: str) -> dict:
    invalid = {"number": "不是有效的数字 (not a valid number)",
               "checkbox": "必须是是/否 (must be true or false)",
               "list": "必须是列表 (must be a list)"}.get(kind, "必须是文本 (must be text)")
    return {"required": REQUIRED, "null": REQUIRED, "invalid": invalid}


def _parses(parse, what: str, english: str):
    def check(value: str) -> None:
        try:
            parse(value)
        except (TypeError, ValueError):
            raise ValidationError(f"不是有效的{what} (not a valid {english})") from None
    return check


def _finite(value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("不是有效的数字 (not a valid number)")


def _field(comp: dict, required: bool) -> fields.Field:
    kind = comp["type"]
    rules = comp.get("validate") or {}
    opts = {"required": required, "allow_none": not required, "error_messages": _messages(kind)}
    checks: list = []
    if kind in ("textfield", "textarea"):
        lo, hi = rules.get("minLength"), rules.get("maxLength") or MAX_TEXT
        checks.append(validate.Length(min=lo, max=hi, error=(
            f"长度需在 {lo or 0} 到 {hi} 之间 (length must be between {lo or 0} and {hi})")))
        if rules.get("pattern"):
            checks.append(validate.Regexp(f"(?:{rules['pattern']})\\Z", error=(
                "格式不正确 (does not match the required pattern)")))
        return fields.String(validate=checks, **opts)
    if kind == "number":
        lo, hi = rules.get("min"), rules.get("max")
        checks.append(_finite)
        if lo is not None or hi is not None:
            checks.append(validate.Range(min=lo, max=hi, error=(
                f"数值需在 {lo if lo is not None else '-∞'} 到 {hi if hi is not None else '∞'} 之间 "
                "(out of range)")))
        cls = fields.Integer if comp.get("decimalDigits") == 0 else fields.Float
        return cls(validate=checks, **opts)
    if kind == "checkbox":
        return fields.Boolean(**opts)
    if kind == "datetime":
        subtype = comp.get("subtype", "date")
        parse, what, english = {"date": (date.fromisoformat, "日期", "date"),
                                "time": (time.fromisoformat, "时间", "time")}.get(
            subtype, (datetime.fromisoformat, "日期时间", "datetime"))
        return fields.String(validate=[validate.Length(max=40), _parses(parse, what, english)],
                             **opts)
    if kind in ("radio", "select", "checklist", "taglist"):
        static = [v["value"] for v in comp.get("values") or [] if isinstance(v, dict)]
        one_of = validate.OneOf(static, error="不是有效的选项 (not one of the allowed values)") \
            if static else validate.Length(max=MAX_TEXT)
        if kind in ("radio", "select"):
            return fields.Raw(validate=one_of, **opts)
        return fields.List(fields.Raw(validate=one_of), validate=validate.Length(max=MAX_ROWS),
                           **opts)
    if kind == "filepicker":
        if comp.get("multiple"):
            return fields.List(fields.String(validate=validate.Length(1, 100)),
                               validate=validate.Length(max=50), **opts)
        return fields.String(validate=validate.Length(1, 100), **opts)
    if kind == "dynamiclist":
        row = _schema_class(form_fields({"components": comp.get("components", [])}), False)
        return fields.List(fields.Nested(row), validate=validate.Length(max=MAX_ROWS, error=(
            f"最多 {MAX_ROWS} 行 (at most {MAX_ROWS} rows)")), **opts)
    return fields.Raw(**opts)


def _required(comp: dict) -> bool:
    # A field the form can hide cannot be required by the server: its FEEL condition is
    # evaluated only in the browser.
    return bool((comp.get("validate") or {}).get("required")) and not comp.get("conditional")


def _schema_class(field_list: list[dict], partial: bool) -> type[Schema]:
    tree: dict = {}
    for comp in field_list:
        if comp.get("disabled") or comp.get("readonly") is True:
            continue       # shown, never submitted
        parts = comp["key"].split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = comp

    def build(node: dict) -> type[Schema]:
        declared = {}
        for name, value in node.items():
            if "type" in value and isinstance(value.get("type"), str):
                declared[name] = _field(value, _required(value) and not partial)
            else:
                declared[name] = fields.Nested(build(value), required=False)
        return _FormSchema.from_dict(declared)

    return build(tree)


def build_schema(form: dict, partial: bool = False) -> Schema:
    digest = hashlib.sha256(json.dumps(form, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    key = (digest, partial)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    schema = _schema_class(form_fields(form), partial)()
    with _cache_lock:
        _cache[key] = schema
        while len(_cache) > 256:
            _cache.popitem(last=False)
    return schema


def validate_submission(form: dict, data: dict, partial: bool = False) -> dict:
    """Cleaned, JSON-ready data; marshmallow.ValidationError keyed by field otherwise."""
    if not isinstance(data, dict):
        raise ValidationError({"data": ["数据必须是对象 (must be an object)"]})
    cleaned = build_schema(form, partial).load(data)
    return json.loads(json.dumps(cleaned, ensure_ascii=False, default=str))
