"""整改 (rectification): notice with a deadline, contractor reply, 监理 check, inspector
re-check; send-back loops, the deadline escalation and repeated rejection into a warning talk
(decided by the talk_trigger table), the resumption notice after a stop, device alarms."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.clock import clock
from engine.timers import fire_due
from tests.processes.test_warning_talk import (P1, TALK_FORMS, deploy, document_kinds, finish,
                                               open_elements, scores, walk_talk)

RECT_FORMS = ("rectification_notice", "rectification_reply", "rectification_check",
              "rectification_review")
# 10:00 in Foshan on 2026-12-01; the deadline below ends 2026-12-04 23:59:59 +08:00
MONDAY = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
NOTICE = {"rect_issue": "3号楼五层临边防护缺失 (JGJ 59-2011 第3.13条)",
          "rect_requirement": "立即设置防护栏杆并挂设安全网", "deadline": "2026-12-04",
          "stop_work": False}
REPLY = {"rect_measures": "已设置1.2米防护栏杆并挂网", "rect_responsible": "张三",
         "rect_completed_on": "2026-12-03", "rect_evidence": ["file-001", "file-002"]}
CHECK_OK = {"supervisor_passed": True, "supervisor_opinion": "已整改到位", "supervisor_signer": "王总监"}


def deploy_rectification(api):
    deploy(api, bpmn=["warning_talk", "rectification"], dmn=["talk_triggers"],
           forms=RECT_FORMS + TALK_FORMS)


def start(api, as_user="inspector_cc"):
    clock.freeze(MONDAY)
    deploy_rectification(api)
    r = api.start("rectification", P1, {"project_code": P1}, as_user=as_user)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def reply_and_check(api, iid):
    finish(api, iid, "rect_reply", "contractor_gdjg", REPLY)
    finish(api, iid, "rect_check", "supervisor_hn", CHECK_OK)


def review(api, iid, accepted, **extra):
    finish(api, iid, "rect_review", "inspector_cc",
           {"accepted": accepted, "review_comment": "合格" if accepted else "不合格", **extra})


def test_happy_path_notice_reply_check_accept(api, engine):
    iid = start(api)
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    task = api.open_task(iid, "rect_reply", "contractor_gdjg")
    assert task["due_at"].startswith("2026-12-04T15:59:59")       # 23:59:59 Foshan time
    reply_and_check(api, iid)
    review(api, iid, True)
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end_closed" in inst["completed_elements"]
    assert inst["variables"]["rejections"] == 0
    assert document_kinds(engine, iid) == ["rectification_notice"]     # no stop, no resumption
    assert inst["variables"]["notice"]["number"].startswith("ZGTZ-2026-")


def test_stop_work_closes_with_a_resumption_notice(api, engine):
    iid = start(api)
    finish(api, iid, "rect_notice", "inspector_cc", {**NOTICE, "stop_work": True})
    reply_and_check(api, iid)
    review(api, iid, True)
    assert api.instance(iid)["state"] == "completed"
    assert document_kinds(engine, iid) == ["rectification_notice", "resume_notice"]


def test_supervisor_sends_the_reply_back(api):
    iid = start(api)
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    finish(api, iid, "rect_reply", "contractor_gdjg", REPLY)
    finish(api, iid, "rect_check", "supervisor_hn", {**CHECK_OK, "supervisor_passed": False,
                                                      "supervisor_opinion": "安全网未挂设"})
    assert open_elements(api, iid) == ["rect_reply"]
    reply_and_check(api, iid)
    assert open_elements(api, iid) == ["rect_review"]


def test_one_rejection_loops_back_the_second_starts_a_warning_talk(api, engine):
    iid = start(api)
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    reply_and_check(api, iid)
    review(api, iid, False, deadline="2026-12-08")
    inst = api.instance(iid)
    assert inst["variables"]["rejections"] == 1 and inst["variables"]["talk"] is False
    assert open_elements(api, iid) == ["rect_reply"]             # back to the contractor
    assert api.open_task(iid, "rect_reply")["due_at"].startswith("2026-12-08T15:59:59")
    reply_and_check(api, iid)
    review(api, iid, False, deadline="2026-12-15")
    inst = api.instance(iid)
    assert inst["variables"]["rejections"] == 2 and inst["variables"]["talk"] is True
    assert open_elements(api, iid) == ["talk_propose"]           # 警示约谈 runs inside
    walk_talk(api, iid)
    clock.advance(timedelta(days=7, minutes=1))
    assert fire_due(engine) == 1
    finish(api, iid, "talk_followup", "inspector_cc",
           {"talk_resolved": True, "talk_followup_note": "已落实"})
    assert open_elements(api, iid) == ["rect_reply"]             # the rectification goes on
    reply_and_check(api, iid)
    review(api, iid, True)
    assert api.instance(iid)["state"] == "completed"
    assert document_kinds(engine, iid) == ["rectification_notice", "talk_notice", "talk_record"]


def test_reminder_then_overdue_scores_and_escalates_to_a_talk(api, engine):
    iid = start(api)
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    timers = {w["element_id"] for w in api.instance(iid)["waiting"] if w["type"] == "timer"}
    assert timers == {"overdue", "reminder"}
    clock.advance(timedelta(days=1, hours=23, minutes=1))        # 2026-12-03 09:01 Foshan
    assert fire_due(engine) == 1
    inst = api.instance(iid)
    assert inst["variables"]["reminded"] is True and open_elements(api, iid) == ["rect_reply"]
    clock.advance(timedelta(days=1, hours=15))                   # past 12-04 23:59:59 +08:00
    assert fire_due(engine) == 1
    inst = api.instance(iid)
    assert inst["variables"]["overdue_count"] == 1 and inst["variables"]["talk"] is True
    assert open_elements(api, iid) == ["talk_propose"]
    assert scores(engine, iid) == [("整改逾期未回复", 2, "91440600CON001")]
    walk_talk(api, iid, approve=False)                          # the bureau declines the talk
    # back to the inspector for a new notice with a new deadline
    assert open_elements(api, iid) == ["rect_notice"]
    finish(api, iid, "rect_notice", "inspector_cc", {**NOTICE, "deadline": "2026-12-12"})
    reply_and_check(api, iid)
    review(api, iid, True)
    assert api.instance(iid)["state"] == "completed"
    assert document_kinds(engine, iid) == ["rectification_notice", "rectification_notice"]


def test_roles_outside_the_lanes_are_refused(api):
    clock.freeze(MONDAY)
    deploy_rectification(api)
    refused = api.start("rectification", P1, {"project_code": P1}, as_user="contractor_gdjg")
    assert refused.status_code == 403
    iid = start(api)
    notice = api.open_task(iid, "rect_notice")
    assert api.complete(notice["id"], NOTICE, as_user="supervisor_hn").status_code == 403
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    reply = api.open_task(iid, "rect_reply")
    assert api.complete(reply["id"], REPLY, as_user="inspector_cc").status_code == 403
    # a reply without its evidence is refused by the form
    r = api.complete(reply["id"], {**REPLY, "rect_evidence": None}, as_user="contractor_gdjg")
    assert r.status_code == 422


def test_device_alarm_starts_a_rectification_in_the_project_district(api, engine):
    clock.freeze(MONDAY)
    deploy_rectification(api)
    r = api.message("rectification_alarm", {"project_code": P1},
                    {"project_code": P1, "device_id": "DUST-CC001", "type": "pm10", "value": 230})
    assert r.status_code == 200, r.get_json()
    started = r.get_json()["started"]
    assert len(started) == 1
    iid = started[0]
    inbox = api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
    assert [t["element_id"] for t in inbox if t["instance_id"] == iid] == ["rect_notice"]
    other = api.get("/api/v1/tasks", as_user="inspector_nh").get_json()   # 南海区: not theirs
    assert all(t["instance_id"] != iid for t in other)
    refused = api.get(f"/api/v1/instances/{iid}", as_user="inspector_nh")
    assert refused.status_code == 403 and "无权" in refused.get_json()["message"]
    inst = api.instance(iid, "inspector_cc")
    assert inst["variables"]["alarm"]["device_id"] == "DUST-CC001"
    assert "pm10" in inst["variables"]["finding"]["description"]
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    reply_and_check(api, iid)
    review(api, iid, True)
    assert api.instance(iid)["state"] == "completed"


def test_an_enterprise_with_six_points_is_summoned_at_the_first_rejection(api, engine):
    from sqlalchemy import insert

    from processes.schema import score_events
    with engine.db.write() as conn:      # points from earlier inspections of the same contractor
        conn.execute(insert(score_events).values(
            enterprise_code="91440600CON001", project_code="FS-NH-2026-003", item="未按方案施工",
            points=6, at=MONDAY))
    iid = start(api)
    assert api.instance(iid)["variables"]["points_total"] == 6
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    reply_and_check(api, iid)
    review(api, iid, False)
    assert open_elements(api, iid) == ["talk_propose"]
