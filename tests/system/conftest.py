"""One topology per test module: web (gunicorn), two Celery workers, beat and the MQTT listener
as separate OS processes on the machine's PostgreSQL, Redis and Mosquitto (`make test` starts
them; nothing here skips when one is missing: the setup fails and says which)."""
from __future__ import annotations

import pytest

from tests.system.client import Client
from tests.system.topology import Topology

# short periods so that a test waits seconds, not minutes: beat every second, and a message a
# killed worker held goes back to the queue after 10 s
FAST = {"JIANGUAN_TIMER_INTERVAL": "1", "JIANGUAN_CELERY_VISIBILITY_TIMEOUT": "10",
        "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "8", "CELERY_CONCURRENCY": "2"}
KINDS = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    topo = Topology(tmp_path_factory.mktemp("topology"), label="sys", extra_env=FAST)
    try:
        topo.create()
        topo.flask("load-demo", timeout=600)
        topo.start("web")
        topo.start("worker1", "worker")
        topo.start("worker2", "worker")
        topo.start("beat")
        kinds = KINDS
        if "listener" in topo.commands:
            topo.start("listener")
            kinds += ("listener",)
        topo.wait_healthy(*kinds)
        yield topo
    finally:
        topo.destroy()


@pytest.fixture
def client(topology):
    c = Client(topology.base_url)
    yield c
    c.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing system test prints the tail of every process's log."""
    outcome = yield
    report = outcome.get_result()
    topo = getattr(item, "funcargs", {}).get("topology")
    if report.failed and isinstance(topo, Topology):
        report.sections.append(("process logs", topo.log_dump()))
