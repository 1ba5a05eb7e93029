"""The script engine every workflow runs with: the sandbox for designer code, the service
registry for service tasks."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from .clock import utcnow
from .services import ServiceContext, ServiceFailure, ServiceRegistry
from engine.i18n import _


def _now() -> str:
    return utcnow().isoformat()


def _add_days(value: str, days: float) -> str:
    """ISO date or datetime plus days, same form back (deadlines in forms are dates)."""
    if len(value) == 10:
        from datetime import date
        return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
    return (datetime.fromisoformat(value) + timedelta(days=days)).isoformat()


def _days_until(value: str) -> float:
    target = datetime.fromisoformat(value if len(value) > 10 else value + "T00:00:00+08:00")
    if target.tzinfo is None:
        target = target.replace(tzinfo=timezone.utc)
    return (target - utcnow()).total_seconds() / 86400


HOST_FUNCTIONS = {"now": _now, "add_days": _add_days, "days_until": _days_until}


class EngineScripts(PythonScriptEngine):
    """Routes service tasks to the registry; the step's context rides along per thread."""

    def __init__(self, environment, services: ServiceRegistry):
        super().__init__(environment=environment)
        self.services = services
        self.context_factory = None   # set per step: task -> ServiceContext

    def call_service(self, task, **kwargs):
        name = kwargs.get("operation_name")
        params = kwargs.get("operation_params") or {}
        if self.context_factory is None:
            raise WorkflowTaskException(_("服务任务无法在此运行"), task=task)
        ctx: ServiceContext = self.context_factory(task)
        try:
            return self.services.call(name, ctx, params)
        except ServiceFailure as exc:
            # spiff 3.2 would report "name 'script' is not defined": raise its own type instead.
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc


def make_environment(time_limit: float = 2.0, memory_limit_mb: int = 256):
    from .sandbox import SandboxEnvironment

    return SandboxEnvironment(time_limit=time_limit, memory_limit_mb=memory_limit_mb,
                              functions=dict(HOST_FUNCTIONS))
