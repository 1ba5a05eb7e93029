"""Named operations that BPMN service tasks call (`spiffworkflow:serviceTaskOperator`).

`processes/` registers the domain's operations; the engine knows only names and callables.
An operation takes the task's data (read-only copy) and its evaluated parameters and returns a
JSON-serializable result, which lands in the task's result variable.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Protocol
from engine.i18n import _


class ServiceCall(Protocol):
    def __call__(self, ctx: "ServiceContext", **params: Any) -> Any: ...


@dataclass
class ServiceContext:
    instance_id: str
    process_key: str
    business_key: str | None
    element_id: str
    data: dict
    now: Any
    conn: Any = None          # the step's database connection (same transaction)
    start: Any = None         # start(process_key, business_key, variables) -> instance id
    record: Any = None        # record(kind, **details): an audit event of this step


class ServiceFailure(Exception):
    """An operation refused or failed; the message becomes the incident text."""


def start_process(ctx: ServiceContext, process_key: str, business_key: str | None = None,
                  variables: dict | None = None) -> str:
    """Built in: start another process in the same transaction (one instance per period of a
    repeating duty instead of a loop that grows one instance for ever)."""
    if ctx.start is None:
        raise ServiceFailure(_("此处不能启动流程"))
    if variables is not None and not isinstance(variables, dict):
        raise ServiceFailure(_("variables 必须是对象"))
    return ctx.start(str(process_key), business_key, variables or {})


class ServiceRefusal(ServiceFailure):
    """The operation says no to the request itself (a crane filed too late): the step is not
    taken, the caller gets a 422 with the reason, and the instance stays as it was."""


class ServiceRegistry:
    def __init__(self) -> None:
        self._ops: dict[str, ServiceCall] = {"process.start": start_process}

    def register(self, name: str, fn: ServiceCall) -> None:
        self._ops[name] = fn

    def operation(self, name: str) -> Callable[[ServiceCall], ServiceCall]:
        def deco(fn: ServiceCall) -> ServiceCall:
            self.register(name, fn)
            return fn
        return deco

    def names(self) -> list[str]:
        return sorted(self._ops)

    def has(self, name: str) -> bool:
        return name in self._ops

    def call(self, name: str, ctx: ServiceContext, params: dict) -> str:
        fn = self._ops.get(name)
        if fn is None:
            raise ServiceFailure(_("未注册的服务操作 '{name}'").format(name=name))
        plain = {k: (v.get("value") if isinstance(v, dict) and "value" in v else v)
                 for k, v in params.items()}
        try:
            result = fn(ctx, **plain)
        except ServiceFailure:
            raise
        except TypeError as exc:
            raise ServiceFailure(f"服务操作 '{name}' 参数错误 ({exc})") from exc
        except Exception as exc:  # an operation's own bug must not take the server down
            raise ServiceFailure(f"服务操作 '{name}' 失败 ({type(exc).__name__}: {exc})") from exc
        return json.dumps(result, ensure_ascii=False, default=str)
