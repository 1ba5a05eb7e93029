"""Batches of running instances moved to another version of their process.

A designer proposes a mapping (engine.migration: same ids map to each other, editable), reads
the dry run (per instance: what moves, what cannot), then starts the batch. The batch is a row
in `migrations` and one row per instance in `migration_items`; each instance moves in its own
transaction that also marks its item, so a worker killed midway leaves every instance either
moved (and marked) or untouched (and pending): running the batch again finishes it, and an
instance is never moved twice. Progress is a count of items by state.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import asdict

from sqlalchemy import func, insert, select, update

from engine import migration
from engine.errors import Conflict, Invalid, NotFound, StaleWrite
from engine.schema import instances
from engine.serializer import load_workflow
from engine.store import load_specs

from .schema import migration_items, migrations
from engine.i18n import _

log = logging.getLogger(__name__)
BATCH = 50
MAX_LISTED = 2000          # instances listed in a dry run or a progress answer


def _definitions(engine, conn, key: str, from_version: int, to_version: int):
    if from_version == to_version:
        raise Invalid(_("源版本与目标版本相同"),
                      {"to_version": [_("必须与源版本不同")]})
    return engine.definition(conn, key, from_version), engine.definition(conn, key, to_version)


def proposal(engine, conn, key: str, from_version: int, to_version: int,
             mapping: dict | None = None) -> dict:
    """Both versions' elements and the effective mapping (proposed, with the caller's over
    it): what the page draws and the dry run uses."""
    source, target = _definitions(engine, conn, key, from_version, to_version)
    old_spec = load_specs(conn, engine.specs, source.id)[0]
    new_spec = load_specs(conn, engine.specs, target.id)[0]
    merged = migration.check_mapping(old_spec, new_spec, mapping or {})
    return {"process_key": key, "from_version": from_version, "to_version": to_version,
            "from_definition_id": source.id, "to_definition_id": target.id,
            "mapping": merged,
            "proposed": migration.proposed_mapping(old_spec, new_spec),
            "elements": {"from": [asdict(e) for e in migration.elements(old_spec)],
                         "to": [asdict(e) for e in migration.elements(new_spec)]}}


def dry_run(engine, conn, key: str, from_version: int, to_version: int,
            mapping: dict | None = None, listed: int = MAX_LISTED) -> dict:
    """What a batch would do, instance by instance, changing nothing."""
    plan = proposal(engine, conn, key, from_version, to_version, mapping)
    report = _assess_all(engine, conn, plan)
    movable = sum(1 for r in report if r["movable"])
    plan.update(instances=report[:listed], total=len(report), movable=movable,
                refused=len(report) - movable)
    return plan


def _assess_all(engine, conn, plan: dict) -> list[dict]:
    source_specs = load_specs(conn, engine.specs, plan["from_definition_id"])
    new_spec = load_specs(conn, engine.specs, plan["to_definition_id"])[0]
    rows = conn.execute(
        select(instances.c.id, instances.c.business_key, instances.c.blob)
        .where(instances.c.definition_id == plan["from_definition_id"],
               instances.c.state == "running").order_by(instances.c.started_at, instances.c.id))
    out = []
    for row in rows:
        found = migration.assess(load_workflow(row.blob, source_specs), new_spec, plan["mapping"])
        out.append({"instance_id": row.id, "business_key": row.business_key,
                    "waiting": found.waiting, "moves": found.moves, "dropped": found.dropped,
                    "movable": found.movable, "refusal": found.refusal})
    return out


def create(engine, actor: str, key: str, from_version: int, to_version: int,
           mapping: dict | None = None) -> dict:
    """Record a batch (its dry run decides each item: pending or refused); run it next."""
    with engine.unit(actor) as unit:
        plan = dry_run(engine, unit.conn, key, from_version, to_version, mapping,
                       listed=1 << 30)
        if plan["total"] == 0:
            raise Invalid(_("源版本没有运行中的实例"),
                          {"from_version": [_("没有运行中的实例")]})
        migration_id = unit.conn.execute(insert(migrations).values(
            process_key=key, from_version=from_version, to_version=to_version,
            mapping=plan["mapping"], state="running", total=plan["total"],
            created_by=actor, created_at=unit.now).returning(migrations.c.id)).scalar_one()
        unit.conn.execute(insert(migration_items), [dict(
            migration_id=migration_id, instance_id=r["instance_id"],
            state="pending" if r["movable"] else "refused", waiting=r["waiting"],
            moves=r["moves"], message=r["refusal"], updated_at=unit.now)
            for r in plan["instances"]])
        unit.record("migration.created", migration_id=migration_id, process_key=key,
                    from_version=from_version, to_version=to_version,
                    mapping=plan["mapping"], total=plan["total"], refused=plan["refused"])
    return progress(engine, migration_id)


def progress(engine, migration_id: int, conn=None) -> dict:
    if conn is None:
        with engine.db.engine.connect() as conn:
            return progress(engine, migration_id, conn)
    row = conn.execute(select(migrations).where(migrations.c.id == migration_id)).first()
    if row is None:
        raise NotFound(_("迁移批次不存在: {migration_id}").format(migration_id=migration_id))
    counts = dict(conn.execute(
        select(migration_items.c.state, func.count()).where(
            migration_items.c.migration_id == migration_id)
        .group_by(migration_items.c.state)).all())
    items = conn.execute(select(migration_items).where(
        migration_items.c.migration_id == migration_id)
        .order_by(migration_items.c.state != "refused", migration_items.c.state != "failed",
                  migration_items.c.instance_id).limit(MAX_LISTED)).all()
    done = sum(counts.get(s, 0) for s in ("moved", "refused", "failed"))
    return {"id": row.id, "process_key": row.process_key, "from_version": row.from_version,
            "to_version": row.to_version, "mapping": row.mapping, "state": row.state,
            "total": row.total, "created_by": row.created_by, "created_at": row.created_at,
            "finished_at": row.finished_at,
            "counts": {s: counts.get(s, 0) for s in ("pending", "moved", "refused", "failed")},
            "percent": round(100.0 * done / row.total, 1) if row.total else 100.0,
            "items": [{"instance_id": i.instance_id, "state": i.state, "waiting": i.waiting,
                       "moves": i.moves, "message": i.message} for i in items]}


def list_migrations(engine, key: str | None = None) -> list[dict]:
    with engine.db.engine.connect() as conn:
        query = select(migrations.c.id).order_by(migrations.c.id.desc()).limit(100)
        if key:
            query = query.where(migrations.c.process_key == key)
        ids = conn.execute(query).scalars().all()
        return [{k: v for k, v in progress(engine, i, conn).items() if k != "items"}
                for i in ids]


# -- running a batch ---------------------------------------------------------------------------

def run(engine, migration_id: int, actor: str = "system:migration",
        limit: int | None = None) -> dict:
    """Move the batch's pending instances, each in its own transaction; returns progress.
    Safe to run again after a crash, and beside another runner (an item is claimed in the
    transaction that moves its instance)."""
    with engine.db.engine.connect() as conn:
        batch = conn.execute(select(migrations).where(migrations.c.id == migration_id)).first()
    if batch is None:
        raise NotFound(_("迁移批次不存在: {migration_id}").format(migration_id=migration_id))
    with engine.db.engine.connect() as conn:
        source = engine.definition(conn, batch.process_key, batch.from_version)
        target = engine.definition(conn, batch.process_key, batch.to_version)
    handled = 0
    while limit is None or handled < limit:
        with engine.db.engine.connect() as conn:
            pending = conn.execute(select(migration_items.c.instance_id).where(
                migration_items.c.migration_id == migration_id,
                migration_items.c.state == "pending")
                .order_by(migration_items.c.instance_id).limit(BATCH)).scalars().all()
        if not pending:
            break
        for instance_id in pending:
            if limit is not None and handled >= limit:
                break
            _move_one(engine, actor, batch, source, target, instance_id)
            handled += 1
    _finish_if_done(engine, actor, migration_id)
    return progress(engine, migration_id)


def _move_one(engine, actor: str, batch, source, target, instance_id: str) -> None:
    def work(unit) -> None:
        claimed = unit.conn.execute(
            select(migration_items.c.state).where(
                migration_items.c.migration_id == batch.id,
                migration_items.c.instance_id == instance_id).with_for_update()).scalar()
        if claimed != "pending":
            return                     # another runner got there first
        try:
            found = migration.migrate(engine, unit, instance_id, target, batch.mapping,
                                      source_definition_id=source.id)
        except StaleWrite:
            raise
        except Conflict as exc:        # refused now (it moved on since the dry run)
            _mark(unit, batch.id, instance_id, "refused", message=exc.message)
            return
        _mark(unit, batch.id, instance_id, "moved", moves=found.moves)
    try:
        engine.retrying(actor, work)
    except Exception as exc:           # rolled back: the instance is as it was
        log.exception("migration %s: instance %s failed", batch.id, instance_id)
        with engine.unit(actor) as unit:
            _mark(unit, batch.id, instance_id, "failed",
                  message=f"{type(exc).__name__}: {exc}"[:2000])
            unit.record("migration.instance_failed", instance_id, migration_id=batch.id,
                        error=f"{type(exc).__name__}: {exc}"[:500])


def _mark(unit, migration_id: int, instance_id: str, state: str, **values) -> None:
    unit.conn.execute(update(migration_items).where(
        migration_items.c.migration_id == migration_id,
        migration_items.c.instance_id == instance_id)
        .values(state=state, updated_at=unit.now, **values))


def _finish_if_done(engine, actor: str, migration_id: int) -> None:
    with engine.unit(actor) as unit:
        left = unit.conn.execute(select(func.count()).select_from(migration_items).where(
            migration_items.c.migration_id == migration_id,
            migration_items.c.state == "pending")).scalar_one()
        state = unit.conn.execute(select(migrations.c.state).where(
            migrations.c.id == migration_id)).scalar_one()
        if left or state == "done":
            return
        unit.conn.execute(update(migrations).where(migrations.c.id == migration_id)
                          .values(state="done", finished_at=unit.now))
        counts = dict(unit.conn.execute(select(migration_items.c.state, func.count()).where(
            migration_items.c.migration_id == migration_id)
            .group_by(migration_items.c.state)).all())
        unit.record("migration.finished", migration_id=migration_id, counts=counts)


# -- in the background ---------------------------------------------------------------------------

_running: set[int] = set()
_running_lock = threading.Lock()


def run_in_thread(engine, migration_id: int, actor: str = "system:migration") -> bool:
    """The embedded default: a daemon thread runs the batch (one per batch per process).
    False when this process runs it already."""
    with _running_lock:
        if migration_id in _running:
            return False
        _running.add(migration_id)

    def target() -> None:
        try:
            run(engine, migration_id, actor)
        except Exception:
            log.exception("migration %s stopped", migration_id)
        finally:
            with _running_lock:
                _running.discard(migration_id)
    threading.Thread(target=target, name=f"jianguan-migration-{migration_id}",
                     daemon=True).start()
    return True


def unfinished(engine) -> list[int]:
    with engine.db.engine.connect() as conn:
        return conn.execute(select(migrations.c.id).where(migrations.c.state == "running")
                            .order_by(migrations.c.id)).scalars().all()


def resume_unfinished(engine) -> int:
    """A background pass: batches left running by a process that died are taken up again."""
    started = 0
    for migration_id in unfinished(engine):
        started += run_in_thread(engine, migration_id)
    return started
