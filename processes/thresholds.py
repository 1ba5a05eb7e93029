"""Device limits as data (the `thresholds` table) and the crossing of them by readings.

A reading crosses a limit when its value is at or above it; a limit with `sustain_seconds`
is crossed only when every reading since that long ago has been at or above it (the device's
`alarm_state` keeps since when). One crossing raises one alarm per episode: the alarm is raised
again only after a reading has fallen back below the limit.

The defaults follow ../shared/DOMAIN.md section 5 (marked [A] there where the city set no
figure); a project or a single monitoring point overrides a metric by its own rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, insert, select

from engine.errors import Invalid

from .schema import projects, thresholds
from engine.i18n import _

LEVELS = ("warning", "alarm", "danger")
LEVEL_NAMES = {"warning": "预警", "alarm": "报警", "danger": "危险报警"}

# device_type, metric, level, limit, sustain_seconds, note
DEFAULTS = [
    ("dust", "pm10", "warning", 150, 3600, "PM10 连续 1 小时 ≥150 µg/m³"),
    ("dust", "pm10", "alarm", 200, 3600, "PM10 连续 1 小时 ≥200 µg/m³"),
    ("dust", "pm10", "alarm", 150, 7200, "PM10 预警持续 2 小时"),
    ("pit", "displacement", "warning", 21, 0, "水平位移 ≥70% 控制值 (30 mm)"),
    ("pit", "displacement", "alarm", 25.5, 0, "水平位移 ≥85% 控制值"),
    ("pit", "displacement", "danger", 30, 0, "水平位移达到控制值"),
    ("pit", "settlement", "warning", 14, 0, "竖向沉降 ≥70% 控制值 (20 mm)"),
    ("pit", "settlement", "alarm", 17, 0, "竖向沉降 ≥85% 控制值"),
    ("pit", "settlement", "danger", 20, 0, "竖向沉降达到控制值"),
    ("pit", "rate", "warning", 2.1, 0, "变形速率 ≥70% 速率控制值 (3 mm/d)"),
    ("pit", "rate", "alarm", 3, 0, "变形速率超过控制值"),
    ("pit", "rate", "danger", 3, 86400, "变形速率连续 2 日超过控制值"),
    ("crane", "load_pct", "warning", 90, 0, "起重量 ≥90% 额定值"),
    ("crane", "load_pct", "alarm", 100, 0, "起重量 ≥100% 额定值"),
    ("crane", "load_pct", "danger", 110, 0, "起重量 ≥110% 额定值"),
    ("crane", "moment_pct", "warning", 90, 0, "力矩 ≥90% 额定值"),
    ("crane", "moment_pct", "alarm", 100, 0, "力矩 ≥100% 额定值"),
    ("crane", "wind_speed", "warning", 16, 0, "风速 ≥16 m/s"),
    ("crane", "wind_speed", "alarm", 20, 0, "风速 ≥20 m/s, 停止作业"),
    ("crane", "tilt", "warning", 0.3, 0, "塔身倾角 ≥0.3°"),
    ("crane", "tilt", "alarm", 0.4, 0, "塔身倾角 ≥0.4° (4/1000)"),
]


@dataclass(frozen=True)
class Limit:
    id: int
    metric: str
    level: str
    limit: float
    sustain_seconds: int
    note: str | None


@dataclass(frozen=True)
class Crossing:
    limit: Limit
    value: float


def load_defaults(conn) -> int:
    """The city-wide defaults, once: a table an operator has edited is left alone."""
    have = conn.execute(select(func.count()).select_from(thresholds)
                        .where(thresholds.c.project_code.is_(None),
                               thresholds.c.device_id.is_(None))).scalar()
    if have:
        return 0
    conn.execute(insert(thresholds), [
        {"device_type": t, "metric": m, "level": lv, "limit": float(lim), "sustain_seconds": s,
         "note": note} for t, m, lv, lim, s, note in DEFAULTS])
    return len(DEFAULTS)


def listing(principal=None) -> Select:
    """Every limit, or those a principal may read (processes.policy.threshold_clause)."""
    from . import policy

    stmt = select(thresholds)
    if principal is not None:
        stmt = stmt.where(policy.threshold_clause(principal))
    return stmt.order_by(thresholds.c.device_type, thresholds.c.metric,
                                       thresholds.c.id)


def add(unit, values: dict) -> dict:
    """A project's or a monitoring point's own limit of a metric, kept in the audit trail."""
    code = values.get("project_code")
    if code and unit.conn.execute(select(projects.c.code).where(
            projects.c.code == code)).first() is None:
        raise Invalid(_("项目不存在"), {"project_code": ["项目不存在"]})
    row_id = unit.conn.execute(insert(thresholds).values(**values)
                               .returning(thresholds.c.id)).scalar_one()
    unit.record("threshold.added", None, None, id=row_id, **values)
    return {"id": row_id, **values}


def all_limits(conn) -> list:
    """Every row, for one batch of readings (the table is small)."""
    return list(conn.execute(select(thresholds)))


def limits_for(rows: list, device_type: str, project_code: str, device_id: str) -> list[Limit]:
    """The most specific rows of each metric: the device's, else the project's, else the
    city's."""
    best: dict[str, tuple[int, list]] = {}
    for r in rows:
        if r.device_type != device_type:
            continue
        if r.device_id is not None and r.device_id != device_id:
            continue
        if r.project_code is not None and r.project_code != project_code:
            continue
        rank = 2 if r.device_id else 1 if r.project_code else 0
        current = best.get(r.metric)
        if current is None or rank > current[0]:
            best[r.metric] = (rank, [r])
        elif rank == current[0]:
            current[1].append(r)
    return [Limit(r.id, r.metric, r.level, r.limit, r.sustain_seconds or 0, r.note)
            for _, group in best.values() for r in group]


def evaluate(limits: list[Limit], readings: dict, at: datetime, state: dict) -> tuple[
        list[Crossing], dict]:
    """Crossings raised by one reading and the device's next alarm state.

    `state` maps str(limit id) to {"since": ISO time above the limit, "raised": bool}."""
    new_state = dict(state)
    raised: list[Crossing] = []
    for limit in limits:
        value = readings.get(limit.metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        key = str(limit.id)
        if value < limit.limit:
            new_state.pop(key, None)
            continue
        entry = dict(new_state.get(key) or {"since": at.isoformat(), "raised": False})
        since = datetime.fromisoformat(entry["since"])
        if since > at:                   # readings out of order: the episode starts here
            entry["since"] = at.isoformat()
            since = at
        if not entry["raised"] and (at - since).total_seconds() >= limit.sustain_seconds:
            entry["raised"] = True
            raised.append(Crossing(limit, float(value)))
        new_state[key] = entry
    # a reading that jumps past several levels of a metric raises the highest of them only
    top: dict[str, Crossing] = {}
    for crossing in raised:
        best = top.get(crossing.limit.metric)
        if best is None or LEVELS.index(crossing.limit.level) > LEVELS.index(best.limit.level):
            top[crossing.limit.metric] = crossing
    return list(top.values()), new_state
