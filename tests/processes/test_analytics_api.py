"""Process analytics from history: durations, overdue, send-backs, rankings, Excel export."""
from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from engine.clock import clock, utcnow
from tests.engine.migration_diagrams import V1

A, B = "FS-CC-2026-001", "FS-NH-2026-002"      # 禅城区 / 南海区
# a reminder two days into `reply` gives the step its due time
REMINDED = V1.replace(
    '<bpmn:sequenceFlow id="f6"',
    '<bpmn:boundaryEvent id="remind" attachedToRef="reply" cancelActivity="false">'
    '<bpmn:timerEventDefinition><bpmn:timeDuration>"P2D"</bpmn:timeDuration>'
    '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
    '<bpmn:sequenceFlow id="f7" sourceRef="remind" targetRef="reminded"/>'
    '<bpmn:endEvent id="reminded"/><bpmn:sequenceFlow id="f6"').replace(
    "<bpmn:flowNodeRef>cancel_ev</bpmn:flowNodeRef>",
    "<bpmn:flowNodeRef>cancel_ev</bpmn:flowNodeRef><bpmn:flowNodeRef>remind</bpmn:flowNodeRef>"
    "<bpmn:flowNodeRef>reminded</bpmn:flowNodeRef>").encode()


def step(api, instance_id, element, after, as_user, data=None):
    clock.advance(after)
    task = api.open_task(instance_id, element)
    r = api.complete(task["id"], data or {}, as_user=as_user)
    assert r.status_code == 200, r.get_json()


def sent_back(api):
    """Two instances of the deployed two_lanes: Nanhai's drafted and answered; Chancheng's
    contractor answers late, is sent back once and the inspector drafts again."""
    a = api.start("two_lanes", A, {"project_code": A}).get_json()["id"]
    b = api.start("two_lanes", B, {"project_code": B}).get_json()["id"]
    step(api, a, "draft", timedelta(hours=1), "inspector_cc")
    step(api, b, "draft", timedelta(hours=1), "inspector_nh")
    step(api, b, "reply", timedelta(hours=2), "contractor_gz2",
         {"measures": "已整改完毕请复查", "accepted": True})
    step(api, a, "reply", timedelta(days=3), "contractor_gdjg",
         {"measures": "已整改完毕请复查", "accepted": False})
    step(api, a, "draft", timedelta(hours=1), "inspector_cc")
    return a, b


def history(api):
    assert api.deploy(files={"two_lanes.bpmn": REMINDED}).status_code == 201
    a, b = sent_back(api)
    step(api, a, "reply", timedelta(days=1), "contractor_gdjg",
         {"measures": "再次整改完毕请复查", "accepted": True})
    return a, b


def ask(api, path, as_user="leader", **query):
    today = utcnow().date()
    query.setdefault("from", (today - timedelta(days=30)).isoformat())
    query.setdefault("to", today.isoformat())
    return api.get(f"/api/v1/analytics/{path}", as_user=as_user, query_string=query)


def test_element_statistics_rankings_and_incremental_updates(api):
    history(api)
    clock.advance(timedelta(minutes=5))          # past the rollup's lag
    r = ask(api, "elements", process_key="two_lanes")
    assert r.status_code == 200, r.get_json()
    by_element = {e["element_id"]: e for e in r.get_json()["items"]}
    assert by_element["draft"]["count"] == 3 and by_element["draft"]["rework"] == 1
    reply = by_element["reply"]
    assert (reply["count"], reply["overdue"], reply["rework"]) == (3, 1, 1)
    assert reply["name"] == "整改回复"
    # the slowest element comes first; durations in hours, the 3-day reply at the top end
    assert r.get_json()["items"][0]["element_id"] == "reply"
    assert 48 < reply["p90_hours"] < 100 and reply["median_hours"] > by_element["draft"]["median_hours"]

    districts = ask(api, "ranking", dim="district", sort="rework").get_json()["items"]
    assert [d["key"] for d in districts] == ["禅城区", "南海区"]
    assert districts[0]["rework"] == 2 and districts[1]["rework"] == 0
    # by the median step Nanhai is slower (2 h against 1 h), by p90 Chancheng (its 3 days)
    by_median = ask(api, "ranking", dim="district").get_json()["items"]
    assert [d["key"] for d in by_median] == ["南海区", "禅城区"]
    by_p90 = ask(api, "ranking", dim="district", sort="p90_hours").get_json()["items"]
    assert [d["key"] for d in by_p90] == ["禅城区", "南海区"]
    inspectors = {i["key"]: i for i in ask(api, "ranking", dim="inspector").get_json()["items"]}
    assert inspectors["inspector_cc"]["count"] == 2 and inspectors["inspector_nh"]["count"] == 1
    assert inspectors["inspector_cc"]["name"] != "inspector_cc"       # the person's name
    enterprises = ask(api, "ranking", dim="enterprise", process_key="two_lanes").get_json()
    assert {e["key"] for e in enterprises["items"]} == {"91440600CON001", "91440600CON004"}
    nanhai = ask(api, "elements", process_key="two_lanes", district="南海区").get_json()
    assert {e["element_id"]: e["count"] for e in nanhai["items"]} == {"draft": 1, "reply": 1}
    processes = ask(api, "processes").get_json()["items"]
    assert processes[0]["process_key"] == "two_lanes" and processes[0]["count"] == 6

    # more history: only the new completions are added (nothing counted twice)
    c = api.start("two_lanes", B, {"project_code": B}).get_json()["id"]
    step(api, c, "draft", timedelta(hours=1), "inspector_nh")
    clock.advance(timedelta(minutes=5))
    again = {e["element_id"]: e for e in ask(api, "elements", process_key="two_lanes")
             .get_json()["items"]}
    assert again["draft"]["count"] == 4 and again["reply"]["count"] == 3


