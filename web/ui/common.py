"""What every page shares: the signed-in user, the navigation by role, access checks that
answer with a Chinese HTML page, and the template folder (web/templates)."""
from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import quote

from flask import Blueprint, g, redirect, render_template, request
from sqlalchemy import select

from engine.schema import instances, tasks
from processes import access
from processes.people import Principal

from ..auth import csrf_token, session_principal
from ..ext import services

# Only the template folder and the context processor: the page routes live in their modules.
shared = Blueprint("ui", __name__, template_folder="../templates")

ROLE_NAMES = {
    "admin": "系统管理员", "designer": "流程设计员", "inspector": "监督员",
    "contractor": "施工单位", "supervisor": "监理单位", "expert": "评审专家",
    "leader": "领导", "auditor": "审计员", "gateway": "物联网网关",
}

# Where each role starts its work (the home page redirects there).
HOME = {"designer": "/designer", "leader": "/dashboard", "auditor": "/audit"}

# (path, label, roles that see it); the other pages' modules own the routes themselves.
NAV = (
    ("/inbox", "我的待办", ("admin", "inspector", "contractor", "supervisor", "expert",
                         "leader", "designer")),
    ("/instances", "流程实例", ("admin", "inspector", "contractor", "supervisor", "leader",
                            "auditor", "designer")),
    ("/dashboard", "监管驾驶舱", ("admin", "leader", "inspector", "auditor")),
    ("/alarms", "设备告警", ("admin", "leader", "inspector", "auditor")),
    ("/designer", "流程设计", ("admin", "designer")),
    ("/audit", "审计追溯", ("admin", "auditor", "leader")),
)


def home_of(principal: Principal) -> str:
    return HOME.get(principal.role, "/inbox")


def nav_for(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    return [(path, label) for path, label, roles in NAV if principal.role in roles]


def me() -> Principal | None:
    """The signed-in browser user of this request (looked up once)."""
    if "page_user" not in g:
        g.page_user = session_principal()
    return g.page_user


@shared.app_context_processor
def _page_context() -> dict:
    # Only for HTML pages; the API never renders templates.
    user = me() if not request.path.startswith("/api/") else None
    return {"me": user, "nav": nav_for(user), "csrf_token": csrf_token,
            "role_name": ROLE_NAMES.get(user.role, user.role) if user else "",
            "active_path": request.path}


def safe_next(target: str | None) -> str | None:
    """A local path to return to after sign-in; anything else (other hosts) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def error_page(code: int, message: str, title: str | None = None):
    titles = {403: "无权访问", 404: "页面不存在", 500: "服务器内部错误", 405: "不支持的请求方法",
              400: "请求无效", 401: "请先登录", 409: "状态冲突", 413: "文件过大"}
    html = render_template("error.html", code=code, title=title or titles.get(code, "出错了"),
                           message=message)
    return html, code


def page(*roles: str) -> Callable:
    """A page for signed-in users (of these roles, when given); others go to the sign-in page
    or get a Chinese 403 page."""
    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = me()
            if user is None:
                return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/"))
            if roles and user.role not in roles and user.role != "admin":
                return error_page(403, f"{ROLE_NAMES.get(user.role, user.role)}无权访问此页面。")
            return fn(*args, **kwargs)
        return wrapper
    return deco


def task_access(task_id: str):
    """(row, can_act) of a task the page may show, or an error page: the API's own rules
    (processes.access), as GET /api/v1/tasks/{id} applies them."""
    user = me()
    with services().db.read() as conn:
        row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
        if row is None:
            return None, error_page(404, "该任务不存在或已被删除。")
        can_act = access.can_act_on_task(conn, user, task_id)
        if not can_act and not access.can_read_instance(conn, user, row.instance_id):
            return None, error_page(403, "该任务不属于您的角色或管辖范围, 无权查看。")
    return (row, can_act), None


def instance_access(instance_id: str):
    """The instance row the page may show, or an error page (the API's rules)."""
    user = me()
    with services().db.read() as conn:
        row = conn.execute(select(instances).where(instances.c.id == instance_id)).first()
        if row is None:
            return None, error_page(404, "该流程实例不存在。")
        if not access.can_read_instance(conn, user, instance_id):
            return None, error_page(403, "该流程实例不在您的管辖或所属范围内, 无权查看。")
    return row, None
