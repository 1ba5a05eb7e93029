"""Process analytics from history: how long each step takes, how often it is late, how often
work is sent back, per process and element, by district, enterprise and inspector.

Source: the completed rows of the engine's `tasks` projection (created_at → ended_at, due_at,
ended_by, the instance's project). Incremental: `rollup` reads only what ended since its
watermark (minus a short lag, so a transaction still committing is not skipped) and merges
it into `analytics_rollup`, one row per process, element, day and dimension value, with a
duration histogram; the queries sum those rows, so their cost follows the number of days and
elements asked for, not the number of history rows. Medians and p90 come from the histogram
(buckets √2 wide: within ±19 %).
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, insert, or_, select, update

from engine.clock import utcnow
from engine.errors import Forbidden
from engine.schema import definitions, tasks

from .schema import (HISTOGRAM_BUCKETS, analytics_rollup, analytics_watermark, enterprises,
                     projects, users)
from engine.i18n import _

LAG = timedelta(seconds=60)
FIRST_EDGE = 60.0                  # seconds: bucket 0 is under a minute
CHUNK = 20_000
DIMS = ("district", "enterprise", "inspector")
WATERMARK = "tasks"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
HIST = [analytics_rollup.c[f"h{i}"] for i in range(HISTOGRAM_BUCKETS)]
KEY = ("process_key", "element_id", "grain", "day", "dim", "dim_value")


def bucket(seconds: float) -> int:
    if seconds < FIRST_EDGE:
        return 0
    return min(HISTOGRAM_BUCKETS - 1, int(2 * math.log2(seconds / FIRST_EDGE)) + 1)


def bucket_value(index: int) -> float:
    """A bucket's representative duration (its geometric middle)."""
    if index == 0:
        return FIRST_EDGE / 2
    return FIRST_EDGE * 2 ** ((index - 1) / 2) * 2 ** 0.25


def quantile(hist: list[int], q: float) -> float | None:
    total = sum(hist)
    if not total:
        return None
    wanted, seen = q * total, 0
    for index, n in enumerate(hist):
        seen += n
        if seen >= wanted:
            return bucket_value(index)
    return bucket_value(len(hist) - 1)


# -- the incremental rollup --------------------------------------------------------------------

def pending(engine, now: datetime | None = None) -> bool:
    """Whether tasks ended that the rollup has not read (one indexed probe)."""
    cutoff = (now or utcnow()) - LAG
    with engine.db.engine.connect() as conn:
        mark = _watermark(conn)
        return conn.execute(select(tasks.c.id).where(
            tasks.c.ended_at >= mark, tasks.c.ended_at < cutoff).limit(1)).first() is not None


def rollup(engine, now: datetime | None = None, max_rows: int | None = None) -> int:
    """Merge what ended since the watermark into the rollup; returns task rows read. Chunks
    of CHUNK rows, each in its own transaction that also moves the watermark."""
    cutoff = (now or utcnow()) - LAG
    done = 0
    while max_rows is None or done < max_rows:
        with engine.db.write() as conn:
            read, more = _one_chunk(conn, cutoff)
        done += read
        if not more:
            break
    return done


def _watermark(conn) -> datetime:
    mark = conn.execute(select(analytics_watermark.c.ended_before).where(
        analytics_watermark.c.name == WATERMARK)).scalar()
    return mark or EPOCH


def _one_chunk(conn, cutoff: datetime) -> tuple[int, bool]:
    """(completed tasks read, whether more remains before `cutoff`)."""
    mark = _watermark(conn)
    if mark >= cutoff:
        return 0, False
    ends = conn.execute(select(tasks.c.ended_at).where(
        tasks.c.ended_at >= mark, tasks.c.ended_at < cutoff)
        .order_by(tasks.c.ended_at).offset(CHUNK).limit(1)).scalar()
    more = ends is not None and ends > mark
    if more:
        cutoff = ends                      # the chunk ends where its last time ends
    rows = conn.execute(
        select(tasks.c.instance_id, tasks.c.process_key, tasks.c.element_id, tasks.c.name,
               tasks.c.role, tasks.c.ended_by, tasks.c.created_at, tasks.c.ended_at,
               tasks.c.due_at, tasks.c.id, projects.c.district, projects.c.contractor_code)
        .select_from(tasks.outerjoin(projects, projects.c.code == tasks.c.scope_key))
        .where(tasks.c.ended_at >= mark, tasks.c.ended_at < cutoff,
               tasks.c.state == "completed")).all()
    _merge(conn, _aggregate(rows, _rework(conn, rows)))
    _set_watermark(conn, mark, cutoff)
    return len(rows), more


def _rework(conn, rows) -> set[str]:
    """Task ids that did an element again in the same instance (sent back and redone)."""
    ids = sorted({r.instance_id for r in rows})
    seen: dict[tuple, list] = defaultdict(list)
    for first in range(0, len(ids), 500):
        for r in conn.execute(select(tasks.c.instance_id, tasks.c.element_id, tasks.c.ended_at,
                                     tasks.c.id).where(tasks.c.instance_id.in_(ids[first:first + 500]),
                                                       tasks.c.state == "completed")):
            seen[(r.instance_id, r.element_id)].append((r.ended_at, r.id))
    again = set()
    for done in seen.values():
        if len(done) > 1:
            again.update(task_id for _, task_id in sorted(done)[1:])
    return again