def test_every_list_exports_to_excel(api):
    history(api)
    clock.advance(timedelta(minutes=5))
    for name in ("processes", "elements", "district", "enterprise", "inspector"):
        r = ask(api, "export", list=name, process_key="two_lanes")
        assert r.status_code == 200, (name, r.get_data()[:200])
        assert r.headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml")
        sheet = load_workbook(io.BytesIO(r.get_data())).active
        rows = list(sheet.iter_rows(values_only=True))
        assert "统计期间" in rows[0][0]
        assert "中位数(小时)" in rows[1] and "退回重办" in rows[1]
        assert len(rows) > 2, name


def test_who_may_read_analytics_and_bad_periods(api):
    assert ask(api, "processes", as_user="contractor_gdjg").status_code == 403
    assert ask(api, "export", as_user="builder_fscj").status_code == 403
    r = ask(api, "processes", **{"from": "2026-12-31", "to": "2026-01-01"})
    assert r.status_code == 422
    assert ask(api, "elements").status_code == 422                  # which process?
    assert ask(api, "ranking", dim="planet").status_code == 422
    assert ask(api, "processes", **{"from": "yesterday"}).status_code == 422


def test_a_rollup_in_small_chunks_counts_the_same(api, engine, monkeypatch):
    from processes import analytics

    history(api)
    clock.advance(timedelta(minutes=5))
    monkeypatch.setattr(analytics, "CHUNK", 2)        # every chunk its own transaction
    assert analytics.rollup(engine) >= 6              # six steps were completed
    assert analytics.rollup(engine) == 0              # nothing new: nothing read again
    items = {e["element_id"]: e for e in ask(api, "elements", process_key="two_lanes")
             .get_json()["items"]}
    assert (items["draft"]["count"], items["draft"]["rework"]) == (3, 1)
    assert (items["reply"]["count"], items["reply"]["overdue"], items["reply"]["rework"]) == \
        (3, 1, 1)


def test_district_staff_read_their_own_district_only(api):
    history(api)
    clock.advance(timedelta(minutes=5))
    # Chancheng's leader: Chancheng's steps only (3 draft, 2 reply there; Nanhai had 1 + 1)
    items = {e["element_id"]: e for e in ask(api, "elements", as_user="leader_cc",
                                             process_key="two_lanes").get_json()["items"]}
    assert (items["draft"]["count"], items["reply"]["count"]) == (2, 2)
    processes = ask(api, "processes", as_user="leader_cc").get_json()["items"]
    assert [(p["process_key"], p["count"]) for p in processes] == [("two_lanes", 4)]
    districts = ask(api, "ranking", as_user="leader_cc", dim="district").get_json()["items"]
    assert [d["key"] for d in districts] == ["禅城区"]
    inspectors = ask(api, "ranking", as_user="inspector_cc", dim="inspector").get_json()["items"]
    assert [i["key"] for i in inspectors] == ["inspector_cc"]
    # another district, another district's inspector, and city-wide enterprise figures: refused
    r = ask(api, "elements", as_user="leader_cc", process_key="two_lanes", district="南海区")
    assert r.status_code == 403 and "本辖区" in r.get_json()["message"]
    assert ask(api, "elements", as_user="leader_cc", process_key="two_lanes",
               inspector="inspector_nh").status_code == 403
    r = ask(api, "ranking", as_user="leader_cc", dim="enterprise")
    assert r.status_code == 403 and "全市" in r.get_json()["message"]
    assert ask(api, "export", as_user="leader_cc", list="enterprise").status_code == 403
