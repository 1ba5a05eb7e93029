"""Message correlation: to waiting instances through the subscription table, else to a
process with a matching message start event, else into the buffer until someone waits."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.task import TaskState

from . import instances as instance_cmds
from . import runner
from .errors import Conflict, Invalid
from .projection import message_keys
from .schema import messages, start_messages, subscriptions
from .store import Unit
from engine.i18n import _

MAX_PAYLOAD_BYTES = 64_000


@dataclass
class MessageResult:
    correlated: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    buffered: bool = False
    duplicate: bool = False

    def as_dict(self) -> dict:
        return {"correlated": self.correlated, "started": self.started,
                "buffered": self.buffered, "duplicate": self.duplicate}


def check(name, correlation, payload) -> None:
    errors = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = [_("消息名称必填, 最长 200 字符")]
    if not isinstance(correlation, dict):
        errors["correlation"] = [_("必须是对象")]
    elif any(not isinstance(v, (str, int, float, type(None))) or isinstance(v, bool)
             for v in correlation.values()):
        errors["correlation"] = [_("关联值必须是字符串或数字")]
    if payload is not None and len(json.dumps(payload, ensure_ascii=False).encode()) \
            > MAX_PAYLOAD_BYTES:
        errors["payload"] = [_("超过 64 KB")]
    if errors:
        raise Invalid(_("消息无效"), errors)


def previous(conn, message_id: str | None) -> MessageResult | None:
    if not message_id:
        return None
    row = conn.execute(select(messages.c.result).where(messages.c.message_id == message_id)).first()
    if row is None:
        return None
    result = MessageResult(**{k: v for k, v in (row.result or {}).items()
                              if k in ("correlated", "started", "buffered")})
    result.duplicate = True
    return result


def correlate(engine, unit: Unit, name: str, correlation: dict, payload=None,
              message_id: str | None = None, buffer: bool = True) -> MessageResult:
    """Apply one message inside the caller's transaction. The caller retries a unique-key
    race on message_id by calling `previous`. With `buffer` false a message nobody takes is
    kept as `unmatched` instead of waiting for a subscriber (a reading is stale by then)."""
    check(name, correlation, payload)
    earlier = previous(unit.conn, message_id)
    if earlier is not None:
        return earlier
    row_id = unit.conn.execute(insert(messages).values(
        message_id=message_id, name=name, correlation=correlation, payload=payload,
        status="pending", result={}, sender=unit.actor, received_at=unit.now)
        .returning(messages.c.id)).scalar_one()
    result = MessageResult()
    for instance_id, task_ids in _matches(unit.conn, name, correlation).items():
        if _deliver(engine, unit, instance_id, task_ids, name, correlation, payload, message_id):
            result.correlated.append(instance_id)
    if not result.correlated:
        for key in _start_keys(unit.conn, name):
            handle = _start(engine, unit, key, name, correlation, payload, message_id)
            if handle is not None:
                result.started.append(handle.id)
    status = "correlated" if result.correlated else "started" if result.started else \
        "buffered" if buffer else "unmatched"
    result.buffered = status == "buffered"
    expires = unit.now + timedelta(seconds=engine.settings.message_ttl_seconds) \
        if result.buffered else None
    unit.conn.execute(update(messages).where(messages.c.id == row_id).values(
        status=status, result=result.as_dict(), expires_at=expires))
    if result.buffered:
        unit.record("message.buffered", None, None, name=name, message_id=message_id,
                    correlation=correlation, expires_at=expires.isoformat())
    return result


def _matches(conn, name: str, correlation: dict) -> dict[str, list[tuple[str, str]]]:
    keys = message_keys(correlation)
    rows = conn.execute(select(subscriptions.c.instance_id, subscriptions.c.task_id,
                               subscriptions.c.element_id)
                        .where(subscriptions.c.message_name == name,
                               subscriptions.c.match_key.in_(keys))
                        .order_by(subscriptions.c.id)).all()
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r.instance_id, []).append((r.task_id, r.element_id))
    return found


def _deliver(engine, unit: Unit, instance_id: str, waiting: list[tuple[str, str]], name: str,
             correlation: dict, payload, message_id) -> bool:
    handle = instance_cmds.load_handle(engine, unit, instance_id)
    delivered = False
    for task_id, element in waiting:
        if runner.deliver(handle, task_id, name, payload, correlation):
            delivered = True
            unit.record("message.correlated", handle.id, task_id, name=name, element_id=element,
                        message_id=message_id, correlation=correlation, payload=payload)
    if delivered:
        runner.advance(engine, unit, handle)
        runner.persist(engine, unit, handle)
    return delivered


def _start_keys(conn, name: str) -> list[str]:
    return [r.process_key for r in conn.execute(
        select(start_messages.c.process_key).where(start_messages.c.message_name == name)
        .order_by(start_messages.c.process_key))]


def _only_start_by(wf, name: str) -> None:
    """A process may have a none start and message starts side by side; started by a message,
    the others must not run first (spiff would take the none start and cancel the rest)."""
    for task in wf.get_tasks():
        if isinstance(task.task_spec, StartEvent) and not task.has_state(TaskState.FINISHED_MASK):
            ed = task.task_spec.event_definition
            defs = ed.event_definitions if isinstance(ed, MultipleEventDefinition) else [ed]
            if not any(isinstance(d, MessageEventDefinition) and d.name == name for d in defs):
                task.cancel()


def _start(engine, unit: Unit, process_key: str, name: str, correlation: dict, payload,
           message_id):
    definition = engine.definition(unit.conn, process_key)
    variables = {k: v for k, v in correlation.items() if isinstance(k, str) and k.isidentifier()}
    business_key = correlation.get("business_key")
    handle = instance_cmds.new_handle(engine, unit, definition,
                                      str(business_key) if business_key else None, variables)
    _only_start_by(handle.wf, name)
    if not runner.steps(engine, unit, handle):
        runner.persist(engine, unit, handle)
        return handle
    from .projection import read_waits

    start_subs = [s for s in read_waits(handle.wf).subscriptions if s.message_name == name]
    if not start_subs:
        return None
    unit.record("instance.started", handle.id, process_key=process_key,
                version=definition.version, business_key=handle.business_key,
                message=name, message_id=message_id, correlation=correlation)
    runner.deliver(handle, start_subs[0].task_id, name, payload, correlation)
    runner.advance(engine, unit, handle)
    runner.persist(engine, unit, handle)
    return handle


def send(engine, actor: str, name: str, correlation: dict | None, payload=None,
         message_id: str | None = None) -> MessageResult:
    """One message in its own transaction; the same message_id twice has one effect, even
    when both arrive at once."""
    correlation = {} if correlation is None else correlation
    for _attempt in range(3):
        try:
            with engine.unit(actor) as unit:
                return correlate(engine, unit, name, correlation, payload, message_id)
        except IntegrityError:
            with engine.db.read() as conn:
                earlier = previous(conn, message_id)
            if earlier is not None:
                return earlier
        except Conflict:
            continue
    raise Conflict(_("消息处理冲突, 请重试"))
