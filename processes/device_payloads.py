"""What a device may send (../shared/API.md, MQTT): the topic and the three payload kinds.

Everything here is untrusted input: a payload that fails becomes a dead letter with the reason,
never an exception that stops the listener."""
from __future__ import annotations

import json
import math
import re

from marshmallow import (EXCLUDE, RAISE, Schema, ValidationError, fields, validate,
                         validates_schema)
from engine.i18n import _

MAX_PAYLOAD_BYTES = 64 * 1024
DEVICE_TYPES = ("dust", "pit", "crane", "video")
KINDS = ("telemetry", "alarm", "heartbeat")
LEVEL_ALIASES = {"预警": "warning", "报警": "alarm", "危险报警": "danger",
                 "yellow": "warning", "orange": "alarm", "red": "danger"}
TOPIC = re.compile(r"^jianguan/(?P<project_code>[^/]{1,50})/(?P<device_type>[^/]{1,10})/"
                   r"(?P<device_id>[^/]{1,80})/(?P<kind>[^/]{1,20})$")
SAFE_ID = validate.Regexp(r"^[A-Za-z0-9_.:\-]+$", error=_("只能包含字母、数字和 _ . : -"))


class Refused(Exception):
    """A payload that cannot be accepted; `errors` keyed by field like an API 422."""

    def __init__(self, reason: str, errors: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or {}


class Finite(fields.Float):
    """A number that JSON may carry but a threshold cannot compare (NaN, infinity) refused."""

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        result = super()._validated(value)
        if result is not None and not math.isfinite(result):
            raise ValidationError(_("必须是有限数值"))
        return result


class AlarmPayload(Schema):
    class Meta:
        unknown = EXCLUDE       # gateways add their own fields; they are kept in `payload`

    alarm_id = fields.String(required=True, validate=[validate.Length(1, 120), SAFE_ID])
    type = fields.String(required=True, validate=validate.Length(1, 40))
    level = fields.String(required=True)
    value = Finite(required=True, allow_none=True)
    threshold = Finite(load_default=None, allow_none=True)
    at = fields.AwareDateTime(required=True, format="iso")
    crane_id = fields.String(load_default=None, validate=validate.Length(1, 80))
    message = fields.String(load_default=None, validate=validate.Length(0, 300))

    @validates_schema
    def _level(self, data, **_):
        level = LEVEL_ALIASES.get(data.get("level"), data.get("level"))
        if level not in ("warning", "alarm", "danger"):
            raise ValidationError("须为 warning、alarm 或 danger (预警/报警/危险报警)", "level")


class TelemetryPayload(Schema):
    class Meta:
        unknown = RAISE

    at = fields.AwareDateTime(required=True, format="iso")
    readings = fields.Dict(keys=fields.String(validate=[validate.Length(1, 40), SAFE_ID]),
                           values=Finite(allow_none=False), required=True,
                           validate=validate.Length(max=50))


class HeartbeatPayload(Schema):
    class Meta:
        unknown = EXCLUDE

    at = fields.AwareDateTime(required=True, format="iso")


SCHEMAS = {"alarm": AlarmPayload(), "telemetry": TelemetryPayload(),
           "heartbeat": HeartbeatPayload()}


def parse_topic(topic: str) -> dict:
    match = TOPIC.match(topic or "")
    if match is None:
        raise Refused(_("主题格式应为 jianguan/{项目}/{设备类型}/{设备编号}/{类型}"),
                      {"topic": [topic[:300] if topic else ""]})
    parts = match.groupdict()
    if parts["device_type"] not in DEVICE_TYPES:
        raise Refused(_("未知设备类型 {device_type}").format(device_type=parts['device_type']),
                      {"device_type": [f"须为 {', '.join(DEVICE_TYPES)} 之一"]})
    if parts["kind"] not in KINDS:
        raise Refused(_("未知消息类型 {kind}").format(kind=parts['kind']),
                      {"kind": [f"须为 {', '.join(KINDS)} 之一"]})
    return parts


def decode(raw: bytes | str) -> dict:
    """Bytes off the wire to a JSON object, refusing oversize and non-JSON payloads."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_PAYLOAD_BYTES:
        raise Refused(_("消息过大: {size} 字节, 上限 {MAX_PAYLOAD_BYTES}").format(
                          size=size, MAX_PAYLOAD_BYTES=MAX_PAYLOAD_BYTES))
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(_("不是有效的 JSON: {value}").format(value=str(exc)[:120]))
    except RecursionError:         # nested deeper than the parser goes: a dead letter too
        raise Refused(_("JSON 嵌套过深")) from None
    if not isinstance(body, dict):
        raise Refused(_("消息体必须是 JSON 对象"))
    return body


def load(kind: str, body: dict) -> dict:
    """The validated payload of one kind; its extra fields stay for the record."""
    try:
        data = SCHEMAS[kind].load(body)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        raise Refused(_("字段校验失败"), messages)
    if kind == "alarm":
        data["level"] = LEVEL_ALIASES.get(data["level"], data["level"])
    return data


def check_identity(parts: dict, body: dict) -> None:
    """A payload that names its device must name the one of its topic."""
    for key in ("project_code", "device_type", "device_id"):
        named = body.get(key)
        if named is not None and str(named) != parts[key]:
            raise Refused(_("消息中的 {key} 与主题不一致").format(key=key),
                          {key: [f"主题为 {parts[key]}, 消息为 {str(named)[:80]}"]})
