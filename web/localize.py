"""Chinese for the validation messages marshmallow and webargs give by default (English from
the catalogue when the request asks): the API's field errors are read by people filling forms.
The messages are engine.i18n texts, so they render in the language of the answer."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.i18n import _

FIELD_MESSAGES = {
    fields.Field: {"required": _("必填项"), "null": _("不能为空"),
                   "validator_failed": _("值无效")},
    fields.String: {"invalid": _("必须是文本")},
    fields.Integer: {"invalid": _("必须是整数")},
    fields.Number: {"invalid": _("必须是数字"),
                    "too_large": _("数值过大")},
    fields.Float: {"special": _("不允许 NaN 或无穷大")},
    fields.Boolean: {"invalid": _("必须是是/否")},
    fields.Mapping: {"invalid": _("必须是对象")},
    fields.List: {"invalid": _("必须是列表")},
    fields.DateTime: {"invalid": _("日期时间格式无效: {obj_type}")},
}


def localize() -> None:
    """Called once by the app factory (idempotent)."""
    for cls, messages in FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.default_error_messages, **messages}
    Schema._default_error_messages = {**Schema._default_error_messages,
                                      "type": _("数据类型无效"),
                                      "unknown": _("未知字段")}
    validate.Length.message_min = _("长度不能少于 {min}")
    validate.Length.message_max = _("长度不能超过 {max}")
    validate.Length.message_all = _("长度需在 {min} 到 {max} 之间")
    validate.Length.message_equal = _("长度必须为 {equal}")
    validate.Range.message_min = _("不能小于 {{min}}")
    validate.Range.message_max = _("不能大于 {{max}}")
    validate.Range.message_all = _("须在 {{min}} 到 {{max}} 之间")
    validate.OneOf.default_message = _("必须是以下之一: {choices}")
