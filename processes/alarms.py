"""Device messages in: validate, record, and turn alarms into BPMN messages.

`ingest` takes a batch (the MQTT listener hands over what arrived in the last few
milliseconds; HTTP hands over one) and applies it in one transaction, each message in its own
savepoint: a message that fails is rolled back alone and becomes a dead letter, the others
commit. The listener acknowledges the batch to the broker only after that commit, so a crash
loses nothing, and the unique (device, alarm_id) key makes a redelivery have no second effect.

Routing of one alarm (see docs/architecture.md):
1. a crane alarm goes to the crane's filing instance in service (message `crane_alarm`,
   correlated by project and crane); that instance decides by level;
2. otherwise a warning (预警) is recorded and shown, nothing starts;
3. an alarm of a device and type whose rectification is still running joins it (`merged`);
4. otherwise message `rectification_alarm` by project: a running rectification catches it,
   else a new rectification starts for the project's contractor.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from engine import messages
from engine.clock import utcnow
from engine.errors import EngineError
from engine.schema import instances

from . import thresholds as limits_mod
from .device_payloads import Refused, check_identity, decode, load, parse_topic
from .schema import alarms, dead_letters, devices, readings

log = logging.getLogger(__name__)

SILENT_AFTER = timedelta(days=3)        # the notice: 3 consecutive days without data
SILENT_TYPES = ("dust", "video")
ALARM_ROUTED = ("started", "correlated", "merged")
IDENTITY = ("project_code", "device_type", "device_id")


@dataclass
class Envelope:
    """One payload as it arrived: MQTT gives topic and bytes; HTTP gives the bytes of a body
    that carries project_code, device_type and device_id itself, and the kind."""
    source: str
    topic: str | None = None
    raw: bytes | str | None = None
    kind: str | None = None


@dataclass
class Outcome:
    status: str                                   # accepted duplicate dead
    kind: str | None = None
    device_id: str | None = None
    alarms: list[dict] = field(default_factory=list)
    reason: str | None = None
    errors: dict = field(default_factory=dict)
    dead_letter_id: int | None = None


class _Batch:
    """What one transaction has read or changed of the devices it touches."""

    def __init__(self, engine, unit, device_ids: set[str]):
        self.engine, self.unit, self.conn = engine, unit, unit.conn
        self.devices = {r.id: dict(r._mapping) for r in self.conn.execute(
            select(devices).where(devices.c.id.in_(device_ids)))} if device_ids else {}
        self.limit_rows = None
        self.touched: set[str] = set()

    def limits(self):
        if self.limit_rows is None:
            self.limit_rows = limits_mod.all_limits(self.conn)
        return self.limit_rows

    def flush(self) -> None:
        for device_id in self.touched:
            d = self.devices[device_id]
            self.conn.execute(update(devices).where(devices.c.id == device_id).values(
                last_seen_at=d["last_seen_at"], latest=d["latest"], state=d["state"],
                alarm_state=d["alarm_state"]))


def ingest(engine, envelopes: list[Envelope], actor: str = "system:devices") -> list[Outcome]:
    """Apply a batch in one transaction; returns one outcome per envelope, in order."""
    parsed = [_parse(e) for e in envelopes]
    ids = {p[0]["device_id"] for p in parsed if isinstance(p, tuple)}
    outcomes: list[Outcome] = []
    with engine.unit(actor) as unit:
        batch = _Batch(engine, unit, ids)
        for envelope, item in zip(envelopes, parsed):
            if isinstance(item, Refused):
                outcomes.append(_dead(unit, envelope, item))
                continue
            outcomes.append(_apply_safely(batch, envelope, *item))
        batch.flush()
    return outcomes


def _parse(envelope: Envelope):
    """(topic parts, validated payload) or the refusal; no database needed."""
    try:
        if envelope.source == "http":
            body = decode(envelope.raw or b"")
            missing = {k: ["必填 (required)"] for k in IDENTITY if not body.get(k)}
            if missing:
                raise Refused("缺少设备标识 (project_code, device_type, device_id required)",
                              missing)
            kind = envelope.kind
            if kind != "alarm" and body.get("kind") in ("telemetry", "heartbeat"):
                kind = body.pop("kind")       # one endpoint takes both
            topic = "jianguan/{}/{}/{}/{}".format(*(str(body.pop(k)) for k in IDENTITY), kind)
            parts = parse_topic(topic)
        else:
            parts = parse_topic(envelope.topic or "")
            body = decode(envelope.raw or b"")
            check_identity(parts, body)
        return parts, load(parts["kind"], body), body
    except Refused as refused:
        return refused


def _apply_safely(batch: _Batch, envelope: Envelope, parts: dict, data: dict,
                  body: dict) -> Outcome:
    unit = batch.unit
    marks = (len(unit.events), len(unit.after_commit))
    device = batch.devices.get(parts["device_id"])
    saved = None if device is None else json.loads(json.dumps(device, default=str))
    savepoint = unit.conn.begin_nested()
    try:
        outcome = _apply(batch, parts, data, body, envelope.source)
        savepoint.commit()
        return outcome
    except Refused as refused:
        failure = refused
    except (EngineError, IntegrityError) as exc:
        failure = Refused(f"处理失败, 已回滚 (failed, rolled back): {type(exc).__name__}: "
                          f"{str(exc)[:300]}")
    savepoint.rollback()
    del unit.events[marks[0]:]
    del unit.after_commit[marks[1]:]
    if saved is not None:            # undo what this message changed of the cached device
        batch.devices[parts["device_id"]].update(
            latest=saved["latest"], state=saved["state"], alarm_state=saved["alarm_state"])
    return _dead(unit, envelope, failure)


def _apply(batch: _Batch, parts: dict, data: dict, body: dict, source: str) -> Outcome:
    device = batch.devices.get(parts["device_id"])
    if device is None:
        raise Refused(f"设备 {parts['device_id']} 未登记 (unknown device)",
                      {"device_id": ["未登记的设备"]})
    if device["project_code"] != parts["project_code"] or \
            device["device_type"] != parts["device_type"]:
        raise Refused("主题中的项目或设备类型与登记不符 (topic does not match the registry)",
                      {"topic": [f"登记为 {device['project_code']}/{device['device_type']}"]})
    kind = parts["kind"]
    outcome = Outcome("accepted", kind, device["id"])
    if kind == "telemetry":
        if not _new_reading(batch, device, data):
            outcome.status = "duplicate"
            return outcome
        for crossing in _crossings(batch, device, data):
            outcome.alarms.append(raise_alarm(batch, device, crossing, "threshold"))
    elif kind == "alarm":
        row = raise_alarm(batch, device, {**body, **data}, source)
        outcome.alarms.append(row)
        if row.get("duplicate"):
            outcome.status = "duplicate"
    _seen(batch, device, data.get("at"), data.get("readings"))
    return outcome


def _seen(batch: _Batch, device: dict, at: datetime | None, values: dict | None) -> None:
    now = batch.unit.now
    # a device clock ahead of ours must not keep it "online" into the future
    seen = min(at, now) if at is not None else now
    last = device["last_seen_at"]
    if last is None or _aware(last) < seen:
        device["last_seen_at"] = seen
    if values:
        device["latest"] = {**(device["latest"] or {}), **values,
                            "at": (at or now).isoformat()}
    device["state"] = "online"
    batch.touched.add(device["id"])


def _new_reading(batch: _Batch, device: dict, data: dict) -> bool:
    exists = batch.conn.execute(select(readings.c.id).where(
        readings.c.device_id == device["id"], readings.c.at == data["at"])).first()
    if exists is not None:
        return False
    batch.conn.execute(insert(readings).values(device_id=device["id"], at=data["at"],
                                               received_at=batch.unit.now,
                                               values=data["readings"]))
    return True


def _crossings(batch: _Batch, device: dict, data: dict) -> list[dict]:
    found = limits_mod.limits_for(batch.limits(), device["device_type"],
                                  device["project_code"], device["id"])
    crossed, state = limits_mod.evaluate(found, data["readings"], data["at"],
                                         device["alarm_state"] or {})
    device["alarm_state"] = state
    stamp = data["at"].isoformat()
    return [{"alarm_id": f"th:{c.limit.metric}:{c.limit.level}:{c.limit.id}:{stamp}",
             "type": c.limit.metric, "level": c.limit.level, "value": c.value,
             "threshold": c.limit.limit, "at": data["at"], "message": c.limit.note,
             "crane_id": device["crane_id"]} for c in crossed]


def raise_alarm(batch: _Batch, device: dict, alarm: dict, source: str) -> dict:
    """Record one alarm and route it, once per (device, alarm_id)."""
    conn, unit = batch.conn, batch.unit
    earlier = conn.execute(select(alarms).where(alarms.c.device_id == device["id"],
                                                alarms.c.alarm_id == alarm["alarm_id"])).first()
    if earlier is not None:
        return {**_row(earlier), "duplicate": True}
    crane_id = alarm.get("crane_id") or device.get("crane_id")
    payload = {"alarm_id": alarm["alarm_id"], "device_id": device["id"],
               "device_type": device["device_type"], "project_code": device["project_code"],
               "type": alarm["type"], "level": alarm["level"], "value": alarm.get("value"),
               "threshold": alarm.get("threshold"), "at": alarm["at"].isoformat(),
               "crane_id": crane_id, "message": alarm.get("message")}
    effect, instance_ids, note = _route(batch, device, payload)
    row_id = conn.execute(insert(alarms).values(
        device_id=device["id"], alarm_id=alarm["alarm_id"],
        project_code=device["project_code"], device_type=device["device_type"],
        type=alarm["type"], level=alarm["level"], value=alarm.get("value"),
        threshold=alarm.get("threshold"), at=alarm["at"], received_at=unit.now,
        source=source, effect=effect, instances=instance_ids, note=note,
        payload=json.loads(json.dumps({k: v for k, v in alarm.items()
                                       if k not in ("at",)}, default=str)))
        .returning(alarms.c.id)).scalar_one()
    return {"id": row_id, "alarm_id": alarm["alarm_id"], "device_id": device["id"],
            "effect": effect, "instances": instance_ids, "note": note, "duplicate": False}


def _route(batch: _Batch, device: dict, alarm: dict) -> tuple[str, list[str], str]:
    engine, unit = batch.engine, batch.unit
    key = f"alarm:{device['id']}:{alarm['alarm_id']}"
    project = device["project_code"]
    if device["device_type"] == "crane" and alarm.get("crane_id"):
        result = messages.correlate(engine, unit, "crane_alarm",
                                    {"project_code": project, "crane_id": alarm["crane_id"]},
                                    alarm, f"{key}:crane", buffer=False)
        if result.correlated:
            return "correlated", result.correlated, "已送达使用中的起重机械流程"
    if alarm["level"] == "warning":
        return "recorded", [], "预警: 已通知施工、监理单位, 不立整改"
    running = _running_rectification(batch.conn, device["id"], alarm["type"])
    if running is not None:
        return "merged", [running], "同一设备同类报警的整改正在进行, 已并入"
    result = messages.correlate(engine, unit, "rectification_alarm",
                                {"project_code": project, "business_key": project},
                                alarm, f"{key}:rectification", buffer=False)
    if result.correlated:
        return "correlated", result.correlated, "已送达进行中的整改"
    if result.started:
        return "started", result.started, "已发起隐患整改"
    return "recorded", [], "没有流程接收此报警 (未部署整改流程)"


def _running_rectification(conn, device_id: str, alarm_type: str) -> str | None:
    rows = conn.execute(select(alarms.c.instances).where(
        alarms.c.device_id == device_id, alarms.c.type == alarm_type,
        alarms.c.effect.in_(ALARM_ROUTED)).order_by(alarms.c.id.desc()).limit(1)).first()
    if rows is None or not rows.instances:
        return None
    instance_id = rows.instances[0]
    alive = conn.execute(select(instances.c.id).where(
        instances.c.id == instance_id, instances.c.state == "running",
        instances.c.process_key == "rectification")).first()
    return instance_id if alive else None


def _dead(unit, envelope: Envelope, refused: Refused) -> Outcome:
    raw = envelope.raw
    if isinstance(raw, bytes):
        size, text = len(raw), raw[:4096].decode("utf-8", errors="replace")
    else:
        text = raw or ""
        size, text = len(text.encode()), text[:4096]
    topic = envelope.topic or (f"http:{envelope.kind}" if envelope.source == "http" else "")
    row_id = unit.conn.execute(insert(dead_letters).values(
        received_at=unit.now, source=envelope.source, topic=(topic or "")[:300], payload=text,
        size=size, reason=refused.reason[:500],
        errors=json.loads(json.dumps(refused.errors, default=str)))
        .returning(dead_letters.c.id)).scalar_one()
    return Outcome("dead", envelope.kind, reason=refused.reason, errors=refused.errors,
                   dead_letter_id=row_id)


def check_silent(engine, now: datetime | None = None) -> int:
    """Dust and video devices silent for 3 days raise an `offline` alarm once per silence,
    which starts a rectification for the project's contractor."""
    now = now or utcnow()
    cutoff = now - SILENT_AFTER
    with engine.db.read() as conn:
        silent = [r.id for r in conn.execute(select(devices.c.id).where(
            devices.c.device_type.in_(SILENT_TYPES), devices.c.state != "offline",
            devices.c.state != "removed", devices.c.last_seen_at < cutoff))]
    raised = 0
    for device_id in silent:
        with engine.unit("system:devices") as unit:
            batch = _Batch(engine, unit, {device_id})
            device = batch.devices[device_id]
            last = _aware(device["last_seen_at"])
            if device["state"] == "offline" or last >= cutoff:
                continue                           # another pass or a reading came first
            days = (now - last).days
            raise_alarm(batch, device, {
                "alarm_id": f"offline:{last.isoformat()}", "type": "offline", "level": "alarm",
                "value": float(days), "threshold": float(SILENT_AFTER.days), "at": now,
                "message": f"设备连续 {days} 天无数据 (silent {days} days)"}, "silence")
            device["state"] = "offline"
            batch.touched.add(device_id)
            batch.flush()
            raised += 1
    return raised


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _row(row) -> dict:
    return {"id": row.id, "alarm_id": row.alarm_id, "device_id": row.device_id,
            "effect": row.effect, "instances": row.instances or [], "note": row.note}


def query(conn, project_codes: list[str] | None, device_type: str | None = None,
          since: datetime | None = None):
    """The alarms a caller may see, newest first (project_codes None: all)."""
    stmt = select(alarms).order_by(alarms.c.id.desc())
    if project_codes is not None:
        stmt = stmt.where(alarms.c.project_code.in_(project_codes))
    if device_type:
        stmt = stmt.where(alarms.c.device_type == device_type)
    if since is not None:
        stmt = stmt.where(alarms.c.received_at >= since)
    return stmt

