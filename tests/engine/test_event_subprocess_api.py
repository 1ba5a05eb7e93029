"""A message start event of an event subprocess: the instance keeps a subscription while it
runs, and POST /api/v1/messages with a matching correlation starts the subprocess (again on
each message: it does not interrupt)."""
from __future__ import annotations

P1, P2 = "FS-CC-2026-001", "FS-CC-2026-002"


def start(api, project):
    r = api.start("event_subprocess", project, {"project_code": project})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def elements(api, iid):
    return sorted(t["element_id"] for t in api.instance(iid)["tasks"])


def test_a_message_starts_the_event_subprocess_of_the_matching_instance(api):
    assert api.deploy("event_subprocess.bpmn").status_code in (200, 201)
    a, b = start(api, P1), start(api, P2)
    waiting = [w for w in a["waiting"] if w["type"] == "message"]
    assert [(w["name"], w["element_id"], w["correlation"]) for w in waiting] == \
        [("halt", "halt_start", {"project_code": P1})]
    r = api.message("halt", {"project_code": P1}, {"reason": "停工"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["correlated"] == [a["id"]]
    assert elements(api, a["id"]) == ["record", "work"]
    assert elements(api, b["id"]) == ["work"]
    record = api.open_task(a["id"], "record")
    r = api.get(f"/api/v1/tasks/{record['id']}")
    assert r.status_code == 200
    # non-interrupting: a second message opens it again, and the main flow goes on
    assert api.message("halt", {"project_code": P1}, {"reason": "再次停工"}).get_json()[
        "correlated"] == [a["id"]]
    assert elements(api, a["id"]) == ["record", "record", "work"]
    for task in api.instance(a["id"])["tasks"]:
        assert api.complete(task["id"]).status_code == 200
    inst = api.instance(a["id"])
    assert inst["state"] == "completed"
    assert {"halt_start", "record", "work"} <= set(inst["completed_elements"])


def test_the_subscription_ends_with_its_instance(api):
    assert api.deploy("event_subprocess.bpmn").status_code in (200, 201)
    a = start(api, P1)
    assert api.complete(api.open_task(a["id"], "work")["id"]).status_code == 200
    assert api.instance(a["id"])["state"] == "completed"
    r = api.message("halt", {"project_code": P1}, {"reason": "太晚"})
    assert r.get_json()["correlated"] == []
