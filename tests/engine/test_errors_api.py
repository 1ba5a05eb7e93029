"""Bad requests get a clear 4xx in one JSON shape, with Chinese field messages; never a 500."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("method, path, kw, status, field", [
    ("POST", "/api/v1/instances", {"data": "not json", "content_type": "application/json"}, 400, "json"),
    ("POST", "/api/v1/instances", {"json": {"process_key": "x", "business_key": "k" * 500}}, 422, "business_key"),
    ("POST", "/api/v1/instances", {"json": {"process_key": "x", "variables": "v"}}, 422, "variables"),
    ("GET", "/api/v1/instances?page_size=100000", {}, 422, "page_size"),
    ("GET", "/api/v1/tasks?overdue=maybe", {}, 422, "overdue"),
    ("POST", "/api/v1/messages", {"json": {"name": ""}}, 422, "name"),
    ("POST", "/api/v1/instances/x/cancel", {"json": {}}, 422, "reason"),
])
def test_bad_input_is_refused_in_chinese(api, method, path, kw, status, field):
    r = api.call(method, path, "admin", **kw)
    body = r.get_json()
    assert r.status_code == status and body["code"] == status
    message = body["errors"][field][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
