"""Notifications: the in-app list of each user (a new task for me, a task due within 24 hours,
an alarm on my project, a task assigned to me, a comment) and their outbound delivery.

Nothing here runs inside a process step. A background pass (`run_pass`: the embedded thread
of `flask serve` or the Celery beat task) reads what happened since its last pass (new tasks,
alarms, tasks falling due) and writes notifications, each once per user and key. A
notification gets one outbox row per registered outbound channel (SMS, WeChat, e-mail
gateways: `Channel`); `deliver` sends them after the rows are committed, outside any
transaction, and a failure is retried with the engine's back-off (`engine.retry`) until it
is marked failed. A broken gateway therefore never blocks nor fails a process.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Protocol

from sqlalchemy import and_, func, insert, or_, select, update

from engine.retry import backoff_seconds
from engine.schema import TASK_IS_OPEN, tasks

from . import policy
from .people import Principal, principal_of_row
from .schema import (alarms, notification_marks, notification_outbox, notifications, projects,
                     users)
from engine.i18n import _

log = logging.getLogger(__name__)
DUE_SOON = timedelta(hours=24)
LEASE = timedelta(seconds=60)        # a claimed delivery is tried again after this
BATCH = 50
# who hears of an alarm on a project: the people who work on it (not designers or auditors)
ALARM_ROLES = ("inspector", "leader", "contractor", "supervisor", "builder")
KIND_NAMES = {"task": "新任务", "due": "即将到期", "alarm": "设备告警", "assigned": "指派",
              "comment": "评论"}


@dataclass(frozen=True)
class Message:
    """What an outbound channel sends: to whom (username, name), and the text."""
    username: str
    display_name: str
    kind: str
    title: str
    link: str | None


class Channel(Protocol):
    """An outbound gateway (SMS, WeChat, e-mail). `send` raises on failure (retried)."""
    name: str

    def send(self, message: Message) -> None: ...


_channels: list[Channel] = []


def register_channels(channels: Iterable[Channel]) -> None:
    """The app's outbound channels (create_app, from the settings); replaces any before."""
    _channels[:] = list(channels)


def channels() -> list[Channel]:
    return list(_channels)


# -- writing notifications ---------------------------------------------------------------------

def notify(conn, now: datetime, username: str, kind: str, key: str, title: str,
           link: str | None = None) -> int | None:
    """One notification for a user, once per key (None when it was there already); with an
    outbox row per registered channel, sent after commit by `deliver`."""
    exists = conn.execute(select(notifications.c.id).where(
        notifications.c.username == username, notifications.c.key == key)).first()
    if exists is not None:
        return None
    nid = conn.execute(insert(notifications).values(
        username=username, kind=kind, key=key[:200], title=title[:300], link=link,
        created_at=now).returning(notifications.c.id)).scalar_one()
    for channel in _channels:
        conn.execute(insert(notification_outbox).values(
            notification_id=nid, channel=channel.name, state="pending", attempts=0,
            due_at=now))
    return nid


def _people(conn, roles: Iterable[str]) -> list[Principal]:
    rows = conn.execute(select(users).where(users.c.role.in_(list(roles)),
                                            users.c.active.is_(True))).all()
    return [principal_of_row(r) for r in rows]


def _actors(conn, task_rows: list, people: list[Principal]) -> dict[str, list[str]]:
    """task id → usernames who may act on it (its assignee when it has one)."""
    found: dict[str, list[str]] = {t.id: [t.assignee] if t.assignee else [] for t in task_rows}
    open_ids = [t.id for t in task_rows if not t.assignee]
    if not open_ids:
        return found
    for person in people:
        if person.role == "expert":
            continue                       # experts get only tasks preset to them
        ids = conn.execute(select(tasks.c.id).where(
            tasks.c.id.in_(open_ids), tasks.c.role == person.role,
            policy.task_clause(person))).scalars()
        for tid in ids:
            found[tid].append(person.username)
    return found


def _mark(conn, name: str, now: datetime, default: datetime) -> datetime:
    """The time the pass `name` read up to, moved to now."""
    row = conn.execute(select(notification_marks.c.at).where(
        notification_marks.c.name == name)).first()
    if row is None:
        conn.execute(insert(notification_marks).values(name=name, at=now))
        return default
    conn.execute(update(notification_marks).where(notification_marks.c.name == name)
                 .values(at=now))
    return row.at


def scan(conn, now: datetime) -> int:
    """Notifications for what happened since the last scan; the number written."""
    written = 0
    since = _mark(conn, "tasks", now, now - DUE_SOON)
    new = conn.execute(select(tasks).where(TASK_IS_OPEN, tasks.c.created_at > since,
                                           tasks.c.created_at <= now)).all()
    # due soon: what entered the 24-hour window since the last pass, and new tasks already
    # in it (each pass reads only what changed, not every task due tomorrow again)
    window_start = max(now, since + DUE_SOON)
    due = conn.execute(select(tasks).where(
        TASK_IS_OPEN, tasks.c.due_at <= now + DUE_SOON,
        or_(tasks.c.due_at > window_start,
            and_(tasks.c.created_at > since, tasks.c.due_at > now)))).all()
    people = _people(conn, {t.role for t in [*new, *due] if t.role})
    for rows, kind in ((new, "task"), (due, "due")):
        for tid, names in _actors(conn, rows, people).items():
            task = next(t for t in rows if t.id == tid)
            title = f"新任务: {task.name}" if kind == "task" else \
                f"任务即将到期: {task.name} ({_local(task.due_at)} 前)"
            for name in names:
                written += notify(conn, now, name, kind, f"{kind}:{tid}", title,
                                  f"/tasks/{tid}") is not None
    written += _scan_alarms(conn, now, _mark(conn, "alarms", now, now - DUE_SOON))
    return written


