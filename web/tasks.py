"""The inbox and task actions."""
from __future__ import annotations

import hashlib
import json

from flask import jsonify, make_response, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate, validates_schema, ValidationError
from sqlalchemy import select

from engine import read_model
from engine import tasks as commands
from engine.clock import utcnow
from engine.schema import instances
from processes import assignment, disclosure, inbox, policy

from .auth import allow, checked, current
from .ext import memo, services
from .paging import Listing, paged
from .schemas import CompleteSchema, InstanceDetailSchema, TaskDetailSchema, TaskQuery, TaskSchema
from .views import instance_detail, task_summary
from engine.i18n import _

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务 (tasks)")


class InboxQuery(TaskQuery):
    q = fields.String(validate=validate.Length(1, 100),
                      metadata={"description": "搜索: 项目名称/编号, 任务名称, 流程名称"})
    due_from = fields.Date(metadata={"description": "期限起 (含, 北京时间日期)"})
    due_to = fields.Date(metadata={"description": "期限止 (含)"})
    sort = fields.String(validate=validate.OneOf(sorted(inbox.SORTS)))
    order = fields.String(validate=validate.OneOf(["asc", "desc"]))
    view = fields.String(validate=validate.OneOf(["open", "done"]),
                         metadata={"description": "open 待办 (默认) | done 已办 (我办理完成的)"})

    @validates_schema
    def _range(self, data, **_kw):
        if data.get("due_from") and data.get("due_to") and data["due_from"] > data["due_to"]:
            raise ValidationError("期限止不能早于期限起", "due_to")


class InboxTaskSchema(TaskSchema):
    ended_at = fields.DateTime(allow_none=True)


class HandOverSchema(Schema):
    to = fields.String(metadata={"description": "同事的用户名 (same role and scope)"})
    note = fields.String(validate=validate.Length(max=500))


class SavedFilterSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 50))
    query = fields.Dict(keys=fields.String(), required=True)


class SavedFiltersSchema(Schema):
    filters = fields.List(fields.Nested(SavedFilterSchema), load_default=list)


@blp.route("")
class Inbox(MethodView):
    @paged(blp, InboxTaskSchema, "task.list", InboxQuery)
    def get(self, query):
        """我的待办 (open tasks the caller may act on)"""
        principal = current()

        def fetch(offset: int, limit: int):
            with services().db.read() as conn:
                return inbox.page(conn, memo("inbox"), principal, query, offset, limit, utcnow())
        return Listing(fetch, lambda r: {**task_summary(r, r.business_key),
                                         "ended_at": r.ended_at})


@blp.route("/summary")
class Summary(MethodView):
    @allow("task.summary")
    def get(self):
        """待办概况 (counts; ETag, answers 304 while nothing changed: poll it to refresh)"""
        with services().db.read() as conn:
            body = inbox.summary(conn, current(), utcnow())
        etag = hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        if etag in request.if_none_match:
            answer = make_response("", 304)
        else:
            answer = jsonify(body)
        answer.set_etag(etag)
        answer.headers["Cache-Control"] = "no-cache"
        return answer


@blp.route("/filters")
class Filters(MethodView):
    @blp.response(200, SavedFiltersSchema)
    @allow("filter.list")
    def get(self):
        """我保存的筛选 (the caller's saved inbox filters)"""
        with services().db.read() as conn:
            return {"filters": assignment.filters_of(conn, current().username)}

    @blp.arguments(SavedFiltersSchema)
    @blp.response(200, SavedFiltersSchema)
    @allow("filter.save")
    def put(self, body):
        """保存筛选 (replace the caller's saved filters)"""
        with services().db.write() as conn:
            return {"filters": assignment.save_filters(conn, current().username, utcnow(),
                                                       body["filters"])}


@blp.route("/<string:task_id>")
class Task(MethodView):
    @blp.response(200, TaskDetailSchema)
    @allow("task.read")
    def get(self, task_id):
        """任务详情, 含表单定义 (the task with its form, data, lane and due date)"""
        return task_detail(task_id)


def task_detail(task_id: str) -> dict:
    engine, principal = services(), current()
    with engine.db.read() as conn:
        row = policy.load(conn, principal, "task.read", task_id)
        can_act = policy.acts_on(row)
        inst = conn.execute(select(instances.c.business_key).where(
            instances.c.id == row.instance_id)).first()
        data = task_summary(row, inst.business_key if inst else None)
        data["form"] = engine.latest_form(conn, row.form_key)
        data["draft"] = row.draft
        data["can_act"] = can_act and row.state == "open"
        # a completed task reopens with what was submitted (issue 14, defect 7)
        current_data = read_model.task_data(engine, conn, row.instance_id, task_id) \
            if row.state == "open" else read_model.submitted_data(conn, row.instance_id, task_id)
        data["data"] = _visible_data(disclosure.visible_variables(
            principal.role, row.process_key, current_data), data["form"])
    return data


