"""Reading what happened, from the database the workers wrote."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from engine.schema import audit_events, incidents, instances


def start_due(api, seconds_ahead: float, n: int, now: datetime | None = None
              ) -> tuple[list[str], datetime]:
    """n instances of due.bpmn whose timer is due `seconds_ahead` after `now` (default: the
    wall clock, which worker subprocesses read)."""
    now = now or datetime.now(timezone.utc)
    due = (now + timedelta(seconds=seconds_ahead)).replace(microsecond=0)
    ids = []
    for i in range(n):
        r = api.start("due_once", f"T-{i}", {"due": due.isoformat(), "fired": 0})
        assert r.status_code == 201, r.get_json()
        ids.append(r.get_json()["id"])
    return ids, due


def states(engine, ids) -> dict[str, str]:
    with engine.db.read() as conn:
        return {r.id: r.state for r in conn.execute(
            select(instances.c.id, instances.c.state).where(instances.c.id.in_(ids)))}


def event_times(engine, iid: str, kind: str) -> list[datetime]:
    with engine.db.read() as conn:
        return [r.at for r in conn.execute(select(audit_events.c.at).where(
            audit_events.c.instance_id == iid, audit_events.c.kind == kind)
            .order_by(audit_events.c.seq))]


def count_events(engine, kind: str) -> int:
    with engine.db.read() as conn:
        return conn.execute(select(func.count()).select_from(audit_events)
                            .where(audit_events.c.kind == kind)).scalar_one()


def open_incidents(engine, iid: str) -> list:
    with engine.db.read() as conn:
        return conn.execute(select(incidents).where(incidents.c.instance_id == iid,
                                                    incidents.c.resolved_at.is_(None))).all()


def aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
