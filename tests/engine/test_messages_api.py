"""Messages: boundary (both kinds), catch events, receive tasks, start events, duplicates,
buffering, and empty correlation values that never match."""
from __future__ import annotations

from datetime import timedelta

from engine.clock import clock

P1, P2 = "FS-CC-2026-001", "FS-CC-2026-002"


def start_notice(api, project, notice_no="N-1", reminder_count=0):
    assert api.deploy("messages.bpmn").status_code in (200, 201)
    r = api.start("notice", project or None, {"project_code": project, "notice_no": notice_no,
                                      "reminder_count": reminder_count})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def elements(api, iid):
    return sorted(t["element_id"] for t in api.instance(iid)["tasks"])


def test_waiting_subscriptions_are_listed_with_their_correlation(api):
    iid = start_notice(api, P1)
    waiting = {w["name"]: w for w in api.instance(iid)["waiting"] if w["type"] == "message"}
    assert set(waiting) == {"withdraw", "remind"}
    assert waiting["withdraw"]["correlation"] == {"project_code": P1}


def test_interrupting_boundary_reaches_only_the_matching_instance(api):
    a, b = start_notice(api, P1), start_notice(api, P2)
    r = api.message("withdraw", {"project_code": P1}, {"reason": "撤回"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["correlated"] == [a] and r.get_json()["started"] == []
    assert api.instance(a)["state"] == "completed"
    assert api.instance(b)["state"] == "running" and elements(api, b) == ["reply"]


def test_non_interrupting_boundary_keeps_the_task_open_and_fires_again(api):
    iid = start_notice(api, P1)
    for n in (1, 2):
        r = api.message("remind", {"project_code": P1}, {"text": f"第{n}次提醒"})
        assert r.get_json()["correlated"] == [iid]
        assert elements(api, iid) == ["reply"]
        waiting = {w["element_id"] for w in api.instance(iid)["waiting"]}
        assert waiting == {"withdrawn", "reminded"}      # armed again for the next reminder
    history = api.get(f"/api/v1/instances/{iid}/history").get_json()
    reached = [e["details"]["element_id"] for e in history if e["kind"] == "message.correlated"]
    assert reached == ["reminded", "reminded"]
    # The reply still works and then the instance waits for the confirmation.
    api.complete(api.open_task(iid, "reply")["id"])
    assert [w["element_id"] for w in api.instance(iid)["waiting"]] == ["confirmed"]


def test_catch_event_needs_every_property_then_receive_task(api):
    iid = start_notice(api, P1, notice_no="ZG-2026-007")
    api.complete(api.open_task(iid, "reply")["id"])
    # Only one of the two correlation properties, or a wrong one: no match, buffered.
    partial = api.message("confirm", {"project_code": P1}, {"ok": 1}).get_json()
    assert partial["correlated"] == [] and partial["buffered"] is True
    wrong = api.message("confirm", {"project_code": P1, "notice_no": "ZG-2026-008"}).get_json()
    assert wrong["correlated"] == []
    right = api.message("confirm", {"project_code": P1, "notice_no": "ZG-2026-007"},
                        {"by": "监理"}).get_json()
    assert right["correlated"] == [iid]
    assert api.instance(iid)["variables"]["confirmation"] == {"by": "监理"}
    assert api.message("archive", {"project_code": P1}).get_json()["correlated"] == [iid]
    assert api.instance(iid)["state"] == "completed"


def test_empty_or_missing_value_never_matches(api):
    start_notice(api, P1)
    blank = start_notice(api, "")  # an instance whose own value is empty
    assert blank
    for corr in ({"project_code": ""}, {}, {"project_code": None}):
        body = api.message("withdraw", corr).get_json()
        assert body["correlated"] == [], corr


def test_message_start_event_starts_a_process(api):
    assert api.deploy("message_start.bpmn").status_code == 201
    r = api.message("alarm", {}, {"device": "DUST-01", "pm10": 210}, message_id="A-1")
    body = r.get_json()
    assert len(body["started"]) == 1 and body["correlated"] == []
    inst = api.instance(body["started"][0])
    assert inst["process_key"] == "alarm_case"
    assert inst["variables"]["alarm"] == {"device": "DUST-01", "pm10": 210}
    assert [t["element_id"] for t in inst["tasks"]] == ["handle"]


def test_same_message_id_has_one_effect(api):
    iid = start_notice(api, P1)
    first = api.message("remind", {"project_code": P1}, {"n": 1}, message_id="M-42").get_json()
    again = api.message("remind", {"project_code": P1}, {"n": 1}, message_id="M-42").get_json()
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["correlated"] == [iid]
    assert api.instance(iid)["variables"]["reminder_count"] == 1
    assert api.deploy("message_start.bpmn").status_code == 201
    s1 = api.message("alarm", {}, {"x": 1}, message_id="A-7").get_json()
    s2 = api.message("alarm", {}, {"x": 1}, message_id="A-7").get_json()
    assert s2["duplicate"] and s1["started"] == s2["started"]
    listed = api.get("/api/v1/instances?process_key=alarm_case").get_json()
    assert len(listed) == 1


def test_buffered_message_is_listed_then_delivered_when_a_subscription_opens(api):
    early = api.message("withdraw", {"project_code": P1}, {"reason": "提前撤回"},
                        message_id="W-1").get_json()
    assert early["buffered"] is True and early["correlated"] == []
    listed = api.get("/api/v1/messages?status=buffered").get_json()
    assert [m["message_id"] for m in listed] == ["W-1"]
    iid = start_notice(api, P1)
    assert api.instance(iid)["state"] == "completed"
    assert api.get("/api/v1/messages?status=buffered").get_json() == []


def test_buffered_message_expires(api):
    api.message("withdraw", {"project_code": P1}, message_id="W-2")
    clock.advance(timedelta(hours=2))   # default time to live: one hour
    iid = start_notice(api, P1)
    assert api.instance(iid)["state"] == "running"


def test_messages_need_the_gateway_or_admin_role(api):
    r = api.message("withdraw", {"project_code": P1}, as_user="contractor_gdjg")
    assert r.status_code == 403
    r = api.post("/api/v1/messages", as_user="gateway", json={"name": "x", "correlation": "P1"})
    assert r.status_code == 422 and "correlation" in r.get_json()["errors"]


def test_a_process_with_a_none_start_and_a_message_start_starts_either_way(api):
    assert api.deploy("two_starts.bpmn").status_code == 201
    by_hand = api.start("two_starts", P1, {"project_code": P1}).get_json()
    assert [t["element_id"] for t in api.instance(by_hand["id"])["tasks"]] == ["handle"]
    body = api.message("alarm", {"project_code": P1}, {"pm10": 230}).get_json()
    assert len(body["started"]) == 1
    inst = api.instance(body["started"][0])
    assert inst["variables"]["alarm"] == {"pm10": 230}
    assert [t["element_id"] for t in inst["tasks"]] == ["handle"]
    history = api.get(f"/api/v1/instances/{inst['id']}/history").get_json()
    assert history[0]["details"]["message"] == "alarm"
