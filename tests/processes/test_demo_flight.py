"""load-demo's instances in flight start through their start forms and take their first steps
with the forms as they are now (a refused example would be skipped without a word)."""
from __future__ import annotations

from processes.demo_flight import examples, start_examples


def test_every_demo_instance_starts_and_takes_its_steps(api, bundled):
    assert start_examples(bundled) == len(examples())
    assert start_examples(bundled) == 0                       # none twice
    listed = api.get("/api/v1/instances?page_size=100").get_json()
    assert len(listed) == len(examples())
    for summary in listed:
        inst = api.instance(summary["id"])
        assert inst["state"] == "running" and inst["incidents"] == [], inst
        assert inst["tasks"], inst["process_key"]
    reply = api.get("/api/v1/tasks", as_user="contractor_gdjg").get_json()
    assert [t["element_id"] for t in reply] == ["rect_reply"]   # the notice was issued
    documents = api.get(f"/api/v1/instances/{reply[0]['instance_id']}/documents").get_json()
    assert [d["kind"] for d in documents] == ["rectification_notice"]
