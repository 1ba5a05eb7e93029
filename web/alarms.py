"""Alarms and telemetry from gateways over HTTP (the same path as MQTT), and what they did."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select

from processes import access
from processes.alarms import Envelope, ingest, query
from processes.device_payloads import MAX_PAYLOAD_BYTES
from processes.schema import dead_letters, projects
from processes.thresholds import LEVEL_NAMES

from .auth import authenticated, current, roles
from .device_schemas import (AlarmQuery, AlarmRecordSchema, DeadLetterSchema,
                             IngestResultSchema)
from .ext import services

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
    @roles("admin", "gateway")
    def post(self):
        """设备报警 (an alarm, as on MQTT): records it and starts or reaches a process"""
        return _ingest("alarm")

    @blp.arguments(AlarmQuery, location="query")
    @blp.response(200, AlarmRecordSchema(many=True))
    @blp.paginate()
    @authenticated
    def get(self, args, pagination_parameters):
        """收到的报警及其处理结果, 最新在前 (alarms received and what each did)"""
        principal = current()
        visible = select(projects.c.code).where(access.project_clause(principal))
        stmt = query(None, args.get("device_type"), args.get("since"))
        stmt = stmt.where(stmt.selected_columns.project_code.in_(visible))
        if args.get("project_code"):
            stmt = stmt.where(stmt.selected_columns.project_code == args["project_code"])
        with services().db.read() as conn:
            pagination_parameters.item_count = conn.execute(
                select(func.count()).select_from(stmt.order_by(None).subquery())).scalar()
            rows = conn.execute(stmt.limit(pagination_parameters.page_size)
                                .offset(pagination_parameters.first_item)).all()
        return [{**r._mapping, "level_name": LEVEL_NAMES.get(r.level, r.level)} for r in rows]


@blp.route("/telemetry")
class Telemetry(MethodView):
    @blp.doc(**BODY_DOC)
    @blp.response(200, IngestResultSchema)
    @blp.alt_response(422, description="无效数据: 已存入死信 (dead letter)")
    @roles("admin", "gateway")
    def post(self):
        """监测数据或心跳 (telemetry, or `"kind": "heartbeat"`): limits crossed raise alarms"""
        return _ingest("telemetry")


@blp.route("/dead-letters")
class DeadLetters(MethodView):
    @blp.response(200, DeadLetterSchema(many=True))
    @blp.paginate()
    @roles("admin", "gateway", "auditor", "leader")
    def get(self, pagination_parameters):
        """被拒收的消息及原因, 最新在前 (payloads refused, with the reason)"""
        stmt = select(dead_letters).order_by(dead_letters.c.id.desc())
        with services().db.read() as conn:
            pagination_parameters.item_count = conn.execute(
                select(func.count()).select_from(dead_letters)).scalar()
            rows = conn.execute(stmt.limit(pagination_parameters.page_size)
                                .offset(pagination_parameters.first_item)).all()
        return [dict(r._mapping) for r in rows]
