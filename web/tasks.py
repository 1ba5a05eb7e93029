"""The inbox and task actions."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from engine import store
from engine import tasks as commands
from engine.clock import utcnow
from engine.projection import find_task
from engine.schema import instances, tasks
from processes import access, disclosure, inbox

from .auth import authenticated, current
from .ext import memo, services
from .schemas import CompleteSchema, InstanceDetailSchema, TaskDetailSchema, TaskQuery, TaskSchema
from .views import instance_detail, task_summary

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务 (tasks)")


def actionable(conn, task_id: str):
    """The task row, when the caller may act on it; 404 or 403 otherwise."""
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if row is None:
        abort(404, message=f"任务不存在 (task {task_id} not found)")
    if not access.can_act_on_task(conn, current(), task_id):
        abort(403, message="该任务不属于您的角色或管辖范围 (task outside your role or scope)")
    return row


@blp.route("")
class Inbox(MethodView):
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskSchema(many=True))
    @blp.paginate()
    @authenticated
    def get(self, query, pagination_parameters):
        """我的待办 (open tasks the caller may act on)"""
        with services().db.read() as conn:
            total, rows = inbox.page(conn, memo("inbox"), current(), query,
                                     pagination_parameters.first_item,
                                     pagination_parameters.page_size, utcnow())
        pagination_parameters.item_count = total
        return [task_summary(r, r.business_key) for r in rows]


@blp.route("/<string:task_id>")
class Task(MethodView):
    @blp.response(200, TaskDetailSchema)
    @authenticated
    def get(self, task_id):
        """任务详情, 含表单定义 (the task with its form, data, lane and due date)"""
        return task_detail(task_id)


def task_detail(task_id: str) -> dict:
    engine, principal = services(), current()
    with engine.db.read() as conn:
        row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
        if row is None:
            abort(404, message=f"任务不存在 (task {task_id} not found)")
        can_act = access.can_act_on_task(conn, principal, task_id)
        if not can_act and not access.can_read_instance(conn, principal, row.instance_id):
            abort(403, message="无权查看该任务 (task outside your scope)")
        inst = conn.execute(select(instances.c.business_key).where(
            instances.c.id == row.instance_id)).first()
        data = task_summary(row, inst.business_key if inst else None)
        data["form"] = engine.latest_form(conn, row.form_key)
        data["draft"] = row.draft
        data["can_act"] = can_act and row.state == "open"
        spiff_task = find_task(store.load(conn, engine.specs, row.instance_id).workflow,
                               task_id) if row.state == "open" else None
        data["data"] = _visible_data(disclosure.visible_variables(
            principal.role, row.process_key, spiff_task.data if spiff_task else {}), data["form"])
    return data


def _visible_data(data: dict, form: dict | None) -> dict:
    """Current values of the form's own fields (the task form shows them, nothing more)."""
    if form is None:
        return {}
    from forms.definition import form_fields

    keys = {f["key"].split(".")[0] for f in form_fields(form) if f.get("key")}
    return {k: v for k, v in data.items() if k in keys}


def _act(task_id: str, action):
    engine, principal = services(), current()
    with engine.db.read() as conn:
        row = actionable(conn, task_id)
    engine.retrying(principal.username, lambda unit: action(engine, unit, row, principal))
    return row


@blp.route("/<string:task_id>/claim")
class Claim(MethodView):
    @blp.response(200, TaskSchema)
    @authenticated
    def post(self, task_id):
        """认领任务 (take a task of your role)"""
        row = _act(task_id, lambda e, u, r, p: commands.claim(e, u, task_id, p.username))
        with services().db.read() as conn:
            return task_summary(commands.task_row(conn, row.id))


@blp.route("/<string:task_id>/unclaim")
class Unclaim(MethodView):
    @blp.response(200, TaskSchema)
    @authenticated
    def post(self, task_id):
        """释放任务 (release a task you claimed; admins may release any)"""
        row = _act(task_id, lambda e, u, r, p: commands.unclaim(
            e, u, task_id, p.username, force=p.role == "admin"))
        with services().db.read() as conn:
            return task_summary(commands.task_row(conn, row.id))


@blp.route("/<string:task_id>/draft")
class Draft(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, TaskDetailSchema)
    @authenticated
    def post(self, body, task_id):
        """暂存表单 (save a draft: types are checked, required fields are not)"""
        _act(task_id, lambda e, u, r, p: commands.save_draft(e, u, task_id, body["data"]))
        return task_detail(task_id)


@blp.route("/<string:task_id>/complete")
class Complete(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, InstanceDetailSchema)
    @blp.alt_response(409, description="任务已不在办理状态 (no longer open)")
    @blp.alt_response(422, description="表单校验错误, 按字段 (field errors)")
    @authenticated
    def post(self, body, task_id):
        """办理完成 (complete with form data; the instance runs to its next wait state)"""
        def complete(engine, unit, row, principal):
            if row.assignee and row.assignee != principal.username and principal.role != "admin":
                abort(409, message=f"任务已由 {row.assignee} 认领 (claimed by someone else)")
            if principal.role == "admin" and row.role != "admin":
                unit.record("task.admin_override", row.instance_id, task_id, role=row.role)
            commands.complete(engine, unit, task_id, body["data"])
        row = _act(task_id, complete)
        with services().db.read() as conn:
            return instance_detail(services(), conn, row.instance_id)
