"""一张图 and the project page: each site's state on the map, and everything about one site.

A site's state is four facts, each a count: alarms received in the last 24 hours, running
rectifications with a task past its due time (as the dashboard counts overdue), running expert
reviews (dangerous works underway) and cranes in service. The map colours a site by the most
urgent of them; the theme filter keeps the sites where one of them is non-zero. Everything is
limited by the reader's scope (processes.policy), the same as the API's lists.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update

from engine.errors import Invalid
from engine.schema import TASK_IS_OPEN, definitions, instances, tasks

from . import policy
from .schema import alarms, cranes, devices, documents, enterprises, projects, score_events
from engine.i18n import _

# (theme, label, colour) from the most urgent down; a site with none is "normal"
THEMES = (("overdue", "逾期整改", "#c0392b"), ("alarms", "近24小时告警", "#e67e22"),
          ("dangerous", "危大工程在办", "#8e44ad"), ("cranes", "塔吊使用中", "#2980b9"))
NORMAL = ("normal", "正常", "#27ae60")
THEME_NAMES = {k: label for k, label, _ in THEMES}
LNG_BOUNDS, LAT_BOUNDS = (112.3, 113.5), (22.5, 23.6)
LIST_LIMIT = 200


def _counts(conn, codes_query, now: datetime) -> dict[str, dict[str, int]]:
    """Per project code: the four facts."""
    facts: dict[str, dict[str, int]] = {}

    def put(theme: str, rows) -> None:
        for code, n in rows:
            if code is not None:
                facts.setdefault(code, {})[theme] = int(n)

    put("alarms", conn.execute(
        select(alarms.c.project_code, func.count()).where(
            alarms.c.received_at >= now - timedelta(days=1),
            alarms.c.project_code.in_(codes_query)).group_by(alarms.c.project_code)))
    late = select(tasks.c.id).where(tasks.c.instance_id == instances.c.id, TASK_IS_OPEN,
                                    tasks.c.due_at < now).exists()
    put("overdue", conn.execute(
        select(instances.c.scope_key, func.count()).where(
            instances.c.process_key == "rectification", instances.c.state == "running",
            instances.c.scope_key.in_(codes_query), late).group_by(instances.c.scope_key)))
    put("dangerous", conn.execute(
        select(instances.c.scope_key, func.count()).where(
            instances.c.process_key == "expert_review", instances.c.state == "running",
            instances.c.scope_key.in_(codes_query)).group_by(instances.c.scope_key)))
    put("cranes", conn.execute(
        select(cranes.c.project_code, func.count()).where(
            cranes.c.state == "in_service", cranes.c.project_code.in_(codes_query))
        .group_by(cranes.c.project_code)))
    return facts


def _state(facts: dict[str, int]) -> tuple[str, str, str]:
    for theme in THEMES:
        if facts.get(theme[0]):
            return theme
    return NORMAL


def map_sites(conn, principal, now: datetime, district: str | None = None,
              theme: str | None = None) -> dict:
    """The sites the reader sees, with coordinates, facts and the state that colours them."""
    if theme and theme not in THEME_NAMES:
        raise Invalid(_("专题应为 {value} 之一").format(value='、'.join(THEME_NAMES)),
                      {"theme": [f"应为 {', '.join(THEME_NAMES)} 之一"]})
    where = [policy.project_clause(principal)]
    if district:
        where.append(projects.c.district == district)
    codes = select(projects.c.code).where(*where)
    facts = _counts(conn, codes, now)
    sites = []
    for row in conn.execute(select(projects.c.code, projects.c.name, projects.c.district,
                                   projects.c.address, projects.c.status, projects.c.lng,
                                   projects.c.lat).where(*where).order_by(projects.c.code)):
        mine = {k: facts.get(row.code, {}).get(k, 0) for k in THEME_NAMES}
        if theme and not mine[theme]:
            continue
        state, label, colour = _state(mine)
        sites.append({"code": row.code, "name": row.name, "district": row.district,
                      "address": row.address, "status": row.status, "lng": row.lng,
                      "lat": row.lat, "facts": mine, "state": state, "state_name": label,
                      "color": colour})
    districts = sorted({s["district"] for s in sites})
    return {"sites": sites, "districts": districts,
            "themes": [{"key": k, "label": label, "color": c} for k, label, c in THEMES],
            "normal": {"key": NORMAL[0], "label": NORMAL[1], "color": NORMAL[2]},
            "unlocated": sum(1 for s in sites if s["lng"] is None)}


def locate(conn, code: str, lng: float | None, lat: float | None) -> dict:
    """Sets (or clears, both None) a project's coordinates; they must lie in Foshan."""
    if (lng is None) != (lat is None):
        raise Invalid(_("经度与纬度须同时填写"),
                      {"lng": ["须与纬度同时填写"], "lat": ["须与经度同时填写"]})
    errors = {}
    if lng is not None and not LNG_BOUNDS[0] <= lng <= LNG_BOUNDS[1]:
        errors["lng"] = [f"经度应在 {LNG_BOUNDS[0]} 至 {LNG_BOUNDS[1]} 之间 (佛山市范围)"]
    if lat is not None and not LAT_BOUNDS[0] <= lat <= LAT_BOUNDS[1]:
        errors["lat"] = [f"纬度应在 {LAT_BOUNDS[0]} 至 {LAT_BOUNDS[1]} 之间 (佛山市范围)"]
    if errors:
        raise Invalid(_("坐标不在佛山市范围内"), errors)
    conn.execute(update(projects).where(projects.c.code == code).values(lng=lng, lat=lat))
    return {"code": code, "lng": lng, "lat": lat}


