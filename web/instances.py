"""Process instances: start, read, cancel, retry, history."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select

from engine import instances as commands
from engine.schema import audit_events, instances
from processes import access, disclosure, starting
from processes.schema import projects

from .auth import authenticated, current, roles
from .ext import services
from .schemas import (CancelSchema, HistoryEventSchema, InstanceDetailSchema, InstanceQuery,
                      InstanceSchema, StartSchema)
from .views import instance_detail, instance_summary

blp = Blueprint("instances", __name__, url_prefix="/api/v1/instances",
                description="流程实例 (process instances)")


def readable(conn, instance_id: str):
    row = conn.execute(select(instances).where(instances.c.id == instance_id)).first()
    if row is None:
        abort(404, message=f"流程实例不存在 (instance {instance_id} not found)")
    if not access.can_read_instance(conn, current(), instance_id):
        abort(403, message="无权查看该流程实例 (instance outside your scope)")
    return row


@blp.route("")
class Instances(MethodView):
    @blp.arguments(StartSchema)
    @blp.response(201, InstanceDetailSchema)
    @authenticated
    def post(self, body):
        """启动流程实例 (start an instance; runs to its next wait state)"""
        engine, principal = services(), current()
        with engine.db.read() as conn:
            definition = engine.definition(conn, body["process_key"], body.get("version"))
            start_lane = (definition.meta or {}).get("start_lane")
            if not access.can_start(principal, start_lane):
                abort(403, message=f"只有 {start_lane or '监督机构人员'} 可以启动该流程 "
                                   "(role may not start this process)")
            business_key, variables = starting.prepare(
                conn, commands.start_form(engine, conn, definition), body.get("business_key"),
                body.get("variables"))
            scope = access.scope_of(business_key, variables or {})
            if scope and principal.role != "admin":
                project = conn.execute(select(projects).where(projects.c.code == scope)).first()
                if project is not None and not access.can_see_project(principal, project):
                    abort(403, message="该项目不在您的管辖或所属范围内 (project outside your scope)")
        with engine.unit(principal.username) as unit:
            handle = commands.start(engine, unit, body["process_key"], business_key, variables,
                                    body.get("version"), by_person=True)
        with engine.db.read() as conn:
            return instance_detail(engine, conn, handle.id)

    @blp.arguments(InstanceQuery, location="query")
    @blp.response(200, InstanceSchema(many=True))
    @blp.paginate()
    @authenticated
    def get(self, query, pagination_parameters):
        """流程实例列表 (filter by process_key, state, business_key)"""
        stmt = select(instances).where(access.instance_clause(current()))
        for name in ("process_key", "state", "business_key"):
            if name in query:
                stmt = stmt.where(getattr(instances.c, name) == query[name])
        with services().db.read() as conn:
            total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
            rows = conn.execute(stmt.order_by(instances.c.started_at.desc())
                                .offset(pagination_parameters.first_item)
                                .limit(pagination_parameters.page_size)).all()
        pagination_parameters.item_count = total
        return [instance_summary(r) for r in rows]


@blp.route("/<string:instance_id>")
class Instance(MethodView):
    @blp.response(200, InstanceDetailSchema)
    @authenticated
    def get(self, instance_id):
        """流程实例详情 (state, variables, open tasks, what it waits for, incidents)"""
        engine = services()
        with engine.db.read() as conn:
            readable(conn, instance_id)
            return instance_detail(engine, conn, instance_id)


@blp.route("/<string:instance_id>/cancel")
class Cancel(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, InstanceDetailSchema)
    @roles("admin", "inspector", "leader")
    def post(self, body, instance_id):
        """撤销流程实例 (cancel with a reason)"""
        engine = services()
        with engine.db.read() as conn:
            readable(conn, instance_id)
        with engine.unit(current().username) as unit:
            commands.cancel(engine, unit, instance_id, body["reason"])
        with engine.db.read() as conn:
            return instance_detail(engine, conn, instance_id)


@blp.route("/<string:instance_id>/retry")
class Retry(MethodView):
    @blp.response(200, InstanceDetailSchema)
    @roles("admin", "designer", "inspector")
    def post(self, instance_id):
        """重试故障步骤 (run the failed step again after an incident)"""
        engine = services()
        with engine.db.read() as conn:
            readable(conn, instance_id)
        with engine.unit(current().username) as unit:
            commands.retry(engine, unit, instance_id)
        with engine.db.read() as conn:
            return instance_detail(engine, conn, instance_id)


@blp.route("/<string:instance_id>/history")
class History(MethodView):
    @blp.response(200, HistoryEventSchema(many=True))
    @authenticated
    def get(self, instance_id):
        """审计轨迹 (the instance's audit trail, oldest first)"""
        with services().db.read() as conn:
            inst = readable(conn, instance_id)
            rows = conn.execute(select(audit_events).where(
                audit_events.c.instance_id == instance_id).order_by(audit_events.c.seq)).all()
        return [disclosure.visible_event(current().role, inst.process_key, inst.variables,
                                         dict(r._mapping)) for r in rows]
