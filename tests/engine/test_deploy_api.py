"""Deploying definitions through the API: versions, all-or-nothing, clear 422s, roles."""
from __future__ import annotations

import io

TWO_LANES = "two_lanes.bpmn"


def test_deploy_lists_and_shows_a_definition(api):
    r = api.deploy(TWO_LANES)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["deployed"] == [
        {"kind": "bpmn", "key": "two_lanes", "name": "两岗审批", "version": 1, "created": True}]
    listed = api.get("/api/v1/definitions").get_json()
    assert [(d["key"], d["version"]) for d in listed] == [("two_lanes", 1)]
    assert len(listed[0]["sha256"]) == 64 and listed[0]["deployed_at"]
    one = api.get("/api/v1/definitions/two_lanes").get_json()
    assert "<bpmn:process id=\"two_lanes\"" in one["xml"] and one["lanes"] == ["inspector", "contractor"]


def test_identical_file_makes_no_new_version_and_a_change_does(api):
    assert api.deploy(TWO_LANES).status_code == 201
    again = api.deploy(TWO_LANES)
    assert again.status_code == 200
    assert again.get_json()["deployed"][0] == {
        "kind": "bpmn", "key": "two_lanes", "name": "两岗审批", "version": 1, "created": False}
    with open("tests/engine/processes/two_lanes.bpmn", "rb") as fh:
        changed = fh.read().replace("起草通知".encode(), "起草整改通知".encode())
    r = api.deploy(files={"two_lanes.bpmn": changed})
    assert r.status_code == 201 and r.get_json()["deployed"][0]["version"] == 2
    versions = api.get("/api/v1/definitions/two_lanes").get_json()["versions"]
    assert versions == [1, 2]
    v1 = api.get("/api/v1/definitions/two_lanes?version=1").get_json()
    assert "起草整改通知" not in v1["xml"]


def test_running_instance_keeps_its_version(api):
    api.deploy(TWO_LANES)
    old = api.start("two_lanes", "FS-CC-2026-001").get_json()
    with open("tests/engine/processes/two_lanes.bpmn", "rb") as fh:
        changed = fh.read().replace("起草通知".encode(), "起草整改通知".encode())
    api.deploy(files={"two_lanes.bpmn": changed})
    new = api.start("two_lanes", "FS-CC-2026-001").get_json()
    assert (old["version"], new["version"]) == (1, 2)
    assert api.instance(old["id"])["tasks"][0]["name"] == "起草通知"
    assert api.instance(new["id"])["tasks"][0]["name"] == "起草整改通知"
    task = api.open_task(old["id"], "draft")
    assert api.complete(task["id"]).status_code == 200
    assert api.instance(old["id"])["version"] == 1


def test_bad_files_get_422_per_file_and_nothing_is_deployed(api):
    broken = b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>\n<bpmn:process id='x'>"
    with open("tests/engine/processes/two_lanes.bpmn", "rb") as fh:
        good = fh.read()
    r = api.deploy(files={"good.bpmn": good, "broken.bpmn": broken, "notes.txt": b"hello"})
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    assert set(body["errors"]) == {"broken.bpmn", "notes.txt"}
    assert body["errors"]["broken.bpmn"][0]["line"] is not None
    assert api.get("/api/v1/definitions").get_json() == []


def test_dangling_flow_is_rejected_with_its_element(api):
    with open("tests/engine/processes/two_lanes.bpmn", "rb") as fh:
        xml = fh.read().replace(b'targetRef="reply"/>', b'targetRef="nowhere"/>')
    r = api.deploy(files={"dangling.bpmn": xml})
    assert r.status_code == 422
    problems = r.get_json()["errors"]["dangling.bpmn"]
    assert any("nowhere" in p["message"] for p in problems)


def test_only_designers_and_admins_deploy(api):
    assert api.deploy(TWO_LANES, as_user="inspector_cc").status_code == 403
    assert api.deploy(TWO_LANES, as_user="contractor_gdjg").status_code == 403
    assert api.deploy(TWO_LANES, as_user="admin").status_code == 201


def test_upload_without_files_field(api):
    r = api.post("/api/v1/definitions", as_user="designer", data={"other": (io.BytesIO(b"x"), "a.bpmn")},
                 content_type="multipart/form-data")
    assert r.status_code == 422 and "files" in r.get_json()["errors"]


def test_a_new_decision_table_gives_its_processes_a_new_version(api):
    assert api.deploy("scoring.dmn", "rules_and_services.bpmn").status_code == 201
    with open("tests/engine/processes/scoring.dmn", "rb") as fh:
        dmn = fh.read().replace(b"<text>6</text>", b"<text>12</text>")
    r = api.deploy(files={"scoring.dmn": dmn})
    assert r.status_code == 201
    deployed = {(d["kind"], d["key"]): d["version"] for d in r.get_json()["deployed"]}
    assert deployed[("dmn", "violation_points")] == 2
    assert deployed[("bpmn", "rules_and_services")] == 2
