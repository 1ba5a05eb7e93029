"""Chinese first, English after, for the validation messages marshmallow and webargs give by
default: the API's field errors are read by people filling forms."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

FIELD_MESSAGES = {
    fields.Field: {"required": "必填项 (required)", "null": "不能为空 (may not be null)",
                   "validator_failed": "值无效 (invalid value)"},
    fields.String: {"invalid": "必须是文本 (not a valid string)"},
    fields.Integer: {"invalid": "必须是整数 (not a valid integer)"},
    fields.Number: {"invalid": "必须是数字 (not a valid number)",
                    "too_large": "数值过大 (number too large)"},
    fields.Float: {"special": "不允许 NaN 或无穷大 (special numeric values are not permitted)"},
    fields.Boolean: {"invalid": "必须是是/否 (not a valid boolean)"},
    fields.Mapping: {"invalid": "必须是对象 (not a valid mapping)"},
    fields.List: {"invalid": "必须是列表 (not a valid list)"},
    fields.DateTime: {"invalid": "日期时间格式无效 (not a valid {obj_type})"},
}


def localize() -> None:
    """Called once by the app factory (idempotent)."""
    for cls, messages in FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.default_error_messages, **messages}
    Schema._default_error_messages = {**Schema._default_error_messages,
                                      "type": "数据类型无效 (invalid input type)",
                                      "unknown": "未知字段 (unknown field)"}
    validate.Length.message_min = "长度不能少于 {min} (shorter than {min})"
    validate.Length.message_max = "长度不能超过 {max} (longer than {max})"
    validate.Length.message_all = "长度需在 {min} 到 {max} 之间 (length must be between {min} and {max})"
    validate.Length.message_equal = "长度必须为 {equal} (length must be {equal})"
    validate.Range.message_min = "不能小于 {{min}} (must be {min_op} {{min}})"
    validate.Range.message_max = "不能大于 {{max}} (must be {max_op} {{max}})"
    validate.Range.message_all = ("须在 {{min}} 到 {{max}} 之间 "
                                  "(must be {min_op} {{min}} and {max_op} {{max}})")
    validate.OneOf.default_message = "必须是以下之一: {choices} (must be one of: {choices})"
