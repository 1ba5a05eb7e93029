"""Generic BPMN beyond our own processes, run through the API on both databases."""
from __future__ import annotations

from engine.services import ServiceFailure

P1 = "FS-CC-2026-001"


def run(api, file_name, key, **variables):
    assert api.deploy(file_name).status_code in (200, 201)
    r = api.start(key, P1, {"project_code": P1, **variables})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def open_elements(api, iid):
    return sorted(t["element_id"] for t in api.instance(iid)["tasks"])


def finish(api, iid, element, data=None):
    r = api.complete(api.open_task(iid, element)["id"], data)
    assert r.status_code == 200, r.get_json()


def test_exclusive_gateway_default_path(api):
    iid = run(api, "gateways.bpmn", "gateways")
    finish(api, iid, "choose", {"score": 2})
    assert open_elements(api, iid) == ["low"]


def test_parallel_then_inclusive_gateway(api):
    iid = run(api, "gateways.bpmn", "gateways")
    finish(api, iid, "choose", {"score": 5, "picks": ["y"]})
    assert open_elements(api, iid) == ["a", "b"]
    finish(api, iid, "a")
    assert open_elements(api, iid) == ["b"]          # the join waits for both branches
    finish(api, iid, "b")
    inst = api.instance(iid)
    assert inst["state"] == "completed"
    assert inst["variables"].get("did_y") is True and "did_x" not in inst["variables"]


def test_embedded_subprocess_call_activity_and_multi_instance(api):
    assert api.deploy("child.bpmn").status_code == 201
    iid = run(api, "subprocesses.bpmn", "parent", experts=["王工", "刘工", "周工"])
    finish(api, iid, "inner")
    assert open_elements(api, iid) == ["child_task"]
    finish(api, iid, "child_task")
    assert api.instance(iid)["variables"]["child_version"] == 1
    tasks = api.instance(iid)["tasks"]
    assert [t["element_id"] for t in tasks] == ["each"] * 3
    for n, t in enumerate(tasks):
        assert api.complete(t["id"], {"answer": f"同意{n}"}).status_code == 200
    inst = api.instance(iid)
    assert inst["state"] == "completed"
    assert sorted(inst["variables"]["answers"]) == ["同意0", "同意1", "同意2"]


def test_called_process_update_gives_the_caller_a_new_version(api):
    api.deploy("child.bpmn")
    api.deploy("subprocesses.bpmn")
    with open("tests/engine/processes/child.bpmn", "rb") as fh:
        v2 = fh.read().replace(b"child_version = 1", b"child_version = 2")
    deployed = api.deploy(files={"child.bpmn": v2}).get_json()["deployed"]
    assert {(d["key"], d["version"]) for d in deployed} == {("child", 2), ("parent", 2)}


def test_error_end_event_caught_by_boundary(api):
    iid = run(api, "errors_escalations.bpmn", "errors_escalations")
    finish(api, iid, "decide", {"outcome": "reject"})
    assert open_elements(api, iid) == ["rejected"]


def test_escalation_end_event_caught_by_boundary(api):
    iid = run(api, "errors_escalations.bpmn", "errors_escalations")
    finish(api, iid, "decide", {"outcome": "late"})
    assert open_elements(api, iid) == ["escalated"]


def test_normal_end_of_subprocess(api):
    iid = run(api, "errors_escalations.bpmn", "errors_escalations")
    finish(api, iid, "decide", {"outcome": "ok"})
    assert api.instance(iid)["state"] == "completed"


def test_business_rule_task_and_service_task(api, engine):
    calls = []

    def notify(ctx, points):
        calls.append((ctx.business_key, points))
        return {"sent": True, "points": points}

    engine.services.register("test.notify", notify)
    assert api.deploy("scoring.dmn").status_code == 201
    iid = run(api, "rules_and_services.bpmn", "rules_and_services", severity="较重")
    inst = api.instance(iid)
    assert inst["variables"]["points"] == 3
    assert inst["variables"]["notified"] == {"sent": True, "points": 3}
    assert calls == [(P1, 3)] and open_elements(api, iid) == ["review"]


def test_failing_service_is_an_incident_and_retry_completes_it(api, engine):
    attempts = []

    def flaky(ctx, points):
        attempts.append(points)
        if len(attempts) == 1:
            raise ServiceFailure("短信网关不可用 (SMS gateway down)")
        return "ok"

    engine.services.register("test.notify", flaky)
    api.deploy("scoring.dmn")
    iid = run(api, "rules_and_services.bpmn", "rules_and_services", severity="严重")
    inst = api.instance(iid)
    assert inst["state"] == "error"
    assert "短信网关不可用" in inst["incidents"][0]["message"]
    assert inst["incidents"][0]["element_id"] == "notify"
    assert api.post(f"/api/v1/instances/{iid}/retry", as_user="contractor_gdjg").status_code == 403
    r = api.post(f"/api/v1/instances/{iid}/retry")
    assert r.status_code == 200, r.get_json()
    inst = api.instance(iid)
    assert inst["state"] == "running" and inst["incidents"] == []
    assert inst["variables"]["notified"] == "ok" and open_elements(api, iid) == ["review"]
    kinds = [e["kind"] for e in api.get(f"/api/v1/instances/{iid}/history").get_json()]
    assert "incident.opened" in kinds and "incident.retried" in kinds


def test_dmn_without_a_matching_rule_leaves_its_output_unset(api, engine):
    engine.services.register("test.notify", lambda ctx, points: "ok")
    api.deploy("scoring.dmn")
    iid = run(api, "rules_and_services.bpmn", "rules_and_services", severity="未知")
    inst = api.instance(iid)
    assert "points" not in inst["variables"]
    assert inst["state"] == "error" and inst["incidents"][0]["element_id"] == "notify"
    assert "points" in inst["incidents"][0]["message"]
