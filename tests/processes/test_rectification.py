"""整改 (rectification): notice with a deadline, contractor reply, 监理 check, inspector
re-check; send-back loops, the deadline escalation and repeated rejection into a warning talk
(decided by the talk_trigger table), the resumption notice after a stop, device alarms."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from engine.clock import clock
from engine.timers import fire_due
from tests.processes.test_warning_talk import (P1, ROOT, TALK_FORMS, deploy, document_kinds,
                                               finish, open_elements, scores, walk_talk)

RECT_FORMS = ("rectification_notice", "rectification_reply", "rectification_check",
              "rectification_review")
# 10:00 in Foshan on 2026-12-01; the deadline below ends 2026-12-04 23:59:59 +08:00
MONDAY = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
NOTICE = {"rect_location": "3号楼五层", "rect_issue": "临边防护缺失",
          "rect_clause": "JGJ 59-2011 第3.13条",
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
    # the first notice, a new one for each failed re-check, the talk's notice and record
    assert document_kinds(engine, iid) == ["rectification_notice"] * 3 + ["talk_notice",
                                                                         "talk_record"]


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
    assert "PM10" in inst["variables"]["finding"]["description"]
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


def notice_pdf(api, engine, iid, number=0, as_user="contractor_gdjg"):
    from tests.documents.helpers import pdf_text

    docs = [d for d in api.get(f"/api/v1/instances/{iid}/documents", as_user=as_user).get_json()
            if d["kind"] == "rectification_notice"]
    docs.sort(key=lambda d: d["number"])
    return docs[number]["number"], pdf_text(api.get(f"/api/v1/documents/{docs[number]['id']}",
                                                    as_user=as_user).get_data())


def test_a_blank_notice_with_a_past_deadline_is_refused_per_field(api, engine):
    iid = start(api)
    task = api.open_task(iid, "rect_notice", "inspector_cc")
    r = api.complete(task["id"], {**NOTICE, "rect_issue": "   ", "rect_requirement": " \n ",
                                  "deadline": "2026-11-28"}, as_user="inspector_cc")
    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "rect_issue": ["必填项, 不能只填空格"],
        "rect_requirement": ["必填项, 不能只填空格"],
        "deadline": ["须晚于今天, 最早 2026-12-02"]}
    today = api.complete(task["id"], {**NOTICE, "deadline": "2026-12-01"}, as_user="inspector_cc")
    assert today.status_code == 422 and list(today.get_json()["errors"]) == ["deadline"]
    # nothing was issued, nothing is overdue, nobody was scored: the task is still open
    assert open_elements(api, iid) == ["rect_notice"]
    assert document_kinds(engine, iid) == [] and scores(engine, iid) == []
    assert [w for w in api.instance(iid)["waiting"] if w["type"] == "timer"] == []


@pytest.mark.parametrize("field,value", [
    ("rect_issue", "隐" * 20_000), ("rect_issue", 42), ("rect_location", ["3号楼"]),
    ("deadline", float("nan")), ("deadline", "0001-01-01"), ("deadline", "9999-12-31"),
    ("deadline", 20261204), ("stop_work", "yes")])
def test_hostile_notice_data_is_refused_with_a_chinese_message(api, engine, field, value):
    iid = start(api)
    task = api.open_task(iid, "rect_notice", "inspector_cc")
    r = api.complete(task["id"], {**NOTICE, field: value}, as_user="inspector_cc")
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert list(errors) == [field] and "\u4e00" <= errors[field][0][0] <= "\u9fff", errors
    assert document_kinds(engine, iid) == []


def test_the_process_holds_to_the_deadline_rule_whatever_the_form(api, engine):
    """A designer's notice form without the date rule: the process still refuses a past
    deadline, in Chinese, and leaves the instance as it was."""
    import json

    iid = start(api)
    with open(os.path.join(ROOT, "forms", "rectification_notice.json"), encoding="utf-8") as fh:
        form = json.load(fh)
    for field in form["components"]:
        if field.get("key") == "deadline":
            field.pop("disallowPassedDates")
            field["validate"].pop("minDate")
    assert api.deploy(files={"rectification_notice.json": json.dumps(
        form, ensure_ascii=False).encode()}).status_code == 201
    task = api.open_task(iid, "rect_notice", "inspector_cc")
    r = api.complete(task["id"], {**NOTICE, "deadline": "2026-11-30"}, as_user="inspector_cc")
    assert r.status_code == 422
    assert r.get_json()["message"] == "整改期限 2026-11-30 须晚于今天 2026-12-01"
    assert open_elements(api, iid) == ["rect_notice"] and document_kinds(engine, iid) == []
    assert scores(engine, iid) == []


ALARM = {"alarm_id": "th:pm10:alarm:2:2026-12-01T01:30:00+00:00", "project_code": P1,
         "device_id": "DUST-CC001", "device_type": "dust", "type": "pm10", "level": "alarm",
         "value": 231.5, "threshold": 200.0, "at": "2026-12-01T01:30:00+00:00",
         "message": "PM10 连续 1 小时 ≥200 µg/m³"}
ALARM_SHOWN = {"device": "DUST-CC001 (扬尘监测)", "kind": "PM10", "level": "报警",
               "reading": "231.5 µg/m³", "limit": "200 µg/m³", "time": "2026-12-01 09:30"}


def test_the_inspector_sees_the_alarm_on_the_task_and_in_the_notice(api, engine):
    clock.freeze(MONDAY)
    deploy_rectification(api)
    r = api.message("rectification_alarm", {"project_code": P1}, ALARM)
    [iid] = r.get_json()["started"]
    task = api.open_task(iid, "rect_notice", "inspector_cc")
    detail = api.get(f"/api/v1/tasks/{task['id']}", as_user="inspector_cc").get_json()
    shown = detail["data"]["source_alarm"]
    assert {k: shown[k] for k in ALARM_SHOWN} == ALARM_SHOWN
    group = next(c for c in detail["form"]["components"] if c.get("path") == "source_alarm")
    assert all(c["readonly"] for c in group["components"])           # shown, not editable
    assert {c["key"] for c in group["components"]} == set(ALARM_SHOWN)
    assert detail["data"]["rect_location"] == "DUST-CC001 (扬尘监测)"   # prefilled
    # the inspector's submission cannot change what the device reported
    finish(api, iid, "rect_notice", "inspector_cc",
           {**NOTICE, "source_alarm": {"reading": "1 µg/m³"}})
    assert api.instance(iid)["variables"]["source_alarm"]["reading"] == "231.5 µg/m³"
    _, text = notice_pdf(api, engine, iid)
    for label, value in (("监测设备", "DUST-CC001(扬尘监测)"), ("报警类型", "PM10"),
                         ("监测值", "231.5µg/m³"), ("限值", "200µg/m³"),
                         ("报警时间", "2026-12-0109:30")):
        assert label + value in text, (label, value)


def test_a_notice_started_by_hand_shows_no_alarm(api, engine):
    iid = start(api)
    task = api.open_task(iid, "rect_notice", "inspector_cc")
    detail = api.get(f"/api/v1/tasks/{task['id']}", as_user="inspector_cc").get_json()
    assert "source_alarm" not in detail["data"]
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    _, text = notice_pdf(api, engine, iid)
    assert "在线监测报警" not in text and "3号楼五层临边防护缺失JGJ59-2011第3.13条" in text


def test_a_new_deadline_after_a_failed_recheck_issues_a_new_numbered_notice(api, engine):
    iid = start(api)
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    reply_and_check(api, iid)
    review_task = api.open_task(iid, "rect_review", "inspector_cc")
    past = api.complete(review_task["id"], {"accepted": False, "review_comment": "安全网未挂设",
                                            "deadline": "2026-11-30"}, as_user="inspector_cc")
    assert past.status_code == 422 and "deadline" in past.get_json()["errors"]
    review(api, iid, False, deadline="2026-12-08")
    assert open_elements(api, iid) == ["rect_reply"]
    assert document_kinds(engine, iid) == ["rectification_notice"] * 2
    first, _ = notice_pdf(api, engine, iid, 0)
    second, text = notice_pdf(api, engine, iid, 1)
    assert second != first and second.startswith("ZGTZ-2026-")
    assert f"对第{first}号整改通知书所列问题的整改" in text and "复查不合格" in text
    assert "经本站复查不合格（复查意见：不合格）" in text            # review() writes 不合格
    assert "二〇二六年十二月八日前" in text and "二〇二六年十二月四日" not in text
    assert api.instance(iid)["variables"]["renotice"]["number"] == second
