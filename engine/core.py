"""The Engine: wiring of database, specs, scripts and services, and the transaction helper
every command runs in. Commands live in instances.py, tasks.py, messages.py and timers.py."""
from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, TypeVar

from cachetools import LRUCache
from sqlalchemy import bindparam, func, select
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from . import spiff
from .clock import install_spiff_clock, utcnow
from .db import Database
from .driver import Prebuilt
from .errors import NotFound, StaleWrite
from .schema import definitions
from .scripting import EngineScripts, make_environment
from .serializer import SpecCache
from .services import ServiceRegistry
from .retry import redo_on
from .store import Unit, load_specs
from .workflow_cache import WorkflowCache
from engine.i18n import _


def _default_scope(business_key: str | None, variables: dict) -> str | None:
    return business_key


T = TypeVar("T")


@dataclass
class EngineSettings:
    script_time_limit: float = 2.0
    script_memory_mb: int = 256
    message_ttl_seconds: int = 3600      # how long an unmatched message waits for a subscriber
    max_variables_bytes: int = 256_000
    job_attempts: int = 4                # an async task's tries before it becomes an incident
    job_backoff_seconds: float = 2.0     # first wait between tries, doubling
    # one command moving one instance stops after this many engine steps or seconds and
    # leaves an incident (a multi-instance of 20,000, a call activity calling itself)
    max_steps: int = 10_000
    max_step_seconds: float = 10.0
    timer_threads: int = 4               # threads of one timer pass on PostgreSQL
    max_multi_instance: int = 1000       # deploy refuses a literal multi-instance count above it
    min_timer_seconds: float = 60.0      # shorter literal timers are refused at deploy,
    # a shorter cycle computed at run time is an incident


def _definition_query(of_version: bool) -> Prebuilt:
    query = select(definitions.c.id).where(definitions.c.kind == bindparam("kind"),
                                           definitions.c.key == bindparam("key"))
    if of_version:
        query = query.where(definitions.c.version == bindparam("version"))
    return Prebuilt(query.order_by(definitions.c.version.desc()).limit(1))


# Built once: a start looks up its definition's id (the row itself, with its source and
# compiled spec, is cached by id: definition rows never change).
_DEFINITION_ID = {of_version: _definition_query(of_version) for of_version in (False, True)}


@dataclass
class Engine:
    db: Database
    settings: EngineSettings = field(default_factory=EngineSettings)
    services: ServiceRegistry = field(default_factory=ServiceRegistry)
    role_of: Callable[[str | None], str | None] = lambda lane: lane
    scope_of: Callable[[str | None, dict], str | None] = _default_scope
    specs: SpecCache = field(default_factory=SpecCache)
    workflows: WorkflowCache = field(default_factory=WorkflowCache)
    # called after commit with the id of an instance that has a new async job: the embedded
    # thread wakes up, or a Celery task is sent; without it the next timer pass runs the job
    wake: Callable[[str], None] | None = None
    # the audit chain's HMAC key, kept outside the database (None: engine.audit.DEFAULT_KEY)
    audit_key: bytes | None = None

    def __post_init__(self) -> None:
        spiff.check_version()
        install_spiff_clock()
        logging.getLogger("spiff").setLevel(logging.WARNING)
        self._environment = None
        self._definitions: LRUCache = LRUCache(maxsize=10_000)   # versions never change
        self._definitions_lock = threading.Lock()

    # -- wiring -----------------------------------------------------------------------------
    @property
    def environment(self):
        if self._environment is None:
            self._environment = make_environment(self.settings.script_time_limit,
                                                 self.settings.script_memory_mb)
        return self._environment

    def new_scripts(self) -> EngineScripts:
        return EngineScripts(self.environment, self.services)

    @contextmanager
    def unit(self, actor: str) -> Iterator[Unit]:
        """A write transaction whose audit events are chained just before commit."""
        with self.db.write() as conn:
            unit = Unit(conn=conn, actor=actor, now=utcnow(), audit_key=self.audit_key)
            yield unit
            unit.finish()
        for hook in unit.after_commit:
            hook()

    def retrying(self, actor: str, work: Callable[[Unit], T], attempts: int = 3) -> T:
        """`work` in a unit, again on a fresh read when another writer changed the instance
        first (a device's alarm reaching the instance while a person completes its task)."""
        for attempt in redo_on(StaleWrite, attempts):
            with attempt:
                with self.unit(actor) as unit:
                    return work(unit)
        raise AssertionError("unreachable")

    def new_workflow(self, conn, definition) -> BpmnWorkflow:
        spec, subprocess_specs = load_specs(conn, self.specs, definition.id)
        return BpmnWorkflow(spec, subprocess_specs)

    def definition(self, conn, key: str, version: int | None = None, kind: str = "bpmn"):
        found = _DEFINITION_ID[version is not None].first(
            conn, {"kind": kind, "key": key, "version": version})
        row = self.definition_by_id(conn, found.id) if found is not None else None
        if row is None:
            what = f"{key} v{version}" if version else key
            raise NotFound(_("流程定义不存在: {what}").format(what=what))
        return row

    def definition_by_id(self, conn, definition_id: int):
        """Definition rows never change once written: cached by id."""
        with self._definitions_lock:
            row = self._definitions.get(definition_id)
        if row is None:
            row = conn.execute(select(definitions).where(definitions.c.id == definition_id)).first()
            if row is not None:
                with self._definitions_lock:
                    self._definitions[definition_id] = row
        return row

    def latest_form(self, conn, form_key: str | None) -> dict | None:
        if not form_key:
            return None
        row = conn.execute(select(definitions.c.source).where(
            definitions.c.kind == "form", definitions.c.key == form_key)
            .order_by(definitions.c.version.desc()).limit(1)).first()
        if row is None:
            return None
        return json.loads(row.source)

    def form_by_id(self, conn, definition_id: int) -> dict | None:
        """A form version's parsed definition (versions never change: cached)."""
        key = ("form", definition_id)
        with self._definitions_lock:
            form = self._definitions.get(key)
        if form is None:
            row = conn.execute(select(definitions.c.source).where(
                definitions.c.id == definition_id)).first()
            if row is None:
                return None
            form = json.loads(row.source)
            with self._definitions_lock:
                self._definitions[key] = form
        return form

    def definition_count(self, conn) -> int:
        return conn.execute(select(func.count()).select_from(definitions)).scalar_one()

    def close(self) -> None:
        env = self._environment
        if env is not None and hasattr(env, "close"):
            env.close()
        self.db.dispose()
