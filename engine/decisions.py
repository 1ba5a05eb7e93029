"""Deployed DMN decisions evaluated outside a process: the latest version of a decision,
parsed once per version by SpiffWorkflow's DMN parser and run by its DMN engine, with cells
evaluated in the same sandbox as every other piece of designer code.

A designer changes what such a decision says by deploying a new version of its table
(`POST /api/v1/definitions`); the next evaluation reads it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from types import SimpleNamespace

from cachetools import LRUCache
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from sqlalchemy import select

from .errors import EngineError
from .schema import definitions
from .xmlsafe import parse
from engine.i18n import _


class DecisionError(EngineError):
    """The decision is missing, does not parse, or a cell failed; the message says which."""
    status = 422


@dataclass(frozen=True)
class Decision:
    key: str
    version: int
    name: str
    file_name: str
    table: object          # SpiffWorkflow's DMNEngine for the decision's table


# Parsed tables by content hash: definition rows never change, and the hash (unlike the row id)
# means the same table in every database an app in this process talks to.
_parsed: LRUCache = LRUCache(maxsize=64)
_lock = threading.Lock()


def latest(conn, key: str) -> Decision:
    row = conn.execute(select(definitions.c.version, definitions.c.name, definitions.c.file_name,
                              definitions.c.sha256, definitions.c.source)
                       .where(definitions.c.kind == "dmn", definitions.c.key == key)
                       .order_by(definitions.c.version.desc()).limit(1)).first()
    if row is None:
        raise DecisionError(_("决策 {key} 未部署").format(key=key))
    with _lock:
        table = _parsed.get(row.sha256)
    if table is None:
        table = _parse(key, row.source, row.file_name)
        with _lock:
            _parsed[row.sha256] = table
    return Decision(key, row.version, row.name, row.file_name, table)


def _parse(key: str, source: str, file_name: str):
    try:
        parser = BpmnDmnParser()
        parser.add_dmn_xml(parse(source.encode(), file_name), filename=file_name)
        return parser.get_engine(key, None)
    except Exception as exc:           # deployed tables parsed once already: a store edit
        raise DecisionError(_("决策 {key} 无法解析: {exc}").format(key=key, exc=exc)) from exc


def evaluate(decision: Decision, scripts, inputs: dict) -> dict:
    """The outputs of the first matching rule (of every matching rule for COLLECT), {} when
    none matches. `scripts` is the engine's script engine (Engine.new_scripts())."""
    spec = SimpleNamespace(bpmn_id=decision.key, bpmn_name=decision.name, name=decision.key,
                           file=decision.file_name)
    workflow = SimpleNamespace(script_engine=scripts, spec=spec, parent_workflow=None)
    workflow.top_workflow = workflow
    task = SimpleNamespace(data=dict(inputs), task_spec=spec, workflow=workflow)
    try:
        return dict(decision.table.result(task))
    except Exception as exc:
        notes = "; ".join(getattr(exc, "__notes__", []) or [])
        raise DecisionError(_("决策 {key} v{version} 执行失败: {exc}{value}").format(
                                key=decision.key, version=decision.version, exc=exc,
                                value=' (' + notes + ')' if notes else '')) from exc
