"""总控端 (dashboard): the bureau's overview, one query per figure.

Every figure is limited to one district when the reader has one (bureau staff of a district
bureau); `inspector` limits the duty figures to that inspector's own duties, as the compliance
endpoint does. Projects, alarms, cranes and devices belong to a district through their project;
an instance with no project counts only city-wide.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from engine.schema import TASK_IS_OPEN, instances, tasks

from . import schema as domain
from .duties import compliance, with_rate
from .schema import cranes, devices, projects
from .thresholds import LEVEL_NAMES

RECTIFICATION = "rectification"
OFFLINE_AFTER = timedelta(days=1)
LIST_LIMIT = 200                 # rows per list shown under a chart
NO_PROJECT = "未关联项目"

CRANE_STATES = {"planned": "计划进场", "refused": "不予备案", "in_service": "使用中",
                "suspended": "暂停使用", "dismantled": "已拆除"}
DEVICE_TYPES = {"dust": "扬尘监测", "pit": "深基坑监测", "crane": "塔吊黑匣子", "video": "视频监控"}




def projects_by_status(conn: Connection, district: str | None) -> dict:
    stmt = (select(projects.c.district, projects.c.status, func.count().label("n"))
            .group_by(projects.c.district, projects.c.status)
            .order_by(projects.c.district, projects.c.status))
    if district:
        stmt = stmt.where(projects.c.district == district)
    rows = [{"district": r.district, "status": r.status, "count": r.n}
            for r in conn.execute(stmt)]
    return {"total": sum(r["count"] for r in rows), "by_district_status": rows}


def rectifications(conn: Connection, district: str | None, now: datetime) -> dict:
    """Running rectification instances per district, and those with an open task past due."""
    source = instances.outerjoin(projects, projects.c.code == instances.c.scope_key)
    running = and_(instances.c.process_key == RECTIFICATION, instances.c.state == "running")
    scoped = [running] + ([projects.c.district == district] if district else [])
    late_task = and_(tasks.c.instance_id == instances.c.id, TASK_IS_OPEN,
                     tasks.c.due_at < now)
    overdue_flag = case((select(tasks.c.id).where(late_task).exists(), 1), else_=0)
    per_district = conn.execute(
        select(projects.c.district, func.count().label("open"),
               func.sum(overdue_flag).label("overdue"))
        .select_from(source).where(*scoped)
        .group_by(projects.c.district).order_by(projects.c.district)).all()
    by_district = [{"district": r.district or NO_PROJECT, "open": r.open,
                    "overdue": int(r.overdue or 0)} for r in per_district]
    late = conn.execute(
        select(tasks.c.instance_id, tasks.c.id.label("task_id"), tasks.c.name,
               tasks.c.assignee, tasks.c.role, tasks.c.due_at, instances.c.business_key,
               instances.c.scope_key, projects.c.name.label("project_name"),
               projects.c.district)
        .select_from(source.join(tasks, tasks.c.instance_id == instances.c.id))
        .where(*scoped, TASK_IS_OPEN, tasks.c.due_at < now)
        .order_by(tasks.c.due_at).limit(LIST_LIMIT)).all()
    overdue_items = [{"instance_id": r.instance_id, "task_id": r.task_id, "task": r.name,
                      "assignee": r.assignee, "role": r.role, "due_at": r.due_at,
                      "days_overdue": (now - r.due_at).days,
                      "project_code": r.business_key or r.scope_key,
                      "project_name": r.project_name, "district": r.district or NO_PROJECT}
                     for r in late]
    return {"open": sum(d["open"] for d in by_district),
            "overdue": sum(d["overdue"] for d in by_district),
            "by_district": by_district, "overdue_items": overdue_items}


def alarms(conn: Connection, district: str | None, now: datetime) -> dict:
    """Alarms of the last day and week by type; None when the alarms table is not there."""
    table = getattr(domain, "alarms", None)
    if table is None:
        return {"available": False, "day": 0, "week": 0, "by_type": [], "recent": []}
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    # the server's time of receipt: a device clock may be wrong, and it is indexed
    when = table.c.received_at
    scoped = [when >= week]
    if district:
        scoped.append(table.c.project_code.in_(
            select(projects.c.code).where(projects.c.district == district)))
    in_day = func.sum(case((when >= day, 1), else_=0))
    rows = conn.execute(select(table.c.type, in_day.label("day"), func.count().label("week"))
                        .where(*scoped).group_by(table.c.type).order_by(table.c.type)).all()
    by_type = [{"type": r.type, "day": int(r.day or 0), "week": r.week} for r in rows]
    recent = conn.execute(
        select(table.c.id, table.c.at, table.c.received_at, table.c.project_code,
               table.c.device_id, table.c.device_type, table.c.type, table.c.level,
               table.c.value, table.c.threshold, table.c.effect, table.c.instances,
               projects.c.name.label("project_name"))
        .select_from(table.outerjoin(projects, projects.c.code == table.c.project_code))
        .where(*scoped).order_by(when.desc(), table.c.id.desc()).limit(LIST_LIMIT)).all()
    items = [{"id": r.id, "at": r.at or r.received_at, "project_code": r.project_code,
              "project_name": r.project_name, "device_id": r.device_id,
              "device_type": r.device_type, "type": r.type, "level": r.level,
              "level_name": LEVEL_NAMES.get(r.level, r.level),
              "value": r.value, "threshold": r.threshold, "effect": r.effect,
              "instances": r.instances or []} for r in recent]
    return {"available": True, "day": sum(t["day"] for t in by_type),
            "week": sum(t["week"] for t in by_type), "by_type": by_type, "recent": items}


def _project_scoped(column, district: str | None):
    return [column.in_(select(projects.c.code).where(projects.c.district == district))] \
        if district else []


def crane_states(conn: Connection, district: str | None) -> dict:
    rows = conn.execute(
        select(cranes.c.id, cranes.c.project_code, cranes.c.model, cranes.c.state,
               projects.c.name.label("project_name"), projects.c.district)
        .select_from(cranes.outerjoin(projects, projects.c.code == cranes.c.project_code))
        .where(*_project_scoped(cranes.c.project_code, district))
        .order_by(cranes.c.project_code, cranes.c.id)).all()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    return {"total": len(rows),
            "by_state": [{"state": s, "label": CRANE_STATES.get(s, s), "count": n}
                         for s, n in sorted(counts.items())],
            "items": [{"id": r.id, "project_code": r.project_code,
                       "project_name": r.project_name, "district": r.district,
                       "model": r.model, "state": r.state,
                       "state_label": CRANE_STATES.get(r.state, r.state)} for r in rows]}


def offline_clause(now: datetime):
    """Not reporting: marked other than online, never seen, or silent for a day."""
    return or_(devices.c.state != "online", devices.c.last_seen_at.is_(None),
               devices.c.last_seen_at < now - OFFLINE_AFTER)


def device_health(conn: Connection, district: str | None, now: datetime) -> dict:
    scoped = _project_scoped(devices.c.project_code, district)
    offline = offline_clause(now)
    per_type = conn.execute(
        select(devices.c.device_type, func.count().label("total"),
               func.sum(case((offline, 1), else_=0)).label("offline"))
        .where(*scoped).group_by(devices.c.device_type).order_by(devices.c.device_type)).all()
    by_type = [{"device_type": r.device_type, "label": DEVICE_TYPES.get(r.device_type,
                                                                      r.device_type),
                "total": r.total, "offline": int(r.offline or 0)} for r in per_type]
    rows = conn.execute(
        select(devices.c.id, devices.c.name, devices.c.device_type, devices.c.project_code,
               devices.c.state, devices.c.last_seen_at, projects.c.name.label("project_name"))
        .select_from(devices.outerjoin(projects, projects.c.code == devices.c.project_code))
        .where(offline, *scoped)
        .order_by(devices.c.last_seen_at.is_(None).desc(), devices.c.last_seen_at,
                  devices.c.id).limit(LIST_LIMIT)).all()
    return {"total": sum(t["total"] for t in by_type),
            "offline": sum(t["offline"] for t in by_type), "by_type": by_type,
            "offline_items": [{"id": r.id, "name": r.name, "device_type": r.device_type,
                               "project_code": r.project_code, "project_name": r.project_name,
                               "state": r.state, "last_seen_at": r.last_seen_at}
                              for r in rows]}


def duty_compliance(conn: Connection, district: str | None, now: datetime,
                    inspector: str | None = None) -> dict:
    """GET /api/v1/duties/compliance's counting, summed over the duty kinds, and per
    district."""
    people = compliance(conn, now, district, inspector, by_duty=False)
    districts: dict[str, dict] = {}
    for p in people:
        d = districts.setdefault(p["district"], {"district": p["district"], "done": 0,
                                                 "overdue": 0, "open": 0})
        for k in ("done", "overdue", "open"):
            d[k] += p[k]
    return {"by_district": [with_rate(d) for d in districts.values()], "by_inspector": people}


def overview(conn: Connection, district: str | None, now: datetime,
             inspector: str | None = None) -> dict:
    return {"district": district, "as_of": now,
            "projects": projects_by_status(conn, district),
            "rectifications": rectifications(conn, district, now),
            "alarms": alarms(conn, district, now),
            "cranes": crane_states(conn, district),
            "devices": device_health(conn, district, now),
            "duties": duty_compliance(conn, district, now, inspector)}


def districts(conn: Connection) -> list[str]:
    return list(conn.execute(select(projects.c.district).distinct()
                             .order_by(projects.c.district)).scalars())
