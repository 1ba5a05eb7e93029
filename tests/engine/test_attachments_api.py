"""Form attachments: checked by content, stored with their hash, referenced from form data by
id, and seen only by those who may see the instance."""
from __future__ import annotations

import json

from tests.apiclient import TINY_PNG

P1 = "FS-CC-2026-001"
FORM = {"id": "reply", "name": "整改回复", "type": "default", "components": [
    {"type": "textarea", "key": "measures", "label": "整改措施", "validate": {"required": True}},
    {"type": "filepicker", "key": "photos", "label": "整改照片", "multiple": True,
     "validate": {"required": True}}]}


def reply_task(api):
    api.deploy("two_lanes.bpmn", files={"reply.json": json.dumps(FORM, ensure_ascii=False).encode()})
    iid = api.start("two_lanes", P1, {"project_code": P1}).get_json()["id"]
    api.complete(api.open_task(iid, "draft")["id"])
    return iid, api.open_task(iid, "reply")["id"]


def test_upload_then_complete_with_the_ids(api):
    iid, task_id = reply_task(api)
    r = api.upload(task_id, "现场照片.png", as_user="contractor_gdjg")
    assert r.status_code == 201, r.get_json()
    photo = r.get_json()
    assert photo["content_type"] == "image/png" and len(photo["sha256"]) == 64
    done = api.complete(task_id, {"measures": "已设置防护栏", "photos": [photo["id"]]},
                        as_user="contractor_gdjg")
    assert done.status_code == 200, done.get_json()
    listed = api.get(f"/api/v1/tasks/{task_id}/attachments", as_user="inspector_cc").get_json()
    assert [a["file_name"] for a in listed] == ["现场照片.png"]
    file = api.get(f"/api/v1/attachments/{photo['id']}", as_user="inspector_cc")
    assert file.status_code == 200 and file.data == TINY_PNG
    assert api.get(f"/api/v1/attachments/{photo['id']}", as_user="contractor_zj3").status_code == 403
    kinds = [e["kind"] for e in api.get(f"/api/v1/instances/{iid}/history").get_json()]
    assert "attachment.uploaded" in kinds


def test_unknown_or_foreign_attachment_ids_are_refused(api):
    _, task_id = reply_task(api)
    _, other_task = reply_task(api)
    foreign = api.upload(other_task, "a.png", as_user="contractor_gdjg").get_json()["id"]
    r = api.complete(task_id, {"measures": "已整改", "photos": ["no-such-id", foreign]},
                     as_user="contractor_gdjg")
    assert r.status_code == 422 and "photos" in r.get_json()["errors"]


def test_files_are_checked_by_content_and_size(api):
    _, task_id = reply_task(api)
    fake = api.upload(task_id, "photo.png", b"MZ\\x90\\x00 not an image", as_user="contractor_gdjg")
    assert fake.status_code == 422 and "file" in fake.get_json()["errors"], fake.get_json()
    empty = api.upload(task_id, "empty.pdf", b"", as_user="contractor_gdjg")
    assert empty.status_code == 422
    pdf = api.upload(task_id, "方案.pdf", b"%PDF-1.7\n%...", as_user="contractor_gdjg")
    assert pdf.status_code == 201 and pdf.get_json()["content_type"] == "application/pdf"
    outsider = api.upload(task_id, "x.png", as_user="contractor_zj3")
    assert outsider.status_code == 403
