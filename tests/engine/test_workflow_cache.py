"""The in-memory workflow cache never serves a stale workflow: another process writing the
same instance bumps its lock_version, so the cached copy is not used; a step that fails
leaves nothing of its changes in the cache."""
from __future__ import annotations

import pytest

from engine.services import ServiceRefusal
from tests.bpmn import line, process_xml, service_task
from tests.conftest import make_database_url, run_jobs_at_once

P1 = "FS-CC-2026-001"
CHECKED = process_xml("checked", line(
    '<bpmn:userTask id="reply"/>', service_task("check", "test.check", "checked"),
    start="s", end="e")).encode()


@pytest.fixture
def two_apps(db_kind, tmp_path, request):
    """Two platforms (two processes' worth of engines and caches) on one database."""
    from app import create_app
    from processes.demo import load_reference
    from tests.apiclient import ApiClient

    url = make_database_url(db_kind, tmp_path, request)
    apps = [create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret", "TESTING": True,
                        "VAR_DIR": str(tmp_path / "var")}) for _ in range(2)]
    engines = [a.extensions["jianguan.engine"] for a in apps]
    for engine in engines:
        engine.wake = run_jobs_at_once(engine)
    with engines[0].db.write() as conn:
        load_reference(conn)
    yield [ApiClient(a) for a in apps], engines
    for engine in engines:
        engine.close()


def open_task(api, iid, element):
    return api.open_task(iid, element)["id"]


def test_a_second_platform_writing_the_instance_makes_the_first_reload_it(two_apps):
    (a, b), (engine_a, engine_b) = two_apps
    assert a.deploy("two_lanes.bpmn").status_code in (200, 201)
    iid = a.start("two_lanes", P1, {"project_code": P1}).get_json()["id"]
    assert a.complete(open_task(a, iid, "draft")).status_code == 200
    assert len(engine_a.workflows) == 1             # A holds the instance after its commit
    # B completes the reply (rejected: back to a new draft); A's copy is now one version old
    assert b.complete(open_task(b, iid, "reply"), {"accepted": False}).status_code == 200
    hits = engine_a.workflows.hits
    r = a.complete(open_task(a, iid, "draft"))      # the draft B's step created
    assert r.status_code == 200, r.get_json()
    assert engine_a.workflows.hits == hits          # A did not use its stale copy
    assert [t["element_id"] for t in r.get_json()["tasks"]] == ["reply"]
    r = b.complete(open_task(b, iid, "reply"), {"accepted": True})
    assert r.status_code == 200, r.get_json()
    inst = a.instance(iid)
    assert inst["state"] == "completed" and inst["variables"]["accepted"] is True
    assert inst["completed_elements"] == ["draft", "end", "gw", "reply", "start"]


def test_a_failed_step_leaves_nothing_in_the_cache(api, engine):
    seen = []

    def check(ctx, **_):
        seen.append(ctx.data.get("bad"))
        if ctx.data.get("bad"):
            raise ServiceRefusal("回复不合格 (refused)")
        return "ok"
    engine.services.register("test.check", check)
    assert api.deploy(files={"checked.bpmn": CHECKED}).status_code in (200, 201)
    iid = api.start("checked", P1).get_json()["id"]
    task_id = open_task(api, iid, "reply")
    assert len(engine.workflows) == 1               # cached by the start's commit
    r = api.complete(task_id, {"bad": True})
    assert r.status_code == 422 and "回复不合格" in r.get_json()["message"]
    # the instance is as it was before the refused step, and so is what the next step uses
    inst = api.instance(iid)
    assert [t["element_id"] for t in inst["tasks"]] == ["reply"] and "bad" not in inst["variables"]
    r = api.complete(task_id, {"bad": False})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "completed"
    assert seen == [True, False]
