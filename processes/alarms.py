"""Device messages in: validate, record, and turn alarms into BPMN messages.

`ingest` takes a batch (the MQTT listener hands over what arrived in the last few
milliseconds; HTTP hands over one) and applies it in one transaction, each message in its own
savepoint: a message that fails is rolled back alone and becomes a dead letter, the others
commit. The listener acknowledges the batch to the broker only after that commit, so a crash
loses nothing, and the unique (device, alarm_id) key makes a redelivery have no second effect.

Routing of one alarm is data: the latest deployed version of the decision table
`alarm_routing` (bpmn/alarm_routing.dmn) maps the alarm's facts (device type, level, alarm
type, project status, whether the crane is in service, whether the device already has a
rectification open for this type) to an action and a deadline; this module only carries out the
action named (ACTIONS). A designer changes routing by deploying a new version of the table.
The table is evaluated once per distinct set of facts in a batch and parsed once per version.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine import decisions, messages
from engine import instances as processes
from engine.clock import utcnow

from . import thresholds as limits_mod
from .device_batch import Batch
from .device_payloads import TOPIC, Refused, check_identity, decode, load, parse_topic
from .schema import devices
from engine.i18n import _

log = logging.getLogger(__name__)

SILENT_AFTER = timedelta(days=3)        # the notice: 3 consecutive days without data
SILENT_TYPES = ("dust", "video")
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


def ingest(engine, envelopes: list[Envelope], actor: str = "system:devices") -> list[Outcome]:
    """Apply a batch in one transaction; returns one outcome per envelope, in order."""
    parsed = [_parse(e) for e in envelopes]
    with engine.unit(actor) as unit:
        batch = Batch(engine, unit, [p[1:] for p in parsed if isinstance(p, tuple)])
        outcomes = [_dead(batch, e, p) if isinstance(p, Refused) else _apply_safely(batch, *p)
                    for e, p in zip(envelopes, parsed)]
        batch.flush()
    return outcomes


def _parse(envelope: Envelope):
    """(topic parts, validated payload) or the refusal; no database needed."""
    try:
        if envelope.source == "http":
            body = decode(envelope.raw or b"")
            missing = {k: [_("必填")] for k in IDENTITY if not body.get(k)}
            if missing:
                raise Refused(_("缺少设备标识"),
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
        data = load(parts["kind"], body)
        data["at"] = data["at"].astimezone(timezone.utc)     # one instant, one reading
        return envelope, parts, data, body
    except Refused as refused:
        return refused


def _apply_safely(batch: Batch, envelope: Envelope, parts: dict, data: dict,
                  body: dict) -> Outcome:
    device = batch.devices.get(parts["device_id"])
    saved = None if device is None else json.loads(json.dumps(device, default=str))
    try:
        return _apply(batch, parts, data, body, envelope.source)
    except Refused as refused:
        failure = refused
    except Exception as exc:      # a defect must cost one message, never the batch
        log.exception("device message failed")
        failure = Refused(_("处理失败: {name}: {value}").format(
                              name=type(exc).__name__, value=str(exc)[:300]))
    if saved is not None:         # undo what this message changed of the cached device
        batch.devices[parts["device_id"]].update(
            latest=saved["latest"], state=saved["state"], alarm_state=saved["alarm_state"])
    return _dead(batch, envelope, failure)


def _apply(batch: Batch, parts: dict, data: dict, body: dict, source: str) -> Outcome:
    device = batch.devices.get(parts["device_id"])
    if device is None:
        raise Refused(_("设备 {device_id} 未登记").format(device_id=parts['device_id']),
                      {"device_id": ["未登记的设备"]})
    if device["project_code"] != parts["project_code"] or \
            device["device_type"] != parts["device_type"]:
        raise Refused(_("主题中的项目或设备类型与登记不符"),
                      {"topic": [f"登记为 {device['project_code']}/{device['device_type']}"]})
    kind = parts["kind"]
    outcome = Outcome("accepted", kind, device["id"])
    if kind == "telemetry":
        if not batch.add_reading(device["id"], data["at"], data["readings"]):
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


def _seen(batch: Batch, device: dict, at: datetime | None, values: dict | None) -> None:
    now = batch.unit.now
    # a device clock ahead of ours must not keep it "online" into the future
    seen = min(at, now) if at is not None else now
    last = device["last_seen_at"]
    if last is None or last < seen:
        device["last_seen_at"] = seen
    if values:
        device["latest"] = {**(device["latest"] or {}), **values,
                            "at": (at or now).isoformat()}
    device["state"] = "online"
    batch.touched.add(device["id"])


def _crossings(batch: Batch, device: dict, data: dict) -> list[dict]:
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


def raise_alarm(batch: Batch, device: dict, alarm: dict, source: str) -> dict:
    """Record one alarm and route it, once per (device, alarm_id)."""
    earlier = batch.alarms.get((device["id"], alarm["alarm_id"]))
    if earlier is not None:
        return {**_public(earlier), "duplicate": True}
    crane_id = alarm.get("crane_id") or device.get("crane_id")
    payload = {"alarm_id": alarm["alarm_id"], "device_id": device["id"],
               "device_type": device["device_type"], "project_code": device["project_code"],
               "type": alarm["type"], "level": alarm["level"], "value": alarm.get("value"),
               "threshold": alarm.get("threshold"), "at": alarm["at"].isoformat(),
               "crane_id": crane_id, "message": alarm.get("message")}
    route: dict = {}
    try:
        effect, instance_ids, note = _route(batch, device, payload, route)
    except RouteFailed as failed:
        effect, instance_ids, note = "failed", [], str(failed)[:300]
    row = {"device_id": device["id"], "alarm_id": alarm["alarm_id"],
           "project_code": device["project_code"], "device_type": device["device_type"],
           "type": alarm["type"], "level": alarm["level"], "value": alarm.get("value"),
           "threshold": alarm.get("threshold"), "at": alarm["at"], "received_at": batch.unit.now,
           "source": source, "effect": effect, "instances": instance_ids, "note": note,
           "payload": json.loads(json.dumps({**{k: v for k, v in alarm.items() if k != "at"},
                                             "route": route}, default=str))}
    batch.add_alarm(row)
    return {**_public(row), "duplicate": False}


class RouteFailed(Exception):
    """The alarm could not be carried out (no decision, an unknown action, a process that
    failed): it is kept as `failed` with the reason."""


def _route(batch: Batch, device: dict, alarm: dict, route: dict) -> tuple[str, list[str], str]:
    facts = {"device_type": device["device_type"], "level": alarm["level"],
             "alarm_type": alarm["type"],
             "project_status": batch.project_status(device["project_code"]),
             "crane_in_service": batch.crane_in_service(alarm.get("crane_id")),
             "open_rectification": batch.running_rectification(
                 device["id"], alarm["type"]) is not None}
    try:
        version, decided = batch.decide(ROUTING, facts)
    except decisions.DecisionError as exc:
        raise RouteFailed(_("报警分级决策不可用: {message}").format(message=exc.message))
    action = decided.get("action")
    route.update(action=action, deadline_hours=decided.get("deadline_hours"), version=version)
    carry_out = ACTIONS.get(action)
    if carry_out is None:
        raise RouteFailed(_("决策 {ROUTING} v{version} 给出未知的处置方式 {action!r}: {value}").format(
                              ROUTING=ROUTING, version=version, action=action,
                              value=', '.join(sorted(ACTIONS))))
    alarm["route"] = dict(route)          # the process sees the action and its deadline
    return carry_out(batch, device, alarm, decided)


def _in_savepoint(batch: Batch, work):
    """A process step in a savepoint: a process that fails rolls back alone."""
    unit = batch.unit
    marks = (len(unit.events), len(unit.after_commit))
    savepoint = unit.conn.begin_nested()
    try:
        result = work(unit)
        savepoint.commit()
        return result
    except Exception as exc:
        savepoint.rollback()
        del unit.events[marks[0]:]
        del unit.after_commit[marks[1]:]
        raise RouteFailed(_("流程未能处理此报警: {name}: {value}").format(
                              name=type(exc).__name__, value=str(exc)[:200])) from exc


def _message(batch: Batch, name: str, correlation: dict, alarm: dict, suffix: str):
    message_id = f"alarm:{alarm['device_id']}:{alarm['alarm_id']}:{suffix}"
    return _in_savepoint(batch, lambda unit: messages.correlate(
        batch.engine, unit, name, correlation, alarm, message_id, buffer=False))


def _record(batch, device, alarm, decided):
    return "recorded", [], decided.get("note") or "仅记录"


def _crane_filing(batch, device, alarm, decided):
    result = _message(batch, "crane_alarm", {"project_code": device["project_code"],
                                             "crane_id": alarm.get("crane_id")}, alarm, "crane")
    batch.crane_states.pop(alarm.get("crane_id"), None)   # the filing may have suspended it
    if result.correlated:
        return "correlated", result.correlated, decided.get("note") or "已送达起重机械流程"
    return "recorded", [], _("没有使用中的起重机械流程接收此报警")


def _merge(batch, device, alarm, decided):
    running = batch.running_rectification(device["id"], alarm["type"])
    if running is None:
        raise RouteFailed(_("没有可并入的整改"))
    return "merged", [running], decided.get("note") or "已并入进行中的整改"


def _rectification(batch, device, alarm, decided):
    project = device["project_code"]
    result = _message(batch, "rectification_alarm",
                      {"project_code": project, "business_key": project}, alarm, "rectification")
    if result.correlated:
        return "correlated", result.correlated, "已送达进行中的整改"
    if result.started:
        return "started", result.started, "已发起隐患整改"
    return "recorded", [], "没有流程接收此报警 (未部署整改流程)"


def _warning_talk(batch, device, alarm, decided):
    project = device["project_code"]
    handle = _in_savepoint(batch, lambda unit: processes.start(
        batch.engine, unit, "warning_talk", project,
        {"project_code": project, "alarm": alarm,
         "talk_reason": f"设备报警: {alarm['type']} = {alarm.get('value')}"}))
    return "started", [handle.id], decided.get("note") or "已发起警示约谈"


ROUTING = "alarm_routing"
ACTIONS = {"record": _record, "crane_filing": _crane_filing, "merge": _merge,
           "rectification": _rectification, "warning_talk": _warning_talk}


def _named_project(batch: Batch, envelope: Envelope, text: str) -> str | None:
    """The existing project a refused payload names (its topic, else its body), so the dead
    letter is listed to that project's district only."""
    code = None
    if envelope.topic:
        match = TOPIC.match(envelope.topic)
        code = match.group("project_code") if match else None
    elif text.lstrip().startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        code = body.get("project_code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not code or len(code) > 50:
        return None
    return code if batch.project_status(code) is not None else None


def _dead(batch: Batch, envelope: Envelope, refused: Refused) -> Outcome:
    raw = envelope.raw
    if isinstance(raw, bytes):
        size, text = len(raw), raw[:4096].decode("utf-8", errors="replace")
    else:
        text = raw or ""
        size, text = len(text.encode()), text[:4096]
    topic = envelope.topic or (f"http:{envelope.kind}" if envelope.source == "http" else "")
    batch.add_dead({"received_at": batch.unit.now, "source": envelope.source,
                    "topic": topic[:300], "payload": text, "size": size,
                    "project_code": _named_project(batch, envelope, text),
                    "reason": refused.reason[:500],
                    "errors": json.loads(json.dumps(refused.errors, default=str))})
    return Outcome("dead", envelope.kind, reason=refused.reason, errors=refused.errors)


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
            batch = Batch(engine, unit, [])
            batch.devices = {r.id: dict(r._mapping) for r in unit.conn.execute(
                select(devices).where(devices.c.id == device_id))}
            device = batch.devices[device_id]
            last = device["last_seen_at"]
            if device["state"] == "offline" or last >= cutoff:
                continue                           # another pass or a reading came first
            days = (now - last).days
            raise_alarm(batch, device, {
                "alarm_id": f"offline:{last.isoformat()}", "type": "offline", "level": "alarm",
                "value": float(days), "threshold": float(SILENT_AFTER.days), "at": now,
                "message": _("设备连续 {days} 天无数据").format(days=days)}, "silence")
            device["state"] = "offline"
            batch.touched.add(device_id)
            batch.flush()
            raised += 1
    return raised


def _public(row: dict) -> dict:
    return {k: row.get(k) for k in ("alarm_id", "device_id", "effect", "instances", "note")}