def _aggregate(rows, rework: set[str]) -> dict[tuple, dict]:
    # rows are unpacked by position and each row's keys built once: this loop is most of a
    # large rollup's time
    out: dict[tuple, dict] = {}
    for (_id, process, element, name, role, ended_by, created, ended, due, task_id, district,
         contractor) in rows:
        seconds = max(0.0, (ended - created).total_seconds())
        late = 1 if due is not None and ended > due else 0
        again = 1 if task_id in rework else 0
        b = bucket(seconds)
        day = ended.date().isoformat()        # UTCDateTime hands back UTC
        values = [("all", "")]
        if district:
            values.append(("district", district))
        if contractor:
            values.append(("enterprise", contractor))
        if role == "inspector" and ended_by:
            values.append(("inspector", ended_by))
        for grain, when in (("day", day), ("month", day[:7])):
            for dim, value in values:
                key = (process, element, grain, when, dim, value)
                agg = out.get(key)
                if agg is None:
                    agg = out[key] = {"element_name": name, "count": 0, "total_seconds": 0.0,
                                      "overdue": 0, "rework": 0,
                                      "hist": [0] * HISTOGRAM_BUCKETS}
                agg["count"] += 1
                agg["total_seconds"] += seconds
                agg["overdue"] += late
                agg["rework"] += again
                agg["hist"][b] += 1
    return out


def _merge(conn, fresh: dict[tuple, dict]) -> None:
    """Fold the chunk into the rows already there (one row per key stays one row). A chunk
    covers a short stretch of time: the rows of its days and months are read by index."""
    wanted: dict[tuple, set] = defaultdict(set)
    for key in fresh:
        wanted[(key[2], key[4])].add(key[3])           # (grain, dim) -> days or months
    old_ids = []
    for (grain, dim), days in wanted.items():
        days = sorted(days)
        for first in range(0, len(days), 400):
            for row in conn.execute(select(analytics_rollup).where(
                    analytics_rollup.c.grain == grain, analytics_rollup.c.dim == dim,
                    analytics_rollup.c.day.in_(days[first:first + 400]))):
                agg = fresh.get(tuple(getattr(row, k) for k in KEY))
                if agg is None:
                    continue
                agg["count"] += row.count
                agg["total_seconds"] += row.total_seconds
                agg["overdue"] += row.overdue
                agg["rework"] += row.rework
                agg["hist"] = [a + getattr(row, f"h{i}") for i, a in enumerate(agg["hist"])]
                old_ids.append(row.id)
    for first in range(0, len(old_ids), 900):
        conn.execute(delete(analytics_rollup).where(
            analytics_rollup.c.id.in_(old_ids[first:first + 900])))
    if fresh:
        # the driver's executemany straight: SQLAlchemy's per-row parameter building was
        # most of a large rollup's time (50 columns a row)
        names = [*KEY, "element_name", "count", "total_seconds", "overdue", "rework",
                 *[c.name for c in HIST]]
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO analytics_rollup ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)}) "
               f"VALUES ({', '.join([mark] * len(names))})")
        conn.exec_driver_sql(sql, [(*key, a["element_name"], a["count"], a["total_seconds"],
                                    a["overdue"], a["rework"], *a["hist"])
                                   for key, a in fresh.items()])


def _set_watermark(conn, old: datetime, new: datetime) -> None:
    if old == EPOCH and conn.execute(select(analytics_watermark.c.name).where(
            analytics_watermark.c.name == WATERMARK)).first() is None:
        conn.execute(insert(analytics_watermark).values(name=WATERMARK, ended_before=new))
    else:
        conn.execute(update(analytics_watermark).where(analytics_watermark.c.name == WATERMARK)
                     .values(ended_before=new))


def rollup_pass(engine) -> int:
    """The background pass (embedded scheduler or Celery beat)."""
    return rollup(engine) if pending(engine) else 0


# -- the questions ----------------------------------------------------------------------------

def period(start: date | None, end: date | None, today: date | None = None) -> tuple[str, str]:
    """Inclusive days; by default the last 90."""
    end = end or today or utcnow().date()
    start = start or end - timedelta(days=89)
    return start.isoformat(), end.isoformat()


def _sums():
    return [func.sum(analytics_rollup.c.count).label("count"),
            func.sum(analytics_rollup.c.total_seconds).label("total_seconds"),
            func.sum(analytics_rollup.c.overdue).label("overdue"),
            func.sum(analytics_rollup.c.rework).label("rework"),
            *[func.sum(c).label(c.name) for c in HIST]]


