"""Process instances: start, read, cancel, retry, history."""
from __future__ import annotations

from typing import Callable

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from engine import instances as commands
from engine.schema import audit_events, instances
from processes import disclosure, policy, starting
from processes.actors import actor_name, people_names
from processes.schema import users

from .auth import allow, checked, current
from .ext import services
from .paging import paged, query
from .schemas import (CancelSchema, HistoryEventSchema, InstanceDetailSchema, InstanceQuery,
                      InstanceSchema, StartSchema)
from .views import instance_detail, instance_summary

blp = Blueprint("instances", __name__, url_prefix="/api/v1/instances",
                description="流程实例 (process instances)")


def readable(conn, instance_id: str, action: str = "instance.read"):
    """The instance, when the caller may take `action` on it; 404 or 403 otherwise."""
    return policy.load(conn, current(), action, instance_id)


def _normalised(variables):
    """The project code a person typed, as the projects table spells it (no stray blanks)."""
    if isinstance(variables, dict) and isinstance(variables.get("project_code"), str):
        return {**variables, "project_code": policy.normalise_key(variables["project_code"])}
    return variables


@blp.route("")
class Instances(MethodView):
    @blp.arguments(StartSchema)
    @blp.response(201, InstanceDetailSchema)
    @allow("instance.start")
    def post(self, body):
        """启动流程实例 (start an instance; runs to its next wait state)"""
        engine, principal = services(), current()
        # checks and start in one transaction: one fewer per start (two PostgreSQL round trips)
        with engine.unit(principal.username) as unit:
            conn = unit.conn
            definition = engine.definition(conn, body["process_key"], body.get("version"))
            business_key, variables = starting.prepare(
                conn, commands.start_form(engine, conn, definition),
                policy.normalise_key(body.get("business_key")), _normalised(body.get("variables")))
            policy.check_start(conn, principal, (definition.meta or {}).get("start_lane"),
                               business_key, variables or {})
            handle = commands.start(engine, unit, body["process_key"], business_key, variables,
                                    body.get("version"), by_person=True, definition=definition)
            # the answer read in the same transaction (its own writes, as they commit)
            return instance_detail(engine, conn, handle.id)

    @paged(blp, InstanceSchema, "instance.list", InstanceQuery)
    def get(self, args):
        """流程实例列表 (filter by process_key, state, business_key)"""
        # the starter's name with each row (people read names, not user names)
        stmt = select(instances, users.c.display_name.label("started_by_name")).outerjoin(
            users, users.c.username == instances.c.started_by).where(
            policy.instance_clause(current()))
        for name in ("process_key", "state", "business_key"):
            if name in args:
                stmt = stmt.where(getattr(instances.c, name) == args[name])
        return query(stmt.order_by(instances.c.started_at.desc()), instance_summary)


@blp.route("/<string:instance_id>")
class Instance(MethodView):
    @blp.response(200, InstanceDetailSchema)
    @allow("instance.read")
    def get(self, instance_id):
        """流程实例详情 (state, variables, open tasks, what it waits for, incidents)"""
        engine = services()
        with engine.db.read() as conn:
            return instance_detail(engine, conn, instance_id, readable(conn, instance_id))


def _command(instance_id: str, action: str, work: Callable) -> dict:
    """An instance command: the check (404, 403), `work(engine, unit)` in its own unit, then
    the instance as it is after it."""
    engine = services()
    checked(action, instance_id)
    with engine.unit(current().username) as unit:
        work(engine, unit)
    with engine.db.read() as conn:
        return instance_detail(engine, conn, instance_id)


@blp.route("/<string:instance_id>/cancel")
class Cancel(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, InstanceDetailSchema)
    @allow("instance.cancel")
    def post(self, body, instance_id):
        """撤销流程实例 (cancel with a reason)"""
        return _command(instance_id, "instance.cancel",
                        lambda engine, unit: commands.cancel(engine, unit, instance_id,
                                                             body["reason"]))


@blp.route("/<string:instance_id>/retry")
class Retry(MethodView):
    @blp.response(200, InstanceDetailSchema)
    @allow("instance.retry")
    def post(self, instance_id):
        """重试故障步骤 (run the failed step again after an incident)"""
        return _command(instance_id, "instance.retry",
                        lambda engine, unit: commands.retry(engine, unit, instance_id))


@blp.route("/<string:instance_id>/history")
class History(MethodView):
    @blp.response(200, HistoryEventSchema(many=True))
    @allow("instance.history")
    def get(self, instance_id):
        """审计轨迹 (the instance's audit trail, oldest first)"""
        with services().db.read() as conn:
            inst = readable(conn, instance_id, "instance.history")
            rows = conn.execute(select(audit_events).where(
                audit_events.c.instance_id == instance_id).order_by(audit_events.c.seq)).all()
            names = people_names(conn, [r.actor for r in rows])
        events = [disclosure.visible_event(current().role, inst.process_key, inst.variables,
                                           dict(r._mapping)) for r in rows]
        for event in events:       # a withheld expert keeps the withheld wording
            event["actor_name"] = actor_name(event["actor"], names)
        return events
