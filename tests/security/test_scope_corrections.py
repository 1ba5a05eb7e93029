"""Issue 15, item 10: a correction changes only the fields of the document's own forms,
cleaned by those forms with their limits; it never moves a document to another project."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from processes.schema import documents
from tests.documents.helpers import deploy, issue

NH = "FS-NH-2026-001"
TALK_FORM = {
    "id": "talk_notice", "type": "default", "schemaVersion": 16, "components": [
        {"type": "textfield", "key": "talk_time", "label": "约谈时间", "id": "f1",
         "validate": {"required": True, "maxLength": 40}},
        {"type": "textfield", "key": "talk_summoned", "label": "约谈对象", "id": "f2",
         "readonly": True},
        {"type": "number", "key": "attendees", "label": "参加人数", "id": "f3",
         "validate": {"min": 1, "max": 50}},
        {"type": "dynamiclist", "path": "items", "label": "约谈事项", "id": "f4",
         "isRepeating": True, "components": [
             {"type": "textfield", "key": "what", "label": "事项", "id": "f5"}]},
    ]}


def deploy_with_form(api) -> None:
    deploy(api)
    r = api.deploy(files={"talk_notice.json": json.dumps(TALK_FORM).encode()})
    assert r.status_code == 201, r.get_json()


def count(engine) -> int:
    with engine.db.read() as conn:
        return conn.execute(select(func.count()).select_from(documents)).scalar()


def test_a_correction_never_moves_a_document_to_another_project(api, engine):
    deploy_with_form(api)
    instance_id, doc = issue(api, engine, "talk_notice", {"talk_summoned": "项目负责人周某"})
    url = f"/api/v1/documents/{doc['id']}/correct"
    before = count(engine)
    for changes in ({"project_code": NH}, {"project_code": NH, "talk_time": "明天"},
                    {"business_key": NH}, {"contractor_code": "91440600CON004"}):
        r = api.post(url, as_user="inspector_cc", json={"reason": "移走", "changes": changes})
        assert r.status_code == 422, (changes, r.get_json())
        body = r.get_json()
        assert "标识字段" in str(body["errors"]) and "更正" in body["message"]
    assert count(engine) == before
    assert api.get(f"/api/v1/instances/{instance_id}/documents", as_user="inspector_cc") \
        .get_json()[0]["id"] == doc["id"]
    assert api.get(f"/api/v1/instances/{instance_id}/documents",
                   as_user="inspector_nh").status_code == 403


def test_a_correction_is_cleaned_by_the_documents_form_with_its_limits(api, engine):
    deploy_with_form(api)
    _, doc = issue(api, engine, "talk_notice", {"talk_summoned": "项目负责人周某"})
    url = f"/api/v1/documents/{doc['id']}/correct"
    before = count(engine)
    refused = [
        ({"items": [{"what": "x" * 10}] * 5000}, "items"),        # 5,000 rows: 359 pages once
        ({"talk_time": "x" * 41}, "talk_time"),                    # the form's maxLength
        ({"talk_time": ""}, "talk_time"),                          # required: not emptied
        ({"attendees": 10**6}, "attendees"),                       # the form's range
        ({"talk_summoned": "别人"}, "talk_summoned"),              # read-only in the form
        ({"stamp": "伪造"}, "stamp"),                               # not a field of the form
    ]
    for changes, field in refused:
        r = api.post(url, as_user="inspector_cc", json={"reason": "更正", "changes": changes})
        assert r.status_code == 422, (field, r.status_code, r.get_data()[:300])
        assert field in r.get_json()["errors"], (field, r.get_json())
    assert count(engine) == before
    r = api.post(url, as_user="inspector_cc", json={"reason": "约谈时间有误", "changes": {
        "talk_time": "  2026-12-02 09:00 ", "attendees": 3}})
    assert r.status_code == 201, r.get_json()
    with engine.db.read() as conn:
        data = conn.execute(select(documents.c.data).where(
            documents.c.id == r.get_json()["id"])).scalar()
    assert data["changes"]["attendees"] == 3 and "talk_time" in data["changes"]
