"""Assign and delegate a task to a colleague, and the inbox's saved filters.

A task goes only to someone who could have taken it himself: an active user of the task's
role who may act on it (processes.policy: same role, and the project within his district or
enterprise). Assigning hands over a task that is free or the caller's own; delegating is the
holder asking a colleague to do it for him (he stays named as its owner in the history).
Both are audited (`task.assigned` / `task.delegated`) and the colleague is notified.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.schema import tasks
from engine.store import Unit

from . import notifications, policy
from .people import Principal, get_user
from .schema import saved_filters
from engine.i18n import _

MAX_FILTERS = 20


def hand_over(unit: Unit, task_id: str, caller: Principal, to: str | None, mode: str,
              note: str | None = None) -> None:
    """`mode` "assign" or "delegate"; refusals: 422 no such user, 403 not a colleague of the
    task's role and scope, 409 the task is no longer open or held by someone else."""
    if not to or not isinstance(to, str):
        raise Invalid(_("请选择要指派的同事"), {"to": ["必填"]})
    conn = unit.conn
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if row is None:
        raise NotFound(_("任务不存在"))
    if row.state != "open":
        raise Conflict(_("任务已办结, 不能再指派"))
    override = policy.overrides_tasks(caller)
    if mode == "delegate" and row.assignee != caller.username and not override:
        raise Conflict(_("只有已认领该任务的人可以委托他人办理"))
    if row.assignee and row.assignee != caller.username and not override:
        raise Conflict(_("任务已由 {assignee} 认领, 不能指派").format(assignee=row.assignee))
    colleague = get_user(conn, to)
    if colleague is None:
        raise Invalid(_("用户 {to} 不存在").format(to=to), {"to": ["用户不存在"]})
    if colleague.username == row.assignee:
        raise Conflict(_("任务已由 {to} 办理").format(to=to))
    if colleague.role != row.role or not policy.can_act_on_task(conn, colleague, task_id):
        raise Forbidden(_("只能指派给同角色且管辖范围相同的同事: {display_name} 不能办理该任务").format(
                            display_name=colleague.display_name))
    conn.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.state == "open")
                 .values(assignee=colleague.username))
    details = {"element_id": row.element_id, "assignee": colleague.username,
               "previous_assignee": row.assignee}
    if note:
        details["note"] = str(note)[:500]
    if mode == "delegate":
        details["owner"] = caller.username
    unit.record("task.delegated" if mode == "delegate" else "task.assigned",
                row.instance_id, task_id, **details)
    verb = "委托您办理" if mode == "delegate" else "指派给您"
    notifications.notify(conn, unit.now, colleague.username, "assigned",
                         f"assigned:{task_id}:{unit.now.isoformat()}",
                         f"{caller.display_name} 将任务「{row.name}」{verb}", f"/tasks/{task_id}")


def colleagues(conn, task_id: str, caller: Principal) -> list[dict]:
    """Who the task may go to: active users of its role who may act on it, but the caller."""
    from .schema import users
    from .people import principal_of_row

    row = conn.execute(select(tasks.c.role).where(tasks.c.id == task_id)).first()
    if row is None or row.role is None:
        return []
    found = []
    for u in conn.execute(select(users).where(users.c.role == row.role,
                                              users.c.active.is_(True))
                          .order_by(users.c.username)).all():
        person = principal_of_row(u)
        if person.username != caller.username and policy.can_act_on_task(conn, person, task_id):
            found.append({"username": person.username, "display_name": person.display_name})
    return found


# -- saved filters -------------------------------------------------------------------------------

def filters_of(conn, username: str) -> list[dict]:
    rows = conn.execute(select(saved_filters).where(saved_filters.c.username == username)
                        .order_by(saved_filters.c.name)).all()
    return [{"name": r.name, "query": r.query} for r in rows]


def save_filters(conn, username: str, now: datetime, items: list[dict]) -> list[dict]:
    """Replace the user's saved filters with `items` ({name, query}); names are unique."""
    names = [i["name"].strip() for i in items]
    if any(not n for n in names):
        raise Invalid(_("筛选名称不能为空"), {"name": ["必填"]})
    if len(set(names)) != len(names):
        raise Invalid(_("筛选名称重复"), {"name": ["名称重复"]})
    if len(items) > MAX_FILTERS:
        raise Invalid(_("最多保存 {MAX_FILTERS} 个筛选").format(MAX_FILTERS=MAX_FILTERS), {"filters": ["过多"]})
    conn.execute(delete(saved_filters).where(saved_filters.c.username == username))
    for name, item in zip(names, items):
        conn.execute(insert(saved_filters).values(username=username, name=name,
                                                  query=item["query"], created_at=now))
    return filters_of(conn, username)
