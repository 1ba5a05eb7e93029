"""履职 (duties): the fan-out that makes the timer-started duty processes one instance per
project and inspector.

bpmn/duty_*.bpmn start with a timer (timeCycle) whose start event names
`startFor = duty.targets`. engine.schedules calls this operation once per period and starts
one instance per item: every project under construction times every active inspector of the
project's district (business key = project code, so the instance's scope and the inbox rules
are the usual ones; `inspector` presets the task's assignee).
"""
from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select

from engine.schema import instances, tasks
from engine.services import ServiceContext

from .schema import projects, users

DUTY_PROCESSES = ("duty_video_weekly", "duty_progress_monthly")
DUTY_TASKS = ("duty_video", "duty_progress")
ACTIVE_STATUS = "在建"


def duty_targets(ctx: ServiceContext) -> list[dict]:
    """Service operation `duty.targets`: one item per (project under construction, inspector
    of its district)."""
    conn = ctx.conn
    rows = conn.execute(
        select(projects.c.code, projects.c.district, users.c.username)
        .join(users, and_(users.c.district == projects.c.district, users.c.role == "inspector",
                          users.c.active.is_(True)))
        .where(projects.c.status == ACTIVE_STATUS)
        .order_by(projects.c.code, users.c.username)).all()
    return [{"business_key": r.code,
             "variables": {"project_code": r.code, "district": r.district,
                           "inspector": r.username, "duty": ctx.process_key}} for r in rows]


def compliance(conn, now, district: str | None = None, inspector: str | None = None,
               by_duty: bool = True) -> list[dict]:
    """Duties done, overdue (missed, or open past due) and open, per district and inspector
    (and per duty kind when `by_duty`), with the rate done / (done + overdue)."""
    done = func.sum(case((tasks.c.state == "completed", 1), else_=0))
    missed = func.sum(case((tasks.c.state == "cancelled", 1), else_=0))
    late = func.sum(case((and_(tasks.c.state == "open", tasks.c.due_at < now), 1), else_=0))
    still = func.sum(case((and_(tasks.c.state == "open",
                                or_(tasks.c.due_at.is_(None), tasks.c.due_at >= now)), 1),
                          else_=0))
    keys = [projects.c.district, tasks.c.assignee] + ([tasks.c.process_key] if by_duty else [])
    stmt = (select(*keys, done.label("done"), missed.label("missed"), late.label("late"),
                   still.label("open"))
            .select_from(tasks.join(instances, instances.c.id == tasks.c.instance_id)
                         .join(projects, projects.c.code == instances.c.scope_key))
            .where(tasks.c.element_id.in_(DUTY_TASKS), tasks.c.process_key.in_(DUTY_PROCESSES))
            .group_by(*keys).order_by(*keys))
    if district:
        stmt = stmt.where(projects.c.district == district)
    if inspector:
        stmt = stmt.where(tasks.c.assignee == inspector)
    out = []
    for r in conn.execute(stmt):
        row = {"district": r.district, "inspector": r.assignee}
        if by_duty:
            row["duty"] = r.process_key
        row.update(done=int(r.done or 0), overdue=int(r.missed or 0) + int(r.late or 0),
                   open=int(r.open or 0))
        out.append(with_rate(row))
    return out


def with_rate(row: dict) -> dict:
    finished = row["done"] + row["overdue"]
    row["rate"] = round(row["done"] / finished, 3) if finished else None
    return row