def overview(conn, principal, project, now: datetime) -> dict:
    """Everything about one site the reader may see: parties, state, instances (with their
    open steps), devices, cranes, documents, recent alarms and the enterprises' scores."""
    code = project.code
    parties = {}
    for column, label in (("builder_code", "建设单位"), ("contractor_code", "施工单位"),
                          ("supervisor_code", "监理单位")):
        value = getattr(project, column)
        name = conn.execute(select(enterprises.c.name).where(enterprises.c.code == value)
                            ).scalar() if value else None
        parties[column[:-5]] = {"label": label, "code": value, "name": name}
    facts = _counts(conn, select(projects.c.code).where(projects.c.code == code), now)
    mine = {k: facts.get(code, {}).get(k, 0) for k in THEME_NAMES}
    state, state_name, colour = _state(mine)
    visible = and_(instances.c.scope_key == code, policy.instance_clause(principal))
    names = {r.key: r.name for r in conn.execute(
        select(definitions.c.key, definitions.c.name).where(definitions.c.kind == "bpmn")
        .order_by(definitions.c.version))}
    rows = conn.execute(select(instances.c.id, instances.c.process_key, instances.c.state,
                               instances.c.started_at, instances.c.ended_at)
                        .where(visible).order_by(instances.c.started_at.desc())
                        .limit(LIST_LIMIT)).all()
    open_steps: dict[str, list] = {}
    for t in conn.execute(select(tasks.c.instance_id, tasks.c.name, tasks.c.role,
                                 tasks.c.due_at).where(
            TASK_IS_OPEN, tasks.c.instance_id.in_([r.id for r in rows]))):
        open_steps.setdefault(t.instance_id, []).append(
            {"name": t.name, "role": policy.role_name(t.role or ""), "due_at": t.due_at,
             "overdue": bool(t.due_at and t.due_at < now)})
    found = [{"id": r.id, "process_key": r.process_key,
              "process_name": names.get(r.process_key) or r.process_key, "state": r.state,
              "started_at": r.started_at, "ended_at": r.ended_at,
              "open_tasks": open_steps.get(r.id, [])} for r in rows]
    docs = [dict(r._mapping) for r in conn.execute(
        select(documents.c.id, documents.c.instance_id, documents.c.kind, documents.c.number,
               documents.c.title, documents.c.status, documents.c.created_at)
        .select_from(documents.join(instances, instances.c.id == documents.c.instance_id))
        .where(visible).order_by(documents.c.created_at.desc()).limit(LIST_LIMIT))]
    kit = [dict(r._mapping) for r in conn.execute(
        select(devices.c.id, devices.c.device_type, devices.c.name, devices.c.crane_id,
               devices.c.state, devices.c.last_seen_at).where(devices.c.project_code == code)
        .order_by(devices.c.id).limit(LIST_LIMIT))]
    lifting = [dict(r._mapping) for r in conn.execute(
        select(cranes.c.id, cranes.c.model, cranes.c.state, cranes.c.filing_no,
               cranes.c.capacity_kn).where(cranes.c.project_code == code).order_by(cranes.c.id))]
    recent = [dict(r._mapping) for r in conn.execute(
        select(alarms.c.id, alarms.c.device_id, alarms.c.type, alarms.c.level,
               alarms.c.value, alarms.c.threshold, alarms.c.received_at, alarms.c.effect)
        .where(alarms.c.project_code == code).order_by(alarms.c.received_at.desc())
        .limit(50))]
    scores = [{"enterprise_code": r.enterprise_code, "enterprise_name": r.name,
               "points": int(r.points or 0), "events": r.events} for r in conn.execute(
        select(score_events.c.enterprise_code, enterprises.c.name,
               func.sum(score_events.c.points).label("points"),
               func.count().label("events"))
        .select_from(score_events.outerjoin(
            enterprises, enterprises.c.code == score_events.c.enterprise_code))
        .where(score_events.c.project_code == code)
        .group_by(score_events.c.enterprise_code, enterprises.c.name)
        .order_by(func.sum(score_events.c.points).desc()))]
    return {"project": {"code": code, "name": project.name, "district": project.district,
                        "address": project.address, "status": project.status,
                        "progress": project.progress, "lng": project.lng, "lat": project.lat},
            "parties": parties, "facts": mine, "state": state, "state_name": state_name,
            "color": colour, "instances": found, "documents": docs, "devices": kit,
            "cranes": lifting, "alarms": recent, "scores": scores,
            "score_total": sum(s["points"] for s in scores),
            "can_locate": policy.allows(principal, "project.locate")}
