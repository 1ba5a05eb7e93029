"""What the devices left behind, as the API lists it: devices with their last-seen state,
alarms with what each did, refused payloads; each list limited to the caller's projects by the
policy. Statements only: the web layer pages them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from . import policy
from .people import Principal
from .schema import alarms, dead_letters, devices
from .thresholds import LEVEL_NAMES


def devices_listing(principal: Principal, project_code: str | None = None,
                    device_type: str | None = None, state: str | None = None) -> Select:
    stmt = select(devices).where(policy.in_visible_projects(principal, devices.c.project_code))
    for column, value in ((devices.c.project_code, project_code),
                          (devices.c.device_type, device_type), (devices.c.state, state)):
        if value:
            stmt = stmt.where(column == value)
    return stmt.order_by(devices.c.project_code, devices.c.id)


def alarms_listing(principal: Principal, project_code: str | None = None,
                   device_type: str | None = None, since: datetime | None = None) -> Select:
    """Alarms of the caller's projects, newest first."""
    stmt = select(alarms).where(policy.in_visible_projects(principal, alarms.c.project_code))
    if project_code:
        stmt = stmt.where(alarms.c.project_code == project_code)
    if device_type:
        stmt = stmt.where(alarms.c.device_type == device_type)
    if since is not None:
        stmt = stmt.where(alarms.c.received_at >= since)
    return stmt.order_by(alarms.c.id.desc())


def alarm_record(row) -> dict:
    """One alarm as the API shows it: with the level's name and the routing decision taken."""
    route = (row.payload or {}).get("route") or {}
    return {**row._mapping, "level_name": LEVEL_NAMES.get(row.level, row.level),
            "action": route.get("action"), "deadline_hours": route.get("deadline_hours"),
            "decision_version": route.get("version")}


def dead_letters_listing(principal: Principal) -> Select:
    return select(dead_letters).where(policy.dead_letter_clause(principal)) \
        .order_by(dead_letters.c.id.desc())
