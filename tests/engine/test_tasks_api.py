"""Working tasks through the API: lanes as roles, data scope, claims, forms, concurrency."""
from __future__ import annotations

import json
import threading

PROJECT = "FS-CC-2026-001"          # 禅城区, contractor 91440600CON001 (contractor_gdjg)
OTHER_PROJECT = "FS-NH-2026-002"    # 南海区, contractor 91440600CON004

REPLY_FORM = {
    "id": "reply", "name": "整改回复", "type": "default", "schemaVersion": 16,
    "components": [
        {"type": "textarea", "key": "measures", "label": "整改措施",
         "validate": {"required": True, "minLength": 5}},
        {"type": "number", "key": "workers", "label": "投入人数", "validate": {"min": 1}},
        {"type": "checkbox", "key": "accepted", "label": "是否通过"},
    ],
}


def started(api, project=PROJECT):
    assert api.deploy("two_lanes.bpmn").status_code in (200, 201)
    r = api.start("two_lanes", project, {"project_code": project}, as_user="inspector_cc"
                  if project == PROJECT else "admin")
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_no_token_is_401_and_wrong_role_is_403(api):
    assert api.client.get("/api/v1/tasks").status_code == 401
    r = api.client.get("/api/v1/tasks", headers={"Authorization": "Bearer forged.token"})
    assert r.status_code == 401
    assert api.deploy("two_lanes.bpmn", as_user="contractor_gdjg").status_code == 403
    assert api.deploy("two_lanes.bpmn", as_user="inspector_cc").status_code == 403


def test_lanes_route_tasks_to_roles_and_districts(api):
    own = started(api)
    other = started(api, OTHER_PROJECT)
    inbox = api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
    assert [t["instance_id"] for t in inbox] == [own]
    assert inbox[0]["lane"] == "inspector" and inbox[0]["name"] == "起草通知"
    # The contractor has nothing until the inspector's step is done.
    assert api.get("/api/v1/tasks", as_user="contractor_gdjg").get_json() == []
    draft = api.open_task(own, "draft")
    assert api.complete(draft["id"], as_user="contractor_gdjg").status_code == 403
    assert api.complete(draft["id"], as_user="inspector_nh").status_code == 403
    assert api.complete(draft["id"], as_user="inspector_cc").status_code == 200
    mine = api.get("/api/v1/tasks", as_user="contractor_gdjg").get_json()
    assert [(t["instance_id"], t["element_id"]) for t in mine] == [(own, "reply")]
    # Another enterprise's contractor sees neither the task nor the instance.
    assert api.get("/api/v1/tasks", as_user="contractor_zj3").get_json() == []
    assert api.get(f"/api/v1/tasks/{mine[0]['id']}", as_user="contractor_zj3").status_code == 403
    assert api.get(f"/api/v1/instances/{own}", as_user="contractor_zj3").status_code == 403
    assert api.get(f"/api/v1/instances/{other}", as_user="inspector_cc").status_code == 403


def test_a_city_wide_inspector_filters_the_inbox_by_district(api, engine):
    from processes.people import create_user
    with engine.db.write() as conn:
        create_user(conn, "inspector_city", "inspector", "secret-123", None, None, "全市监督员")
    own, other = started(api), started(api, OTHER_PROJECT)
    api.token("inspector_city", "secret-123")
    both = api.get("/api/v1/tasks", as_user="inspector_city").get_json()
    assert {t["instance_id"] for t in both} == {own, other}
    nh = api.get("/api/v1/tasks?district=南海区", as_user="inspector_city")
    assert [t["instance_id"] for t in nh.get_json()] == [other]
    assert nh.headers["X-Pagination"] and '"total": 1' in nh.headers["X-Pagination"]


def test_claim_and_release(api):
    iid = started(api)
    task = api.open_task(iid, "draft")
    url = f"/api/v1/tasks/{task['id']}"
    assert api.post(url + "/claim", as_user="inspector_cc").status_code == 200
    assert api.get(url, as_user="inspector_cc").get_json()["assignee"] == "inspector_cc"
    mine = api.get("/api/v1/tasks?assignee=me", as_user="inspector_cc").get_json()
    assert [t["id"] for t in mine] == [task["id"]]
    assert api.post(url + "/claim", as_user="admin").status_code == 409
    assert api.post(url + "/unclaim", as_user="inspector_cc").status_code == 200
    assert api.get(url, as_user="inspector_cc").get_json()["assignee"] is None


