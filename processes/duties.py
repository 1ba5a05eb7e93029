"""履职 (duties): the fan-out that makes the timer-started duty processes one instance per
project and inspector.

bpmn/duty_*.bpmn start with a timer (timeCycle) whose start event names
`startFor = duty.targets`. engine.schedules calls this operation once per period and starts
one instance per item: every project under construction times every active inspector of the
project's district (business key = project code, so the instance's scope and the inbox rules
are the usual ones; `inspector` presets the task's assignee).
"""
from __future__ import annotations

from sqlalchemy import and_, select

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