def _stats(row) -> dict:
    count = row.count or 0
    hist = [getattr(row, f"h{i}") or 0 for i in range(HISTOGRAM_BUCKETS)]
    return {"count": count,
            "mean_hours": round(row.total_seconds / count / 3600, 2) if count else None,
            "median_hours": _hours(quantile(hist, 0.5)), "p90_hours": _hours(quantile(hist, 0.9)),
            "overdue": row.overdue or 0,
            "overdue_rate": round((row.overdue or 0) / count, 4) if count else 0.0,
            "rework": row.rework or 0,
            "rework_rate": round((row.rework or 0) / count, 4) if count else 0.0}


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _spans(days: tuple[str, str]) -> or_:
    """The period as whole months (from month rows) and the days at either end (from day
    rows): a year asks a dozen month rows and at most two months of day rows per key."""
    start, end = date.fromisoformat(days[0]), date.fromisoformat(days[1])
    first_full = start if start.day == 1 else _next_month(start)
    last_full_end = end if _next_month(end) - timedelta(days=1) == end \
        else end.replace(day=1) - timedelta(days=1)
    day, month = analytics_rollup.c.grain == "day", analytics_rollup.c.grain == "month"
    col = analytics_rollup.c.day
    if first_full > last_full_end:              # inside one month, or two partial ones
        return and_(day, col >= days[0], col <= days[1])
    parts = [and_(month, col >= first_full.isoformat()[:7],
                  col <= last_full_end.isoformat()[:7])]
    if start < first_full:
        parts.append(and_(day, col >= days[0], col < first_full.isoformat()))
    if last_full_end < end:
        parts.append(and_(day, col > last_full_end.isoformat(), col <= days[1]))
    return or_(*parts)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _where(days: tuple[str, str], dim: str, value: str | None, process_key: str | None):
    clause = [analytics_rollup.c.dim == dim, _spans(days)]
    if value is not None:
        clause.append(analytics_rollup.c.dim_value == value)
    if process_key:
        clause.append(analytics_rollup.c.process_key == process_key)
    return and_(*clause)


def process_stats(conn, days: tuple[str, str], dim: str = "all", value: str = "") -> list[dict]:
    rows = conn.execute(select(analytics_rollup.c.process_key, *_sums())
                        .where(_where(days, dim, value, None))
                        .group_by(analytics_rollup.c.process_key)).all()
    names = dict(conn.execute(
        select(definitions.c.key, definitions.c.name).where(definitions.c.kind == "bpmn")
        .order_by(definitions.c.version)).all())          # the latest version's name wins
    out = [{"process_key": r.process_key, "name": names.get(r.process_key, r.process_key),
            **_stats(r)} for r in rows]
    return sorted(out, key=lambda r: -r["count"])


def element_stats(conn, process_key: str, days: tuple[str, str], dim: str = "all",
                  value: str = "") -> list[dict]:
    """Per element of one process (the heat map), for everything or one district,
    enterprise or inspector."""
    rows = conn.execute(select(analytics_rollup.c.element_id,
                               func.max(analytics_rollup.c.element_name).label("name"), *_sums())
                        .where(_where(days, dim, value, process_key))
                        .group_by(analytics_rollup.c.element_id)).all()
    out = [{"element_id": r.element_id, "name": r.name, **_stats(r)} for r in rows]
    return sorted(out, key=lambda r: -(r["median_hours"] or 0))


def ranking(conn, dim: str, days: tuple[str, str], process_key: str | None = None,
            element_id: str | None = None, sort: str = "median_hours",
            within: str | None = None) -> list[dict]:
    """Districts, enterprises or inspectors ranked (slowest first by default); `within` a
    district keeps that district's row, or its own inspectors."""
    query = select(analytics_rollup.c.dim_value, *_sums()).where(
        _where(days, dim, None, process_key))
    if element_id:
        query = query.where(analytics_rollup.c.element_id == element_id)
    if within is not None and dim == "district":
        query = query.where(analytics_rollup.c.dim_value == within)
    elif within is not None and dim == "inspector":
        query = query.where(analytics_rollup.c.dim_value.in_(
            select(users.c.username).where(users.c.district == within)))
    rows = conn.execute(query.group_by(analytics_rollup.c.dim_value)).all()
    names = _names(conn, dim, [r.dim_value for r in rows])
    out = [{"key": r.dim_value, "name": names.get(r.dim_value, r.dim_value), **_stats(r)}
           for r in rows]
    return sorted(out, key=lambda r: (-(r.get(sort) or 0), r["key"]))


def check_within(conn, district: str, enterprise_asked: bool, inspector: str | None) -> None:
    """District staff read their district's figures. The rollup keeps enterprises city-wide,
    so those are for city staff only, as is another district's inspector."""
    if enterprise_asked:
        raise Forbidden(_("企业统计为全市数据, 仅市级人员可查看"))
    if inspector and not conn.execute(select(users.c.username).where(
            users.c.username == inspector, users.c.district == district)).first():
        raise Forbidden(_("只能查看本辖区的数据"))


def _names(conn, dim: str, keys: list[str]) -> dict[str, str]:
    if dim == "enterprise" and keys:
        return dict(conn.execute(select(enterprises.c.code, enterprises.c.name)
                                 .where(enterprises.c.code.in_(keys[:5000]))).all())
    if dim == "inspector" and keys:
        return dict(conn.execute(select(users.c.username, users.c.display_name)
                                 .where(users.c.username.in_(keys[:5000]))).all())
    return {}