def test_form_errors_are_422_by_field_and_leave_the_instance_untouched(api):
    form = json.dumps(REPLY_FORM, ensure_ascii=False).encode()
    assert api.deploy("two_lanes.bpmn", files={"reply.json": form}).status_code == 201
    iid = api.start("two_lanes", PROJECT, {"project_code": PROJECT}).get_json()["id"]
    api.complete(api.open_task(iid, "draft")["id"])
    reply = api.open_task(iid, "reply")
    shown = api.get(f"/api/v1/tasks/{reply['id']}", as_user="contractor_gdjg").get_json()
    assert shown["form"]["id"] == "reply"
    before = api.instance(iid)
    bad = api.complete(reply["id"], {"measures": "短", "workers": 0, "extra": 1},
                       as_user="contractor_gdjg")
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert set(errors) == {"measures", "workers", "extra"}
    after = api.instance(iid)
    assert after["tasks"] == before["tasks"] and after["variables"] == before["variables"]
    ok = api.complete(reply["id"], {"measures": "已加装防护栏并复查", "workers": 6,
                                    "accepted": True}, as_user="contractor_gdjg")
    assert ok.status_code == 200, ok.get_json()
    done = api.instance(iid)
    assert done["state"] == "completed" and done["variables"]["workers"] == 6


def test_draft_is_kept_without_required_fields(api):
    form = json.dumps(REPLY_FORM, ensure_ascii=False).encode()
    api.deploy("two_lanes.bpmn", files={"reply.json": form})
    iid = api.start("two_lanes", PROJECT, {"project_code": PROJECT}).get_json()["id"]
    api.complete(api.open_task(iid, "draft")["id"])
    reply = api.open_task(iid, "reply")
    r = api.post(f"/api/v1/tasks/{reply['id']}/draft", as_user="contractor_gdjg",
                 json={"data": {"workers": 3}})
    assert r.status_code == 200, r.get_json()
    shown = api.get(f"/api/v1/tasks/{reply['id']}", as_user="contractor_gdjg").get_json()
    assert shown["draft"] == {"workers": 3}


def test_twenty_concurrent_completions_apply_once(api):
    iid = started(api)
    task = api.open_task(iid, "draft")
    token = api.token("admin")
    results: list[int] = []
    barrier = threading.Barrier(20)

    def complete():
        client = api.app.test_client()
        barrier.wait()
        r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"n": 1}},
                        headers={"Authorization": f"Bearer {token}"})
        results.append(r.status_code)

    threads = [threading.Thread(target=complete) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 19
    history = api.get(f"/api/v1/instances/{iid}/history").get_json()
    assert [e["kind"] for e in history].count("task.completed") == 1
    assert [t["element_id"] for t in api.instance(iid)["tasks"]] == ["reply"]


def test_completed_task_is_409(api):
    iid = started(api)
    task = api.open_task(iid, "draft")
    assert api.complete(task["id"]).status_code == 200
    assert api.complete(task["id"]).status_code == 409
    assert api.complete("no-such-task").status_code == 404


def test_cancel_with_reason(api):
    iid = started(api)
    assert api.post(f"/api/v1/instances/{iid}/cancel", as_user="contractor_gdjg",
                    json={"reason": "x"}).status_code == 403
    r = api.post(f"/api/v1/instances/{iid}/cancel", as_user="inspector_cc",
                 json={"reason": "项目已停工"})
    assert r.status_code == 200, r.get_json()
    inst = api.instance(iid)
    assert inst["state"] == "cancelled" and inst["tasks"] == []
    kinds = [e["kind"] for e in api.get(f"/api/v1/instances/{iid}/history").get_json()]
    assert kinds[0] == "instance.started" and kinds[-1] == "instance.cancelled"


def test_reading_an_instance_does_not_read_its_blob(api, engine):
    """The instance page and API answer from the row and the projections (README: no blob is
    read), the scope check included: a blob is the size of the whole workflow."""
    from sqlalchemy import event

    iid = started(api)
    seen = []
    event.listen(engine.db.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *rest: seen.append(statement))
    r = api.get(f"/api/v1/instances/{iid}", as_user="inspector_cc")
    assert r.status_code == 200 and r.get_json()["tasks"][0]["element_id"] == "draft"
    assert seen and not [s for s in seen if "blob" in s]
