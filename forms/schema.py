"""Validating submitted task data with a marshmallow schema built from the task's form.

What the server does with the fields form-js treats specially:
- `readonly: true` and expression fields: form-js's own submit() sends their values, so they are
  dropped silently (never stored); rejecting them would fail every submission from the viewer.
- `disabled: true`: form-js never submits these, so a value for one comes from some other
  client and is rejected ("只读字段不可提交 (read-only field)").
- `conditional.hide`: the FEEL condition runs only in the browser, which leaves hidden fields
  out of the data; the server cannot tell whether the field was hidden, so it is never required.
- Like form-js, an empty value ("", [], null, false for a checkbox) of an optional field passes
  without the other checks; for a required field it is "必填项 (required)". Text of spaces only
  counts as empty (form-js would take it). A required dynamic list only has to be sent: zero
  rows is allowed.

The checks themselves, and the rules for dates, are in forms/checks.py.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from threading import Lock

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load

from .checks import (DATE_FORMATS, EMAIL, MAX_FILES, MAX_ROWS, MAX_TEXT, NOT_CHOICE, NOT_NUMBER,
                     PHONE, REQUIRED, at_most, attachment, date_bound, date_format, decimals,
                     emptiness, length, matches, number_range, one_of, pattern, scalar,
                     validator)
from .definition import DATE_BOUND, computed_keys, form_fields
from engine.i18n import _

CACHE_SIZE = 128
READ_ONLY = _("只读字段不可提交")
NOT_OBJECT = _("数据必须是对象")

_cache: OrderedDict = OrderedDict()
_cache_lock = Lock()


class _FormSchema(Schema):
    """Base of every generated schema; subclasses set _drop and _fill."""
    _drop: frozenset = frozenset()      # submitted but ignored (readonly, computed)
    _fill: frozenset = frozenset()      # nested groups holding required fields

    class Meta:
        unknown = RAISE
        register = False                # generated classes stay out of marshmallow's registry

    error_messages = {"unknown": _("未知字段"), "type": NOT_OBJECT}

    @pre_load
    def _prepare(self, data, **kwargs):
        if not isinstance(data, dict) or not (self._drop or self._fill):
            return data
        data = {k: v for k, v in data.items() if k not in self._drop}
        for name in self._fill:     # so a missing group reports its own required fields
            data.setdefault(name, {})
        return data


class _Rejected(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        raise ValidationError(READ_ONLY)


class _Number(fields.Float):
    """A JSON number (or numeric string); ints stay ints, `integer` refuses fractions."""

    def __init__(self, integer: bool = False, as_string: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.integer, self.keep_string = integer, as_string

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "":
            return None                 # an emptied input box: "required" or nothing
        if isinstance(value, str) and len(value) > 100:
            raise ValidationError(NOT_NUMBER)
        number = super()._deserialize(value, attr, data, **kwargs)
        if self.integer and not number.is_integer():
            raise ValidationError(_("必须是整数"))
        if self.keep_string:
            return value.strip() if isinstance(value, str) else _plain(value)
        if isinstance(value, int):
            return value
        return int(number) if self.integer else number


def _plain(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _field(comp: dict, required: bool, partial: bool) -> fields.Field:
    kind = comp["type"]
    rules = comp.get("validate") if isinstance(comp.get("validate"), dict) else {}
    checks: list = []
    messages = {"required": REQUIRED, "null": REQUIRED, "invalid": _("必须是文本")}
    if kind in ("textfield", "textarea"):
        field_cls, kwargs = fields.String, {}
        checks.append(length(rules.get("minLength"), rules.get("maxLength") or MAX_TEXT))
        if rules.get("pattern"):
            checks.append(pattern(rules["pattern"]))
        if rules.get("validationType") == "email":
            checks.append(matches(EMAIL, _("不是有效的邮箱地址")))
        elif rules.get("validationType") == "phone":
            checks.append(matches(PHONE, _("不是有效的电话号码")))
    elif kind == "number":
        digits = comp.get("decimalDigits")
        field_cls = _Number
        kwargs = {"integer": digits == 0, "as_string": bool(comp.get("serializeToString"))}
        messages.update(invalid=NOT_NUMBER, special=NOT_NUMBER, too_large=NOT_NUMBER)
        if isinstance(digits, int) and digits > 0:
            checks.append(decimals(digits))
        if rules.get("min") is not None or rules.get("max") is not None:
            checks.append(number_range(rules.get("min"), rules.get("max")))
    elif kind == "checkbox":
        field_cls, kwargs = fields.Boolean, {"truthy": {True}, "falsy": {False}}
        messages["invalid"] = _("必须是 true 或 false")
    elif kind == "datetime":
        field_cls, kwargs = fields.String, {}
        subtype = comp.get("subtype", "date")
        checks.append(date_format(subtype))
        messages["invalid"] = DATE_FORMATS.get(subtype, DATE_FORMATS["date"])[2]
        if subtype != "time":
            lower = rules.get("minDate") or ("today" if comp.get("disallowPassedDates") is True
                                             else None)
            for bound, is_lower in ((lower, True), (rules.get("maxDate"), False)):
                if isinstance(bound, str) and DATE_BOUND.fullmatch(bound):   # as load_form checks
                    checks.append(date_bound(bound, is_lower))
    elif kind in ("radio", "select", "checklist", "taglist"):
        static = [v["value"] for v in comp.get("values") or [] if isinstance(v, dict) and "value" in v]
        dynamic = comp.get("valuesKey") or comp.get("valuesExpression")
        item = one_of(static) if static and not dynamic else scalar
        if kind in ("radio", "select"):
            field_cls, kwargs = fields.Raw, {}
            checks.append(item)
        else:
            field_cls = fields.List
            kwargs = {"cls_or_instance": fields.Raw(validate=item, error_messages={"null": NOT_CHOICE})}
            messages["invalid"] = _("必须是列表")
            checks.append(at_most(MAX_ROWS, "项", "items"))
    elif kind == "filepicker":
        messages["invalid"] = _("不是有效的附件")
        if comp.get("multiple"):
            field_cls = fields.List
            kwargs = {"cls_or_instance": fields.Raw(validate=attachment,
                                                    error_messages={"null": messages["invalid"]})}
            messages["invalid"] = _("必须是附件列表")
            checks.append(at_most(MAX_FILES, "个附件", "files"))
        else:
            field_cls, kwargs = fields.String, {}
            checks.append(attachment)
    elif kind == "dynamiclist":
        row = _schema_class(form_fields({"components": comp.get("components")}),
                            computed_keys({"components": comp.get("components")}), partial)
        field_cls = fields.List
        kwargs = {"cls_or_instance": fields.Nested(row, error_messages={
            "type": _("每一行必须是对象"),
            "null": _("每一行必须是对象")})}
        messages["invalid"] = _("必须是列表")
        checks.append(at_most(MAX_ROWS, "行", "rows"))
    else:
        field_cls, kwargs = fields.Raw, {}
    return field_cls(required=required, allow_none=not required, error_messages=messages,
                     validate=validator(checks, required, emptiness(kind)), **kwargs)


def _required(comp: dict) -> bool:
    # A field the form can hide cannot be required by the server: its FEEL condition is
    # evaluated only in the browser (form-js leaves hidden fields out of the submission).
    rules = comp.get("validate") if isinstance(comp.get("validate"), dict) else {}
    hideable = isinstance(comp.get("conditional"), dict) and bool(comp["conditional"].get("hide"))
    return rules.get("required") is True and not hideable


def _schema_class(field_list: list[dict], computed: list[str], partial: bool) -> type[Schema]:
    tree: dict = {}
    for comp in field_list:
        parts = comp["key"].split(".")
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if "type" in child and isinstance(child.get("type"), str):
                break                   # "a" is a field and "a.b" too: load_form refuses it
            node = child
        else:
            node[parts[-1]] = comp
    for key in computed:
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if isinstance(node.get("type"), str):
                break
        else:
            node.setdefault(parts[-1], {"type": "expression"})

    def build(node: dict) -> tuple[type[Schema], bool]:
        declared: dict = {}
        drop, fill, any_required = set(), set(), False
        for name, value in node.items():
            kind = value.get("type") if isinstance(value.get("type"), str) else None
            if kind is None:                                # a nested group path
                inner, inner_required = build(value)
                if not inner._declared_fields:
                    # only read-only values (facts shown to the person): dropped like them,
                    # or an empty object would replace what the process holds there
                    drop.add(name)
                    continue
                declared[name] = fields.Nested(inner, required=False, error_messages={
                    "type": NOT_OBJECT, "null": NOT_OBJECT})
                if inner_required:
                    fill.add(name)
                    any_required = True
            elif kind == "expression" or value.get("readonly") is True:
                drop.add(name)
            elif value.get("disabled") is True:
                declared[name] = _Rejected(allow_none=True)
            else:
                required = _required(value) and not partial
                declared[name] = _field(value, required, partial)
                any_required = any_required or required
        attrs = {**declared, "_drop": frozenset(drop), "_fill": frozenset(fill)}
        return type("FormSchema", (_FormSchema,), attrs), any_required

    return build(tree)[0]


def build_schema(form: dict, partial: bool = False) -> Schema:
    """A schema instance for the form's submissions; partial=True for drafts (nothing required)."""
    digest = hashlib.sha256(json.dumps(form, sort_keys=True, ensure_ascii=False,
                                       default=str).encode()).hexdigest()
    key = (form.get("id"), digest, partial)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    schema = _schema_class(form_fields(form), computed_keys(form), partial)()
    with _cache_lock:
        _cache[key] = schema
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return schema


def validate_submission(form: dict, data: dict, partial: bool = False) -> dict:
    """Cleaned, JSON-ready data; marshmallow.ValidationError with messages keyed by field.

    Keys with dots come back nested ({"a": {"b": ...}}), dynamic-list row errors are keyed by
    the row index as a string ("0", "1", ...).
    """
    if not isinstance(data, dict):
        raise ValidationError({"data": [NOT_OBJECT]})
    try:
        cleaned = build_schema(form, partial).load(data)
    except ValidationError as exc:
        raise ValidationError(_string_keys(exc.messages)) from None
    return json.loads(json.dumps(cleaned, ensure_ascii=False))


def _string_keys(messages):
    if isinstance(messages, dict):
        return {str(k): _string_keys(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_string_keys(m) for m in messages]
    return messages