def _visible_data(data: dict, form: dict | None) -> dict:
    """Current values of the form's own fields (the task form shows them, nothing more)."""
    if form is None:
        return {}
    from forms.definition import form_fields

    keys = {f["key"].split(".")[0] for f in form_fields(form) if f.get("key")}
    return {k: v for k, v in data.items() if k in keys}


def _act(task_id: str, action: str, work):
    engine, principal = services(), current()

    def checked(unit):
        # the check in the write transaction itself: one transaction (two round trips on
        # PostgreSQL) fewer per action, and the row it checked is the one the work sees
        row = policy.load(unit.conn, principal, action, task_id)
        work(engine, unit, row, principal)
        return row
    return engine.retrying(principal.username, checked)


@blp.route("/<string:task_id>/claim")
class Claim(MethodView):
    @blp.response(200, TaskSchema)
    @allow("task.claim")
    def post(self, task_id):
        """认领任务 (take a task of your role)"""
        row = _act(task_id, "task.claim",
                   lambda e, u, r, p: commands.claim(e, u, task_id, p.username))
        with services().db.read() as conn:
            return task_summary(commands.task_row(conn, row.id))


@blp.route("/<string:task_id>/unclaim")
class Unclaim(MethodView):
    @blp.response(200, TaskSchema)
    @allow("task.unclaim")
    def post(self, task_id):
        """释放任务 (release a task you claimed; admins may release any)"""
        row = _act(task_id, "task.unclaim", lambda e, u, r, p: commands.unclaim(
            e, u, task_id, p.username, force=policy.overrides_tasks(p)))
        with services().db.read() as conn:
            return task_summary(commands.task_row(conn, row.id))


@blp.route("/<string:task_id>/draft")
class Draft(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, TaskDetailSchema)
    @allow("task.draft")
    def post(self, body, task_id):
        """暂存表单 (save a draft: types are checked, required fields are not)"""
        def draft(engine, unit, row, principal):
            # another's claimed task is his to fill (read in the write: a claim may just land)
            policy.check_claim(principal, commands.task_row(unit.conn, task_id))
            commands.save_draft(engine, unit, task_id, body["data"])
        _act(task_id, "task.draft", draft)
        return task_detail(task_id)


@blp.route("/<string:task_id>/complete")
class Complete(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, InstanceDetailSchema)
    @blp.alt_response(409, description="任务已不在办理状态 (no longer open)")
    @blp.alt_response(422, description="表单校验错误, 按字段 (field errors)")
    @allow("task.complete")
    def post(self, body, task_id):
        """办理完成 (complete with form data; the instance runs to its next wait state)"""
        def complete(engine, unit, row, principal):
            override = policy.overrides_tasks(principal)
            if row.assignee and row.assignee != principal.username and not override:
                abort(409, message=_("任务已由 {assignee} 认领").format(assignee=row.assignee))
            if override and row.role != principal.role:
                unit.record("task.admin_override", row.instance_id, task_id, role=row.role)
            commands.complete(engine, unit, task_id, body["data"])
            # the answer read in the same transaction (its own writes, as they commit)
            answer[:] = [instance_detail(engine, unit.conn, row.instance_id)]
        answer: list = []
        _act(task_id, "task.complete", complete)
        return answer[0]


def _hand_over(task_id: str, body: dict, mode: str) -> dict:
    action = "task.delegate" if mode == "delegate" else "task.assign"
    engine, principal = services(), current()
    checked(action, task_id)
    with engine.unit(principal.username) as unit:
        assignment.hand_over(unit, task_id, principal, body.get("to"), mode, body.get("note"))
    with engine.db.read() as conn:
        return task_summary(commands.task_row(conn, task_id))


@blp.route("/<string:task_id>/assign")
class Assign(MethodView):
    @blp.arguments(HandOverSchema)
    @blp.response(200, TaskSchema)
    @allow("task.assign")
    def post(self, body, task_id):
        """指派给同事 (to a colleague of the task's role and scope; 403 otherwise)"""
        return _hand_over(task_id, body, "assign")


@blp.route("/<string:task_id>/delegate")
class Delegate(MethodView):
    @blp.arguments(HandOverSchema)
    @blp.response(200, TaskSchema)
    @allow("task.delegate")
    def post(self, body, task_id):
        """委托同事办理 (the holder hands his claimed task to a colleague)"""
        return _hand_over(task_id, body, "delegate")


@blp.route("/<string:task_id>/colleagues")
class Colleagues(MethodView):
    @allow("task.colleagues")
    def get(self, task_id):
        """可指派的同事 (users of the task's role who may act on it)"""
        principal = current()
        with services().db.read() as conn:
            policy.load(conn, principal, "task.colleagues", task_id)
            return jsonify(assignment.colleagues(conn, task_id, principal))
