"""The inbox and task actions."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from engine import read_model
from engine import tasks as commands
from engine.clock import utcnow
from engine.schema import instances
from processes import disclosure, inbox, policy

from .auth import allow, current
from .ext import memo, services
from .paging import Listing, ListingPage
from .schemas import CompleteSchema, InstanceDetailSchema, TaskDetailSchema, TaskQuery, TaskSchema
from .views import instance_detail, task_summary

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务 (tasks)")


@blp.route("")
class Inbox(MethodView):
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskSchema(many=True))
    @blp.paginate(ListingPage)
    @allow("task.list")
    def get(self, query):
        """我的待办 (open tasks the caller may act on)"""
        principal = current()

        def fetch(offset: int, limit: int):
            with services().db.read() as conn:
                return inbox.page(conn, memo("inbox"), principal, query, offset, limit, utcnow())
        return Listing(fetch, lambda r: task_summary(r, r.business_key))


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
        can_act = policy.can_act_on_task(conn, principal, task_id)
        inst = conn.execute(select(instances.c.business_key).where(
            instances.c.id == row.instance_id)).first()
        data = task_summary(row, inst.business_key if inst else None)
        data["form"] = engine.latest_form(conn, row.form_key)
        data["draft"] = row.draft
        data["can_act"] = can_act and row.state == "open"
        current_data = read_model.task_data(engine, conn, row.instance_id, task_id) \
            if row.state == "open" else {}
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
    with engine.db.read() as conn:
        row = policy.load(conn, principal, action, task_id)
    engine.retrying(principal.username, lambda unit: work(engine, unit, row, principal))
    return row


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
                abort(409, message=f"任务已由 {row.assignee} 认领 (claimed by someone else)")
            if override and row.role != principal.role:
                unit.record("task.admin_override", row.instance_id, task_id, role=row.role)
            commands.complete(engine, unit, task_id, body["data"])
        row = _act(task_id, "task.complete", complete)
        with services().db.read() as conn:
            return instance_detail(services(), conn, row.instance_id)
