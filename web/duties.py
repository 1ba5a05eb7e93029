"""履职 (duties): compliance per inspector and district, read from the duty processes' tasks.

The duty instances themselves are started by engine.schedules through `duty.targets`
(processes/duties.py)."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import and_, case, func, select

from engine.clock import utcnow
from engine.schema import instances, tasks
from processes.duties import DUTY_PROCESSES, DUTY_TASKS
from processes.schema import projects

from .auth import current, roles
from .ext import services


blp = Blueprint("duties", __name__, url_prefix="/api/v1/duties", description="履职 (duties)")


@blp.route("/compliance")
class Compliance(MethodView):
    @roles("admin", "leader", "inspector", "auditor")
    def get(self):
        """履职情况 (per inspector and district: done on time, overdue, open, rate)"""
        principal = current()
        district = request.args.get("district") or None
        if principal.role != "admin" and principal.district is not None:
            if district not in (None, principal.district):
                abort(403, message="只能查看本辖区的履职情况 (other district)")
            district = principal.district
        now = utcnow()
        duty = tasks.c.element_id.in_(DUTY_TASKS)
        done = func.sum(case((tasks.c.state == "completed", 1), else_=0))
        missed = func.sum(case((tasks.c.state == "cancelled", 1), else_=0))
        late_open = func.sum(case((and_(tasks.c.state == "open", tasks.c.due_at < now), 1),
                                  else_=0))
        still_open = func.sum(case((and_(tasks.c.state == "open",
                                         (tasks.c.due_at.is_(None)) | (tasks.c.due_at >= now)),
                                    1), else_=0))
        query = (select(projects.c.district, tasks.c.assignee, tasks.c.process_key,
                        done.label("done"), missed.label("missed"),
                        late_open.label("late_open"), still_open.label("open"))
                 .select_from(tasks.join(instances, instances.c.id == tasks.c.instance_id)
                              .join(projects, projects.c.code == instances.c.scope_key))
                 .where(duty, tasks.c.process_key.in_(DUTY_PROCESSES))
                 .group_by(projects.c.district, tasks.c.assignee, tasks.c.process_key)
                 .order_by(projects.c.district, tasks.c.assignee, tasks.c.process_key))
        if district:
            query = query.where(projects.c.district == district)
        if principal.role == "inspector":
            query = query.where(tasks.c.assignee == principal.username)
        with services().db.read() as conn:
            rows = conn.execute(query).all()
        out = []
        for r in rows:
            done_n, overdue = int(r.done or 0), int(r.missed or 0) + int(r.late_open or 0)
            finished = done_n + overdue
            out.append({"district": r.district, "inspector": r.assignee, "duty": r.process_key,
                        "done": done_n, "overdue": overdue, "open": int(r.open or 0),
                        "rate": round(done_n / finished, 3) if finished else None})
        return {"district": district, "as_of": now.isoformat(), "items": out}
