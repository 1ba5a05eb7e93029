"""Issue 15, item 11: every list is scoped, a claimed task is its claimer's to fill, and a
business key is the project it names, not a near miss of it."""
from __future__ import annotations

from processes.demo import DEMO_PASSWORD
from processes.people import create_user

CC, NH = "FS-CC-2026-001", "FS-NH-2026-001"          # 禅城区, 南海区
OTHER_ENTERPRISE = "FS-CC-2026-002"                     # contractor CON003, not contractor_gdjg's

LANES = {"inspector": "监督员", "contractor": "施工单位"}


def diagram(key: str, lane: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
            'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
            f'<bpmn:process id="{key}" name="范围" isExecutable="true"><bpmn:laneSet id="ls">'
            f'<bpmn:lane id="l" name="{LANES[lane]}"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
            '<bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
            '<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" '
            'targetRef="work"/><bpmn:userTask id="work" name="办理"/><bpmn:sequenceFlow id="f2" '
            'sourceRef="work" targetRef="end"/><bpmn:endEvent id="end"/></bpmn:process>'
            '</bpmn:definitions>').encode()


def bad_telemetry(project: str, device: str) -> dict:
    return {"project_code": project, "device_type": "dust", "device_id": device,
            "at": "not a time", "readings": {"pm10": 1.0}}


def test_a_district_leader_reads_only_the_dead_letters_of_its_district(api, bundled):
    for project, device in ((CC, "DUST-CC001"), (NH, "DUST-NH001")):
        r = api.post("/api/v1/telemetry", json=bad_telemetry(project, device), as_user="gateway")
        assert r.status_code == 422, r.get_json()
    api.post("/api/v1/telemetry", data=b"not json{", content_type="application/json",
             as_user="gateway")
    everything = api.get("/api/v1/dead-letters?page_size=50", as_user="admin").get_json()
    assert len(everything) == 3
    mine = api.get("/api/v1/dead-letters?page_size=50", as_user="leader_cc").get_json()
    assert [letter["payload"] for letter in mine] and all(
        CC in letter["payload"] for letter in mine), mine
    assert len(mine) == 1
    assert len(api.get("/api/v1/dead-letters", as_user="gateway").get_json()) == 3


def test_an_inspector_reads_only_its_districts_threshold_overrides(api, bundled):
    for project, limit in ((CC, 301.0), (NH, 302.0)):
        r = api.post("/api/v1/thresholds", as_user="designer", json={
            "device_type": "dust", "metric": "pm10", "level": "alarm", "limit": limit,
            "project_code": project})
        assert r.status_code == 201, r.get_json()
    r = api.post("/api/v1/thresholds", as_user="designer", json={
        "device_type": "dust", "metric": "noise", "level": "alarm", "limit": 88.0,
        "device_id": "DUST-NH001"})
    assert r.status_code == 201, r.get_json()
    seen = api.get("/api/v1/thresholds", as_user="inspector_cc").get_json()
    projects = {t["project_code"] for t in seen}
    assert CC in projects and NH not in projects
    assert "DUST-NH001" not in {t["device_id"] for t in seen}
    assert any(t["project_code"] is None and t["device_id"] is None for t in seen)  # defaults
    every = api.get("/api/v1/thresholds", as_user="admin").get_json()
    assert {NH, CC} <= {t["project_code"] for t in every}


def test_the_gateway_reads_no_definitions_nor_their_xml(api, bundled):
    for path in ("/api/v1/definitions", "/api/v1/definitions/closing",
                 "/api/v1/definitions/rectification_notice?kind=form"):
        r = api.get(path, as_user="gateway")
        assert r.status_code == 403, (path, r.status_code)
        assert "<bpmn" not in r.get_data(as_text=True)


def test_an_inspector_cannot_overwrite_the_draft_of_a_task_another_claimed(api, engine):
    with engine.db.write() as conn:
        create_user(conn, "inspector_cc2", "inspector", DEMO_PASSWORD, district="禅城区")
    assert api.deploy(files={"scope_draft.bpmn": diagram("scope_draft", "inspector")}) \
        .status_code == 201
    r = api.start("scope_draft", CC, as_user="inspector_cc")
    assert r.status_code == 201, r.get_json()
    task_id = api.open_task(r.get_json()["id"], "work", as_user="inspector_cc")["id"]
    assert api.post(f"/api/v1/tasks/{task_id}/claim", as_user="inspector_cc").status_code == 200
    assert api.post(f"/api/v1/tasks/{task_id}/draft", as_user="inspector_cc",
                    json={"data": {"note": "我的草稿"}}).status_code == 200
    r = api.post(f"/api/v1/tasks/{task_id}/draft", as_user="inspector_cc2",
                 json={"data": {"note": "覆盖"}})
    assert r.status_code == 409, r.get_json()
    assert "认领" in r.get_json()["message"]
    detail = api.get(f"/api/v1/tasks/{task_id}", as_user="inspector_cc").get_json()
    assert detail["draft"] == {"note": "我的草稿"}


def test_a_business_key_with_a_stray_space_is_not_another_project(api, bundled):
    assert api.deploy(files={"scope_start.bpmn": diagram("scope_start", "contractor")}) \
        .status_code == 201
    for key in ("scope_start", "closing"):
        for business_key in (f"{OTHER_ENTERPRISE} ", f"\u3000{OTHER_ENTERPRISE}",
                             OTHER_ENTERPRISE):
            r = api.start(key, business_key, as_user="contractor_gdjg")
            assert r.status_code in (403, 422), (key, repr(business_key), r.get_json())
            assert any("\u4e00" <= ch <= "\u9fff" for ch in r.get_json()["message"])
    r = api.start("scope_start", CC, {"project_code": OTHER_ENTERPRISE},
                  as_user="contractor_gdjg")        # its own key, another's project named inside
    assert r.status_code == 422 and "project_code" in r.get_json()["errors"], r.get_json()
    r = api.start("scope_start", "FS-XX-9999-999", as_user="contractor_gdjg")
    assert r.status_code == 422 and "不存在" in r.get_json()["message"]
    r = api.start("scope_start", f"{CC} ", as_user="contractor_gdjg")        # its own project
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["business_key"] == CC
    listed = api.get("/api/v1/instances?page_size=100", as_user="admin").get_json()
    assert {i["business_key"] for i in listed} == {CC}
