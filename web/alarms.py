"""Alarms and telemetry from gateways over HTTP (the same path as MQTT), and what they did."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from processes import device_records
from processes.alarms import Envelope, ingest
from processes.device_payloads import MAX_PAYLOAD_BYTES

from .auth import allow, current
from .device_schemas import (AlarmQuery, AlarmRecordSchema, DeadLetterSchema,
                             IngestResultSchema)
from .ext import services
from .paging import paged, query

blp = Blueprint("alarms", __name__, url_prefix="/api/v1",
                description="设备报警与监测数据 (device alarms and telemetry)")

BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["project_code", "device_type", "device_id"],
    "description": "the MQTT payload (../API.md) plus the device identity that MQTT carries "
                   "in its topic"}}}}}


def _ingest(kind: str):
    raw = request.get_data(cache=False)
    if len(raw) > MAX_PAYLOAD_BYTES + 1024:
        raw = raw[:MAX_PAYLOAD_BYTES + 1]        # enough to be refused as oversize, and kept
    outcome = ingest(services(), [Envelope("http", raw=raw, kind=kind)],
                     actor=current().username)[0]
    if outcome.status == "dead":
        abort(422, message=outcome.reason, errors=outcome.errors)
    duplicate = outcome.status == "duplicate"
    result = {"status": outcome.status, "duplicate": duplicate,
              "alarms": [{k: v for k, v in a.items() if k != "duplicate"}
                         for a in outcome.alarms]}
    return result, 200 if duplicate or kind != "alarm" else 201


@blp.route("/alarms")
class Alarms(MethodView):
    @blp.doc(**BODY_DOC)
    @blp.response(201, IngestResultSchema)
    @blp.alt_response(200, schema=IngestResultSchema, description="重复的 alarm_id: 不再生效")
    @blp.alt_response(422, description="无效报警: 已存入死信 (dead letter), errors 按字段")
    @allow("alarm.ingest")
    def post(self):
        """设备报警 (an alarm, as on MQTT): records it and routes it by the deployed decision
        `alarm_routing` (starts or reaches a process, or only records it)"""
        return _ingest("alarm")

    @paged(blp, AlarmRecordSchema, "alarm.list", AlarmQuery)
    def get(self, args):
        """收到的报警及其处理结果, 最新在前 (alarms received and what each did)"""
        return query(device_records.alarms_listing(current(), **args),
                     device_records.alarm_record)


@blp.route("/telemetry")
class Telemetry(MethodView):
    @blp.doc(**BODY_DOC)
    @blp.response(200, IngestResultSchema)
    @blp.alt_response(422, description="无效数据: 已存入死信 (dead letter)")
    @allow("telemetry.ingest")
    def post(self):
        """监测数据或心跳 (telemetry, or `"kind": "heartbeat"`): limits crossed raise alarms"""
        return _ingest("telemetry")


@blp.route("/dead-letters")
class DeadLetters(MethodView):
    @paged(blp, DeadLetterSchema, "dead_letter.list")
    def get(self):
        """被拒收的消息及原因, 最新在前 (payloads refused, with the reason)"""
        return query(device_records.dead_letters_listing(current()))
