"""Scores and documents that service operations leave behind, as each role sees them."""
from __future__ import annotations

from tests.bpmn import line, process_xml, service_task

DIAGRAM = process_xml("records", line(
    service_task("score", "score.record", "score",
                 [("item", "str", "'未按方案施工'"), ("points", "int", "points")], name="记分"),
    service_task("doc", "document.request", "notice", [("kind", "str", "'rectification_notice'")],
                 name="出具通知书")), name="记录")


def start(api, project, points):
    r = api.start("records", project, {"project_code": project, "points": points})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_scores_add_up_per_enterprise_within_scope(api):
    assert api.deploy(files={"records.bpmn": DIAGRAM.encode()}).status_code == 201
    first = start(api, "FS-CC-2026-001", 3)        # contractor CON001
    start(api, "FS-NH-2026-003", 2)                # contractor CON001 too (南海区)
    start(api, "FS-CC-2026-002", 6)                # contractor CON003
    assert api.instance(first)["variables"]["score"]["total"] == 3
    city = {s["enterprise_code"]: s["points"] for s in api.get("/api/v1/scores", as_user="leader").get_json()}
    assert city == {"91440600CON001": 5, "91440600CON003": 6}
    chancheng = {s["enterprise_code"]: s["points"]
                 for s in api.get("/api/v1/scores", as_user="inspector_cc").get_json()}
    assert chancheng == {"91440600CON001": 3, "91440600CON003": 6}
    own = api.get("/api/v1/scores", as_user="contractor_gdjg").get_json()
    assert [(s["enterprise_code"], s["points"]) for s in own] == [("91440600CON001", 5)]


def test_documents_are_numbered_per_kind_and_year_and_scoped(api):
    api.deploy(files={"records.bpmn": DIAGRAM.encode()})
    a = start(api, "FS-CC-2026-001", 1)
    b = start(api, "FS-CC-2026-001", 1)
    docs_a = api.get(f"/api/v1/instances/{a}/documents", as_user="contractor_gdjg").get_json()
    docs_b = api.get(f"/api/v1/instances/{b}/documents", as_user="inspector_cc").get_json()
    assert [d["kind"] for d in docs_a] == ["rectification_notice"]
    assert docs_a[0]["title"] == "整改通知书"
    numbers = [docs_a[0]["number"], docs_b[0]["number"]]
    assert numbers[0].startswith("ZGTZ-") and numbers[0] != numbers[1]
    assert int(numbers[1][-5:]) == int(numbers[0][-5:]) + 1
    assert api.get(f"/api/v1/instances/{a}/documents", as_user="contractor_zj3").status_code == 403
