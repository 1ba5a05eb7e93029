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

from datetime import datetime
from functools import lru_cache

from sqlalchemy import Integer, bindparam, func, select, union_all
from sqlalchemy.engine import Connection

from engine.memo import Memo
from engine.schema import TASK_IS_OPEN, instances, tasks

from . import policy
from .people import Principal
from .schema import projects

# Past this many projects one statement of merged ranges costs more to plan than it saves.
MAX_MERGED_SCOPES = 64
COUNT_TTL, COUNT_EXACT_BELOW, SCOPES_TTL = 5.0, 1000, 30.0
ORDER = (tasks.c.due_at.asc().nulls_last(), tasks.c.created_at, tasks.c.id)


def page(conn: Connection, memo: Memo, principal: Principal, filters: dict, offset: int,
         limit: int, now: datetime) -> tuple[int, list]:
    """(total, rows) for one page; each row is a task with its instance's business_key.
    `memo` keeps the totals and project lists of one app's principals."""
    values = {**filters, "now": now, "me": principal.username, "role": principal.role}
    shape = _shape(filters)
    who = (principal.role, principal.district, principal.enterprise_code)
    scopes = memo.get(("scopes", *who), SCOPES_TTL,
                      lambda: policy.task_scopes(conn, principal))
    if scopes is not None and len(scopes) <= MAX_MERGED_SCOPES:
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
                .where(*clause).order_by(*ORDER).offset(offset).limit(limit))
    total = memo.get(("count", *who, principal.username, tuple(sorted(
        (k, str(v)) for k, v in filters.items()))), COUNT_TTL,
        lambda: conn.execute(count, values).scalar_one(),
        keep=lambda n: n >= COUNT_EXACT_BELOW)
    return total, conn.execute(stmt, values).all()


def _shape(filters: dict) -> tuple:
    """Which filters are set (and which way `overdue` goes): the statement's shape."""
    return tuple(sorted((k, filters[k] if k == "overdue" else True) for k in filters))


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
