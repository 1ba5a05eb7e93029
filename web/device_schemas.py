"""Schemas of the device endpoints (alarms, telemetry, dead letters, devices, thresholds)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from processes.device_payloads import DEVICE_TYPES

from .schemas import Strict


class DeviceFilter(Schema):
    """Where a device stands and what it is: the filters every device listing takes first."""
    project_code = fields.String(validate=validate.Length(1, 50))
    device_type = fields.String(validate=validate.OneOf(DEVICE_TYPES))


class AlarmQuery(DeviceFilter):
    since = fields.AwareDateTime(format="iso")


class AlarmRecordSchema(Strict):
    id = fields.Integer()
    alarm_id = fields.String()
    device_id = fields.String()
    project_code = fields.String()
    device_type = fields.String()
    type = fields.String()
    level = fields.String()
    level_name = fields.String()
    value = fields.Float(allow_none=True)
    threshold = fields.Float(allow_none=True)
    at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
    source = fields.String(metadata={"description": "mqtt http threshold silence"})
    effect = fields.String(metadata={
        "description": "started: 发起流程; correlated: 送达运行中的流程; merged: 并入同设备同类"
                       "报警正在进行的整改; recorded: 仅记录 (预警或无流程接收); failed: 未能处理, "
                       "见 note"})
    action = fields.String(allow_none=True, metadata={
        "description": "报警分级决策 alarm_routing 给出的处置方式 (record crane_filing merge "
                       "rectification warning_talk)"})
    deadline_hours = fields.Integer(allow_none=True, metadata={"description": "处置时限(小时)"})
    decision_version = fields.Integer(allow_none=True,
                                      metadata={"description": "所用决策表的版本"})
    instances = fields.List(fields.String())
    note = fields.String(allow_none=True)


class IngestResultSchema(Strict):
    status = fields.String(metadata={"description": "accepted duplicate"})
    duplicate = fields.Boolean()
    alarms = fields.List(fields.Dict(), metadata={"description": "alarms raised, with effect"})


class DeadLetterSchema(Strict):
    id = fields.Integer()
    received_at = fields.DateTime()
    source = fields.String()
    topic = fields.String(allow_none=True)
    payload = fields.String(allow_none=True, metadata={"description": "the first 4 KB"})
    size = fields.Integer()
    reason = fields.String()
    errors = fields.Dict()


class DeviceSchema(Strict):
    id = fields.String()
    project_code = fields.String()
    device_type = fields.String()
    name = fields.String()
    crane_id = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "online offline removed"})
    last_seen_at = fields.DateTime(allow_none=True)
    latest = fields.Dict()


class DeviceQuery(DeviceFilter):
    state = fields.String(validate=validate.OneOf(["online", "offline", "removed"]))


class ThresholdSchema(Strict):
    id = fields.Integer(dump_only=True)
    device_type = fields.String(required=True, validate=validate.OneOf(DEVICE_TYPES))
    metric = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_]{1,40}$"))
    level = fields.String(required=True, validate=validate.OneOf(["warning", "alarm", "danger"]))
    limit = fields.Float(required=True, allow_nan=False)
    sustain_seconds = fields.Integer(load_default=0, validate=validate.Range(0, 30 * 86400))
    project_code = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(1, 50))
    device_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 80))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 200))
