"""Service operations for the worker tests, loaded into worker subprocesses through
JIANGUAN_EXTRA_OPERATIONS=tests.workers.ops and registered in the test's own engine too.
They coordinate with the test through files in JIANGUAN_TEST_MARKERS (no sleeping)."""
from __future__ import annotations

import os

from engine.services import ServiceFailure
from tests.waiting import wait_until


def _dir() -> str:
    return os.environ["JIANGUAN_TEST_MARKERS"]


def slow(ctx, label: str = "slow") -> dict:
    """Announce entry (with this process id), then wait until the test releases it."""
    with open(os.path.join(_dir(), f"enter-{os.getpid()}"), "w") as fh:
        fh.write(ctx.instance_id)
    release = os.path.join(_dir(), "release")
    wait_until(lambda: os.path.exists(release), 120, "the test to release the slow task")
    return {"label": label, "pid": os.getpid()}


def flaky(ctx) -> dict:
    """Fails while a file `down` exists; `fail-N` files make it fail N more times first."""
    d = _dir()
    with open(os.path.join(d, f"call-{os.getpid()}-{len(os.listdir(d))}"), "w"):
        pass
    if os.path.exists(os.path.join(d, "down")):
        raise ServiceFailure("外部服务不可用 (service down)")
    budget = os.path.join(d, "fail-budget")
    if os.path.exists(budget):
        left = int(open(budget).read() or 0)
        if left > 0:
            with open(budget, "w") as fh:
                fh.write(str(left - 1))
            raise ServiceFailure(f"外部服务暂时失败 (transient, {left} left)")
    return {"ok": True}


def register(registry) -> None:
    registry.register("test.slow", slow)
    registry.register("test.flaky", flaky)


def targets(ctx) -> list:
    """Fan-out for a timer start event: one instance per project."""
    return [{"business_key": code, "variables": {"project_code": code}}
            for code in ("P-A", "P-B")]


def register_targets(registry) -> None:
    registry.register("test.targets", targets)
