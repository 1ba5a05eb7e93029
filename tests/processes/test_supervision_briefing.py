"""监督交底 (supervision briefing): plan by a team of at least two, approval by the district
bureau (or sent back), the meeting on its date, the record, and each party's confirmation with
an urge after three days of silence."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.clock import clock
from engine.timers import fire_due
from tests.processes.test_warning_talk import P1, deploy, document_kinds, finish, open_elements

FORMS = ("briefing_plan", "briefing_approve", "briefing_hold", "briefing_confirm", "briefing_urge",
         "briefing_end")
INSPECTION_FORMS = ("inspection_prepare", "inspection_record", "inspection_sign",
                    "inspection_refusal")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)            # 10:00 in Foshan
PLAN = {"plan_frequency": "weekly", "key_risks": "深基坑支护、塔吊安装、高处作业",
        "dangerous_works": "基坑开挖(6.5米); 塔式起重机安装", "inspectors": "张监督, 王监督",
        "briefing_date": "2026-12-04"}
CONFIRM = {"briefing_confirmed": True, "confirmed_by": "项目负责人 李工"}


def start(api):
    clock.freeze(NOW)
    deploy(api, bpmn=["supervision_briefing"], forms=FORMS)
    r = api.start("supervision_briefing", P1, {"project_code": P1}, as_user="inspector_cc")
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def to_meeting(api, engine, iid):
    finish(api, iid, "brief_plan", "inspector_cc", PLAN)
    finish(api, iid, "brief_approve", "leader", {"plan_approved": True, "approve_opinion": "同意"})
    assert open_elements(api, iid) == []                 # waiting for the meeting date
    clock.advance(timedelta(days=2, hours=22))           # 2026-12-04 08:00 Foshan: not yet
    assert fire_due(engine) == 0
    clock.advance(timedelta(hours=1, minutes=1))
    assert fire_due(engine) == 1
    finish(api, iid, "brief_hold", "inspector_cc", {
        "attendees": "建设、施工、监理单位项目负责人", "briefing_items": "监督内容、方式和要求",
        "sign_in_sheet": ["file-sign-in"]})


def test_happy_path_issues_plan_and_record(api, engine):
    iid = start(api)
    to_meeting(api, engine, iid)
    assert open_elements(api, iid) == ["confirm_builder", "confirm_contractor", "confirm_supervisor"]
    finish(api, iid, "confirm_builder", "builder_fscj", {**CONFIRM, "confirmed_by": "建设单位 周工"})
    finish(api, iid, "confirm_contractor", "contractor_gdjg", CONFIRM)
    finish(api, iid, "confirm_supervisor", "supervisor_hn", {**CONFIRM, "confirmed_by": "总监 陈工"})
    assert open_elements(api, iid) == ["supervising"]
    assert document_kinds(engine, iid) == ["briefing_record", "supervision_plan"]


def test_the_plan_frequency_starts_one_inspection_per_period(api, engine):
    deploy(api, bpmn=["inspection", "rectification", "warning_talk"],
           dmn=["violation_scoring", "talk_triggers"], forms=INSPECTION_FORMS)
    iid = start(api)
    to_meeting(api, engine, iid)
    finish(api, iid, "confirm_builder", "builder_fscj", CONFIRM)
    finish(api, iid, "confirm_contractor", "contractor_gdjg", CONFIRM)
    finish(api, iid, "confirm_supervisor", "supervisor_hn", CONFIRM)
    for week in (1, 2):
        clock.advance(timedelta(days=7, minutes=1))
        assert fire_due(engine) == 1
        started = api.get(f"/api/v1/instances?process_key=inspection&business_key={P1}").get_json()
        assert len(started) == week
        inbox = api.get("/api/v1/tasks?process_key=inspection", as_user="inspector_cc").get_json()
        assert len([t for t in inbox if t["element_id"] == "insp_prepare"]) == week
    assert open_elements(api, iid) == ["supervising"]     # the briefing itself does not grow
    finish(api, iid, "supervising", "inspector_cc", {"supervision_end_reason": "已申请终止监督"})
    assert api.instance(iid)["state"] == "completed"
    clock.advance(timedelta(days=8))
    assert fire_due(engine) == 0


def test_a_team_of_one_and_a_refused_plan_go_back(api, engine):
    iid = start(api)
    finish(api, iid, "brief_plan", "inspector_cc", {**PLAN, "inspectors": "张监督"})
    assert open_elements(api, iid) == ["brief_plan"]
    finish(api, iid, "brief_plan", "inspector_cc", PLAN)
    finish(api, iid, "brief_approve", "leader", {"plan_approved": False, "approve_opinion": "补充危大清单"})
    assert open_elements(api, iid) == ["brief_plan"]
    assert document_kinds(engine, iid) == []


def test_silence_for_three_days_is_urged(api, engine):
    iid = start(api)
    to_meeting(api, engine, iid)
    finish(api, iid, "confirm_supervisor", "supervisor_hn", CONFIRM)
    finish(api, iid, "confirm_builder", "builder_fscj", CONFIRM)
    clock.advance(timedelta(days=3, minutes=1))
    assert fire_due(engine) == 1
    assert open_elements(api, iid) == ["urge_contractor"]
    finish(api, iid, "urge_contractor", "inspector_cc", {"urge_note": "已电话催告项目负责人"})
    assert open_elements(api, iid) == ["confirm_contractor"]
    finish(api, iid, "confirm_contractor", "contractor_gdjg", CONFIRM)
    assert open_elements(api, iid) == ["supervising"]


def test_roles_outside_the_lanes_are_refused(api, engine):
    iid = start(api)
    assert api.start("supervision_briefing", P1, {"project_code": P1},
                     as_user="contractor_gdjg").status_code == 403
    plan = api.open_task(iid, "brief_plan")
    assert api.complete(plan["id"], PLAN, as_user="inspector_nh").status_code == 403
    finish(api, iid, "brief_plan", "inspector_cc", PLAN)
    approve = api.open_task(iid, "brief_approve")
    assert api.complete(approve["id"], {"plan_approved": True, "approve_opinion": "同意"},
                        as_user="inspector_cc").status_code == 403
    finish(api, iid, "brief_approve", "leader", {"plan_approved": True, "approve_opinion": "同意"})
    clock.advance(timedelta(days=4))
    fire_due(engine)
    finish(api, iid, "brief_hold", "inspector_cc", {"attendees": "各方", "briefing_items": "内容"})
    mine = api.open_task(iid, "confirm_supervisor")
    assert api.complete(mine["id"], CONFIRM, as_user="contractor_gdjg").status_code == 403
    bad = api.complete(api.open_task(iid, "confirm_contractor")["id"],
                       {"confirmed_by": "李工"}, as_user="contractor_gdjg")
    assert bad.status_code == 422 and "briefing_confirmed" in bad.get_json()["errors"]
