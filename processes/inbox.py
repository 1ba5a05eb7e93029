"""The inbox: the open tasks a principal may act on, filtered, counted and paged.

Staff of a district and enterprise staff act on the tasks of a list of projects. One query
over that list walks the role's tasks in due order and skips every other project's rows:
tens of thousands of them when another district's tasks fall due sooner (seen: 15-32 ms per
first page at 100,000 open tasks). Instead each project's first rows come from its own
ordered range of the open-task index, and those short lists are merged in the same statement;
the total is the sum of each project's count over the same ranges.

The inbox is the most frequent call there is, so what costs more than its query is kept
briefly: the statement itself per shape, a principal's list of projects and a large total
for a few seconds (a newly registered project's tasks show within SCOPES_TTL; small totals,
where a user would notice, are always exact).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from sqlalchemy import Integer, bindparam, func, or_, select, union_all
from sqlalchemy.engine import Connection

from engine.memo import Memo
from engine.schema import TASK_IS_OPEN, definitions, instances, tasks

from . import policy
from .people import Principal
from .schema import projects

# Past this many projects one statement of merged ranges costs more to plan than it saves.
MAX_MERGED_SCOPES = 64
COUNT_TTL, COUNT_EXACT_BELOW, SCOPES_TTL = 5.0, 1000, 30.0
ORDER = (tasks.c.due_at.asc().nulls_last(), tasks.c.created_at, tasks.c.id)
CHINA = timezone(timedelta(hours=8))      # a due-date range is of days in Foshan
# the inbox's columns a user may sort by (the page's headers)
SORTS = {"name": tasks.c.name, "process": tasks.c.process_key, "project": tasks.c.scope_key,
         "assignee": tasks.c.assignee, "due": tasks.c.due_at, "created": tasks.c.created_at,
         "ended": tasks.c.ended_at}
# filters the merged per-project ranges do not serve: a plain query over the role's tasks
PLAIN = ("q", "due_from", "due_to", "sort", "order")


def page(conn: Connection, memo: Memo, principal: Principal, filters: dict, offset: int,
         limit: int, now: datetime) -> tuple[int, list]:
    """(total, rows) for one page; each row is a task with its instance's business_key.
    `memo` keeps the totals and project lists of one app's principals."""
    values = {**filters, "now": now, "me": principal.username, "role": principal.role}
    values.update(_range_values(filters))
    if filters.get("view") == "done":
        return _done(conn, principal, filters, values, offset, limit)
    filters = {k: v for k, v in filters.items() if k != "view"}
    shape = _shape(filters)
    who = (principal.role, principal.district, principal.enterprise_code)
    scopes = memo.get(("scopes", *who), SCOPES_TTL,
                      lambda: policy.task_scopes(conn, principal))
    if scopes is not None and len(scopes) <= MAX_MERGED_SCOPES and \
            not any(k in filters for k in PLAIN):
        if not scopes:
            return 0, []
        codes = [s for s in scopes if s is not None]
        values.update({f"scope_{i}": code for i, code in enumerate(codes)},
                      upto=offset + limit, skip=offset, take=limit)
        count, stmt = _merged(len(codes), None in scopes, shape)
    else:
        clause = (TASK_IS_OPEN, policy.task_clause(principal), *_filters(shape))
        count = select(func.count()).select_from(tasks).where(*clause)
        stmt = (select(tasks, instances.c.business_key)
                .join(instances, instances.c.id == tasks.c.instance_id)
                .where(*clause).order_by(*_order(filters)).offset(offset).limit(limit))
    total = memo.get(("count", *who, principal.username, tuple(sorted(
        (k, str(v)) for k, v in filters.items()))), COUNT_TTL,
        lambda: conn.execute(count, values).scalar_one(),
        keep=lambda n: n >= COUNT_EXACT_BELOW)
    return total, conn.execute(stmt, values).all()


def _shape(filters: dict) -> tuple:
    """Which filters are set (and which way `overdue` goes): the statement's shape."""
    return tuple(sorted((k, filters[k] if k == "overdue" else True) for k in filters
                        if k not in ("sort", "order")))


def _range_values(filters: dict) -> dict:
    """Bind values derived from the filters: the search pattern and the due range's ends
    (whole days in China time; `due_to` includes its day)."""
    values = {}
    if filters.get("q"):
        escaped = filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        values["q_like"] = f"%{escaped}%"
    if filters.get("due_from"):
        values["due_lo"] = datetime.combine(filters["due_from"], datetime.min.time(), CHINA)
    if filters.get("due_to"):
        values["due_hi"] = datetime.combine(filters["due_to"] + timedelta(days=1),
                                            datetime.min.time(), CHINA)
    return values


def _order(filters: dict) -> tuple:
    column = SORTS.get(filters.get("sort") or "")
    if column is None:
        return ORDER
    first = column.desc().nulls_last() if filters.get("order") == "desc" \
        else column.asc().nulls_last()
    return (first, tasks.c.id)


