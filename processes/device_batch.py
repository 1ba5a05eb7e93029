"""One transaction's worth of device messages: what it reads once, what it writes at the end.

A burst of alarms is mostly repeats (QoS 1 redeliveries, a device alarming every few seconds):
reading each device, each earlier alarm, each running rectification, project and crane once
per batch, evaluating the routing decision once per distinct set of facts, and writing alarm
rows, readings and dead letters in one statement each, is what lets one SQLite file keep up
with a thousand alarms a second."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import and_, column, insert, select, update, values

from engine import decisions
from engine.schema import instances

from . import thresholds as limits_mod
from .schema import alarms, cranes, dead_letters, devices, projects, readings

ROUTED = ("started", "correlated", "merged")


class Batch:
    def __init__(self, engine, unit, items: list):
        """`items`: the parsed messages, (parts, data, body) tuples, of this batch."""
        self.engine, self.unit, self.conn = engine, unit, unit.conn
        ids = {parts["device_id"] for parts, _, _ in items}
        self.devices = {r.id: dict(r._mapping) for r in self.conn.execute(
            select(devices).where(devices.c.id.in_(ids)))} if ids else {}
        self.alarms = self._earlier_alarms(items)
        self.readings = self._earlier_readings(items)
        self.running: dict[tuple[str, str], str | None] = {}
        self.started_here: set[str] = set()
        self.alive: set[str] = set()
        self.limit_rows = None
        self.statuses: dict[str, str | None] = {}
        self.crane_states: dict[str, str | None] = {}
        self.decided: dict[tuple, tuple[int, dict]] = {}
        self.decision = None
        self.touched: set[str] = set()
        self.new_alarms: list[dict] = []
        self.new_readings: list[dict] = []
        self.new_dead: list[dict] = []

    def _earlier_alarms(self, items) -> dict:
        keys = {(p["device_id"], d["alarm_id"]) for p, d, _ in items if p["kind"] == "alarm"}
        if not keys:
            return {}
        rows = self.conn.execute(select(alarms.c.device_id, alarms.c.alarm_id, alarms.c.effect,
                                        alarms.c.instances, alarms.c.note)
                                 .join(*_pairs(keys, alarms.c.device_id, alarms.c.alarm_id)))
        return {(r.device_id, r.alarm_id): {"alarm_id": r.alarm_id, "device_id": r.device_id,
                                            "effect": r.effect, "instances": r.instances or [],
                                            "note": r.note}
                for r in rows}

    def _earlier_readings(self, items) -> set:
        keys = {(p["device_id"], d["at"]) for p, d, _ in items if p["kind"] == "telemetry"}
        if not keys:
            return set()
        rows = self.conn.execute(select(readings.c.device_id, readings.c.at)
                                 .join(*_pairs(keys, readings.c.device_id, readings.c.at)))
        return {(r.device_id, _utc(r.at)) for r in rows}

    # --- reads, cached ---------------------------------------------------------------------

    def limits(self) -> list:
        if self.limit_rows is None:
            self.limit_rows = limits_mod.all_limits(self.conn)
        return self.limit_rows

    def project_status(self, code: str) -> str | None:
        if code not in self.statuses:
            self.statuses[code] = self.conn.execute(select(projects.c.status).where(
                projects.c.code == code)).scalar()
        return self.statuses[code]

    def crane_in_service(self, crane_id: str | None) -> bool:
        if not crane_id:
            return False
        if crane_id not in self.crane_states:
            self.crane_states[crane_id] = self.conn.execute(select(cranes.c.state).where(
                cranes.c.id == crane_id)).scalar()
        return self.crane_states[crane_id] == "in_service"

    def decide(self, key: str, facts: dict) -> tuple[int, dict]:
        """(version, outputs) of the latest deployed decision `key` for these facts: read and
        parsed once per batch (engine.decisions keeps each version parsed), evaluated once per
        distinct set of facts."""
        if self.decision is None or self.decision.key != key:
            self.decision = decisions.latest(self.conn, key)
            self.scripts = self.engine.new_scripts()
        memo = (key, *sorted(facts.items()))
        if memo not in self.decided:
            self.decided[memo] = (self.decision.version,
                                  decisions.evaluate(self.decision, self.scripts, facts))
        return self.decided[memo]

    def running_rectification(self, device_id: str, alarm_type: str) -> str | None:
        """The rectification the last routed alarm of this device and type opened or reached,
        while it still runs."""
        key = (device_id, alarm_type)
        if key not in self.running:
            row = self.conn.execute(select(alarms.c.instances).where(
                alarms.c.device_id == device_id, alarms.c.type == alarm_type,
                alarms.c.effect.in_(ROUTED)).order_by(alarms.c.id.desc()).limit(1)).first()
            found = row.instances[0] if row is not None and row.instances else None
            self.running[key] = found
        found = self.running[key]
        if found is None or found in self.started_here or found in self.alive:
            return found           # checked (or started) in this batch already
        alive = self.conn.execute(select(instances.c.id).where(
            instances.c.id == found, instances.c.state == "running",
            instances.c.process_key == "rectification")).first()
        if alive is None:
            self.running[key] = None
            return None
        self.alive.add(found)
        return found

    # --- writes, at the end ----------------------------------------------------------------

    def add_alarm(self, row: dict) -> None:
        self.new_alarms.append(row)
        self.alarms[(row["device_id"], row["alarm_id"])] = row
        if row["effect"] in ROUTED and row["instances"]:
            self.running[(row["device_id"], row["type"])] = row["instances"][0]
        action = ((row.get("payload") or {}).get("route") or {}).get("action")
        if row["effect"] == "started" and action == "rectification":
            self.started_here.update(row["instances"])     # a rectification, known running

    def add_reading(self, device_id: str, at: datetime, values: dict) -> bool:
        key = (device_id, at)
        if key in self.readings:
            return False
        self.readings.add(key)
        self.new_readings.append({"device_id": device_id, "at": at,
                                  "received_at": self.unit.now, "values": values})
        return True

    def add_dead(self, row: dict) -> None:
        self.new_dead.append(row)

    def flush(self) -> None:
        if self.new_alarms:
            columns = set(alarms.c.keys())
            self.conn.execute(insert(alarms), [
                {k: v for k, v in a.items() if k in columns and k != "id"}
                for a in self.new_alarms])
        if self.new_readings:
            self.conn.execute(insert(readings), self.new_readings)
        if self.new_dead:
            self.conn.execute(insert(dead_letters), self.new_dead)
        for device_id in self.touched:
            d = self.devices[device_id]
            self.conn.execute(update(devices).where(devices.c.id == device_id).values(
                last_seen_at=d["last_seen_at"], latest=d["latest"], state=d["state"],
                alarm_state=json.loads(json.dumps(d["alarm_state"]))))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else \
        value.astimezone(timezone.utc)


def _pairs(keys: set, first, second):
    """What joins a table to these (first, second) pairs: one probe of its unique index per
    pair (two IN lists matched every cross pair, and PostgreSQL read the whole table)."""
    pairs = values(column("k1", first.type), column("k2", second.type),
                   name="pairs").data(sorted(keys, key=str)).cte("pairs")
    return pairs, and_(first == pairs.c.k1, second == pairs.c.k2)
