"""POST /api/v1/definitions/validate: the checks of a deploy, errors per element, nothing kept."""
from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from engine.schema import audit_events, definitions

TWO_LANES = "tests/engine/processes/two_lanes.bpmn"


def _xml() -> bytes:
    with open(TWO_LANES, "rb") as fh:
        return fh.read()


def validate(api, files: dict, as_user: str = "designer"):
    payload = [(io.BytesIO(content), name) for name, content in files.items()]
    return api.post("/api/v1/definitions/validate", as_user=as_user, data={"files": payload},
                    content_type="multipart/form-data")


def _stored(engine) -> tuple[int, int]:
    with engine.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(definitions)).scalar_one(),
                conn.execute(select(func.count()).select_from(audit_events)).scalar_one())


def test_a_good_diagram_is_ok_and_nothing_is_deployed(api, engine):
    r = validate(api, {"two_lanes.bpmn": _xml()})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["ok"] is True and body["errors"] == {}
    assert body["would_deploy"] == [{"kind": "bpmn", "key": "two_lanes", "name": "两岗审批",
                                     "version": 1, "created": True}]
    assert _stored(engine) == (0, 0)
    assert api.get("/api/v1/definitions").get_json() == []


def test_errors_name_the_elements_they_concern(api, engine):
    xml = (_xml().replace(b'targetRef="reply"/>', b'targetRef="nowhere"/>')
           .replace(b"accepted == False", b"accepted ==== False"))
    r = validate(api, {"broken.bpmn": xml})
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is False and body["would_deploy"] == []
    problems = body["errors"]["broken.bpmn"]
    assert all(set(p) >= {"line", "element_id", "message"} for p in problems)
    by_element = {p["element_id"]: p["message"] for p in problems}
    assert "f2" in by_element and "nowhere" in by_element["f2"]
    assert "f4" in by_element
    assert _stored(engine) == (0, 0)


def test_malformed_xml_and_bad_files_are_reported_per_file(api, engine):
    broken = (b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>\n"
              b"<bpmn:process id='x'>")
    bad_form = json.dumps({"id": "f1", "components": "not a list"}).encode()
    r = validate(api, {"broken.bpmn": broken, "notes.txt": b"hello", "f1.json": bad_form,
                       "two_lanes.bpmn": _xml()})
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is False
    assert {"broken.bpmn", "notes.txt"} <= set(body["errors"])
    assert body["errors"]["broken.bpmn"][0]["line"] is not None
    assert "two_lanes.bpmn" not in body["errors"]
    assert _stored(engine) == (0, 0)


def test_a_bad_form_alone_is_reported(api):
    bad_form = json.dumps({"id": "f1", "components": "not a list"}).encode()
    body = validate(api, {"f1.json": bad_form}).get_json()
    assert body["ok"] is False and body["errors"]["f1.json"][0]["message"]


def test_against_deployed_versions(api, engine):
    assert api.deploy("two_lanes.bpmn").status_code == 201
    before = _stored(engine)
    same = validate(api, {"two_lanes.bpmn": _xml()}).get_json()
    assert same["ok"] and same["would_deploy"][0]["created"] is False
    changed = _xml().replace("起草通知".encode(), "起草整改通知".encode())
    new = validate(api, {"two_lanes.bpmn": changed}).get_json()
    assert new["ok"] and new["would_deploy"][0]["version"] == 2
    assert _stored(engine) == before
    assert api.get("/api/v1/definitions/two_lanes").get_json()["versions"] == [1]


def test_only_designers_and_admins_validate(api):
    assert validate(api, {"two_lanes.bpmn": _xml()}, as_user="contractor_gdjg").status_code == 403
    assert validate(api, {"two_lanes.bpmn": _xml()}, as_user="inspector_cc").status_code == 403
    assert validate(api, {"two_lanes.bpmn": _xml()}, as_user="admin").status_code == 200
    r = api.post("/api/v1/definitions/validate", as_user="designer", data={},
                 content_type="multipart/form-data")
    assert r.status_code == 422 and "files" in r.get_json()["errors"]