def _search(pattern):
    """Task name, process key or name, project code or name, business key: any contains it."""
    return or_(
        tasks.c.name.ilike(pattern, escape="\\"), tasks.c.process_key.ilike(pattern, escape="\\"),
        tasks.c.scope_key.ilike(pattern, escape="\\"),
        tasks.c.scope_key.in_(select(projects.c.code).where(
            projects.c.name.ilike(pattern, escape="\\"))),
        tasks.c.process_key.in_(select(definitions.c.key).where(
            definitions.c.kind == "bpmn", definitions.c.name.ilike(pattern, escape="\\"))),
        tasks.c.instance_id.in_(select(instances.c.id).where(
            instances.c.business_key.ilike(pattern, escape="\\"))))


def _done(conn: Connection, principal: Principal, filters: dict, values: dict, offset: int,
          limit: int) -> tuple[int, list]:
    """已办: the tasks this user completed, newest first unless sorted otherwise."""
    shape = _shape({k: v for k, v in filters.items()
                    if k not in ("view", "overdue", "assignee")})
    clause = (tasks.c.state == "completed", tasks.c.ended_by == principal.username,
              *_filters(shape))
    order = _order(filters) if filters.get("sort") else (tasks.c.ended_at.desc(), tasks.c.id)
    total = conn.execute(select(func.count()).select_from(tasks).where(*clause),
                         values).scalar_one()
    rows = conn.execute(select(tasks, instances.c.business_key)
                        .join(instances, instances.c.id == tasks.c.instance_id)
                        .where(*clause).order_by(*order).offset(offset).limit(limit),
                        values).all()
    return total, rows


def _filters(shape: tuple) -> list:
    where = []
    for name, value in shape:
        if name == "process_key":
            where.append(tasks.c.process_key == bindparam("process_key"))
        elif name == "business_key":
            where.append(tasks.c.instance_id.in_(select(instances.c.id).where(
                instances.c.business_key == bindparam("business_key"))))
        elif name == "district":
            where.append(tasks.c.scope_key.in_(select(projects.c.code).where(
                projects.c.district == bindparam("district"))))
        elif name == "assignee":            # only "me" is accepted
            where.append(tasks.c.assignee == bindparam("me"))
        elif name == "q":
            where.append(_search(bindparam("q_like")))
        elif name == "due_from":
            where.append(tasks.c.due_at >= bindparam("due_lo", type_=tasks.c.due_at.type))
        elif name == "due_to":
            where.append(tasks.c.due_at < bindparam("due_hi", type_=tasks.c.due_at.type))
        elif name == "overdue":
            now = bindparam("now", type_=tasks.c.due_at.type)
            where.append(tasks.c.due_at < now if value else
                         (tasks.c.due_at.is_(None)) | (tasks.c.due_at >= now))
    return where


@lru_cache(maxsize=512)
def _merged(codes: int, no_project: bool, shape: tuple):
    """(count, page) statements over each project's open tasks of the role: the counts
    summed, and each project's first `upto` tasks merged and joined to their rows."""
    keys = [tasks.c.scope_key.is_(None)] if no_project else []
    keys += [tasks.c.scope_key == bindparam(f"scope_{i}") for i in range(codes)]
    where = [TASK_IS_OPEN, tasks.c.role == bindparam("role"), *_filters(shape)]
    counts = union_all(*(select(func.count().label("n")).select_from(tasks).where(*where, key)
                         for key in keys)).subquery()
    ranges = [select(tasks.c.id, tasks.c.due_at, tasks.c.created_at).where(*where, key)
              .order_by(*ORDER).limit(bindparam("upto", type_=Integer)).subquery()
              for key in keys]
    merged = union_all(*(select(r) for r in ranges)).subquery()
    return (select(func.coalesce(func.sum(counts.c.n), 0)),
            select(tasks, instances.c.business_key)
            .join(merged, merged.c.id == tasks.c.id)
            .join(instances, instances.c.id == tasks.c.instance_id)
            .order_by(merged.c.due_at.asc().nulls_last(), merged.c.created_at, merged.c.id)
            .offset(bindparam("skip", type_=Integer)).limit(bindparam("take", type_=Integer)))


def summary(conn: Connection, principal: Principal, now: datetime) -> dict:
    """Counts for the page title and the refresh poll: open tasks the principal acts on,
    overdue, claimed by him, and the newest task's time (a new task changes the answer)."""
    clause = (TASK_IS_OPEN, policy.task_clause(principal))
    row = conn.execute(select(
        func.count(), func.max(tasks.c.created_at),
        func.count().filter(tasks.c.due_at < now),
        func.count().filter(tasks.c.assignee == principal.username)).where(*clause)).one()
    return {"total": row[0], "newest": row[1].isoformat() if row[1] else None,
            "overdue": row[2], "mine": row[3]}