def _scan_alarms(conn, now: datetime, since: datetime) -> int:
    rows = conn.execute(select(alarms, projects.c.name.label("project_name"))
                        .join(projects, projects.c.code == alarms.c.project_code, isouter=True)
                        .where(alarms.c.received_at > since, alarms.c.received_at <= now)
                        .order_by(alarms.c.id)).all()
    if not rows:
        return 0
    written = 0
    for person in _people(conn, ALARM_ROLES):
        visible = set(conn.execute(select(projects.c.code).where(
            projects.c.code.in_({r.project_code for r in rows}),
            policy.project_clause(person))).scalars())
        for a in rows:
            if a.project_code in visible:
                title = f"设备告警: {a.project_name or a.project_code} {a.device_id} {a.type}"
                written += notify(conn, now, person.username, "alarm", f"alarm:{a.id}",
                                  title, "/alarms") is not None
    return written


def _local(at: datetime | None) -> str:
    from datetime import timezone

    return at.astimezone(timezone(timedelta(hours=8))).strftime("%m-%d %H:%M") if at else ""


# -- reading -----------------------------------------------------------------------------------

def listing(conn, username: str, unread_only: bool = False, limit: int = 50) -> dict:
    where = [notifications.c.username == username]
    unread = conn.execute(select(func.count()).select_from(notifications).where(
        *where, notifications.c.read_at.is_(None))).scalar_one()
    if unread_only:
        where.append(notifications.c.read_at.is_(None))
    rows = conn.execute(select(notifications).where(*where)
                        .order_by(notifications.c.id.desc()).limit(limit)).all()
    return {"unread": unread, "items": [
        {"id": r.id, "kind": r.kind, "kind_name": KIND_NAMES.get(r.kind, r.kind),
         "title": r.title, "link": r.link, "created_at": r.created_at,
         "read": r.read_at is not None} for r in rows]}


def mark_read(conn, username: str, now: datetime, ids: list[int] | None) -> int:
    """Mark the user's notifications read (all of them when `ids` is None)."""
    where = [notifications.c.username == username, notifications.c.read_at.is_(None)]
    if ids is not None:
        where.append(notifications.c.id.in_(ids))
    return conn.execute(update(notifications).where(*where).values(read_at=now)).rowcount


# -- outbound delivery -------------------------------------------------------------------------

def _claim(engine, now: datetime) -> list:
    """Due pending deliveries, leased for LEASE so another worker leaves them alone."""
    with engine.db.write() as conn:
        stmt = (select(notification_outbox.c.id).where(
            notification_outbox.c.state == "pending", notification_outbox.c.due_at <= now)
            .order_by(notification_outbox.c.due_at).limit(BATCH))
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(conn.execute(stmt).scalars())
        if not ids:
            return []
        conn.execute(update(notification_outbox).where(notification_outbox.c.id.in_(ids))
                     .values(due_at=now + LEASE))
        return conn.execute(
            select(notification_outbox, notifications.c.username, notifications.c.kind,
                   notifications.c.title, notifications.c.link,
                   func.coalesce(users.c.display_name, notifications.c.username)
                   .label("display_name"))
            .join(notifications, notifications.c.id == notification_outbox.c.notification_id)
            .join(users, users.c.username == notifications.c.username, isouter=True)
            .where(notification_outbox.c.id.in_(ids))).all()


def deliver(engine, now: datetime, max_retries: int = 3, first_backoff: float = 2.0) -> dict:
    """Send what is due through its channel, each outside any transaction; a failure waits
    `backoff_seconds` and is tried again, `max_retries` times, then is marked failed."""
    by_name = {c.name: c for c in _channels}
    done = {"sent": 0, "retry": 0, "failed": 0}
    for row in _claim(engine, now):
        channel = by_name.get(row.channel)
        error = None
        try:
            if channel is None:
                raise LookupError(_("通道未配置: {channel}").format(channel=row.channel))
            channel.send(Message(row.username, row.display_name, row.kind, row.title, row.link))
        except Exception as exc:      # any gateway failure: recorded and retried, never raised
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("notification %s via %s failed: %s", row.id, row.channel, error)
        attempts = row.attempts + (error is not None)
        values: dict = {"attempts": attempts, "last_error": error}
        if error is None:
            values.update(state="sent", sent_at=now)
        elif attempts > max_retries:
            values.update(state="failed")
        else:
            values.update(due_at=now + timedelta(seconds=backoff_seconds(attempts,
                                                                          first_backoff)))
        state = values.get("state", "retry")
        done[state] += 1
        with engine.db.write() as conn:
            conn.execute(update(notification_outbox).where(and_(
                notification_outbox.c.id == row.id)).values(**values))
    return done


def run_pass(engine, max_retries: int = 3, first_backoff: float = 2.0) -> dict:
    """One background pass: scan, commit, then deliver."""
    from engine.clock import utcnow

    with engine.db.write() as conn:
        written = scan(conn, utcnow())
    result = deliver(engine, utcnow(), max_retries, first_backoff)
    return {"written": written, **result}
