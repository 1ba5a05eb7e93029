"""起重机械备案 (crane filing), one instance per crane on site: the 3-day filing rule, property
and entry filing, the black box gate ("no data, no entry"), the erection notice checked by 监理,
erection and self-check, inspection with re-tests, acceptance, use registration by the inspector,
monthly maintenance while in service, black-box alarms into a rectification (with suspension of
use for 报警/危险), and the dismantling notice that ends the crane's life on site."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from engine.clock import clock
from engine.schema import instances
from engine.timers import fire_due
from processes.schema import cranes, devices
from tests.processes.test_rectification import CHECK_OK, MONDAY, NOTICE, RECT_FORMS, REPLY
from tests.processes.test_warning_talk import (P1, TALK_FORMS, deploy, document_kinds, finish,
                                               open_elements)

CRANE = "QZ-CC001-01"
CRANE_FORMS = ("crane_property_filing", "crane_entry_filing", "crane_black_box_connect",
               "crane_install_notice", "crane_install_review", "crane_install_selfcheck",
               "crane_inspection", "crane_acceptance", "crane_registration_apply",
               "crane_registration_review", "crane_maintenance_record", "crane_dismantle_notice")
OWNER = CONTRACTOR = "contractor_gdjg"      # 产权单位/使用单位 sign in with the contractor role
PROPERTY = {"owner_name": "广东建工集团有限公司", "crane_model": "QTZ125(TC6015)",
            "factory_number": "TC6015-2024-0188", "manufacture_date": "2024-03-15",
            "filing_documents": ["file-licence", "file-certificate", "file-invoice"]}
ENTRY = {"user_unit": "广东建工集团有限公司", "black_box_id": f"BOX-{CRANE}",
         "install_position": "1#楼北侧"}
INSTALL = {"install_unit": "佛山市安装工程有限公司", "install_date": "2026-12-10",
           "install_documents": ["file-plan", "file-qualification"]}


def deploy_crane(api):
    deploy(api, bpmn=["warning_talk", "rectification", "crane_filing"],
           dmn=["talk_triggers", "alarm_routing"],
           forms=CRANE_FORMS + RECT_FORMS + TALK_FORMS)


def entry_date(days: int) -> str:
    return (clock.now().astimezone().date() + timedelta(days=days)).isoformat()


def start(api, engine, days_ahead=5, as_user=OWNER, box_silent=False):
    clock.freeze(MONDAY)
    black_box_seen(engine, clock.now() - timedelta(hours=2) if box_silent else clock.now())
    deploy_crane(api)
    return api.start("crane_filing", P1, {"project_code": P1, "crane_id": CRANE,
                                          "planned_entry_date": entry_date(days_ahead)},
                     as_user=as_user)


def started(api, engine, **kw):
    r = start(api, engine, **kw)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def crane_state(engine):
    with engine.db.read() as conn:
        return conn.execute(select(cranes.c.state).where(cranes.c.id == CRANE)).scalar_one()


def black_box_seen(engine, at):
    with engine.db.write() as conn:
        conn.execute(update(devices).where(devices.c.crane_id == CRANE).values(last_seen_at=at))


def file_and_enter(api, iid):
    finish(api, iid, "property_filing", OWNER, PROPERTY)
    finish(api, iid, "entry_filing", CONTRACTOR, ENTRY)


def erect(api, iid, inspection_results=(True,)):
    finish(api, iid, "install_notice", CONTRACTOR, INSTALL)
    finish(api, iid, "install_review", "supervisor_hn",
           {"install_approved": True, "install_opinion": "资料齐全"})
    for passed in inspection_results:
        finish(api, iid, "install_selfcheck", CONTRACTOR, {
            "installed_on": "2026-12-12", "selfcheck_result": "调试运转正常",
            "selfcheck_certificate": ["file-selfcheck"]})
        finish(api, iid, "inspection", CONTRACTOR, {
            "inspection_body": "佛山市特种设备检测所", "inspection_passed": passed,
            "inspection_report": ["file-inspection"]})
    finish(api, iid, "acceptance", CONTRACTOR, {
        "accepted_on": "2026-12-15", "acceptance_parties": "使用、出租、安装、监理单位",
        "acceptance_record": ["file-acceptance"]})


def register(api, iid):
    finish(api, iid, "registration_apply", CONTRACTOR, {
        "operators": "李四 T440600001", "registration_documents": ["file-registration"]})
    finish(api, iid, "registration_review", "inspector_cc",
           {"registration_approved": True, "registration_opinion": "准予登记"})


def into_service(api, iid):
    file_and_enter(api, iid)
    erect(api, iid)
    register(api, iid)


def dismantle(api, iid):
    finish(api, iid, "dismantle_notice", CONTRACTOR, {
        "dismantle_unit": "佛山市安装工程有限公司", "dismantle_date": "2027-06-01"})


def test_whole_life_from_filing_to_dismantling(api, engine):
    iid = started(api, engine)
    assert open_elements(api, iid) == ["property_filing"]
    into_service(api, iid)
    assert open_elements(api, iid) == ["dismantle_notice"]
    assert crane_state(engine) == "in_service"
    inst = api.instance(iid)
    assert inst["variables"]["black_box"]["online"] is True
    assert inst["variables"]["registration"]["number"].startswith("QZDJ-")
    assert inst["variables"]["install_receipt"]["number"].startswith("QZAZ-")
    dismantle(api, iid)
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end" in inst["completed_elements"]
    assert crane_state(engine) == "dismantled"
    assert document_kinds(engine, iid) == ["crane_install_receipt", "crane_registration"]


def test_filing_two_days_before_entry_is_refused_and_nothing_starts(api, engine):
    r = start(api, engine, days_ahead=2)
    assert r.status_code == 422
    # the start form says so on the field (2026-12-01 in Foshan: the 4th is the earliest)
    assert r.get_json()["errors"] == {
        "planned_entry_date": ["不能早于 2026-12-04"]}
    with engine.db.read() as conn:
        assert conn.execute(select(instances.c.id).where(
            instances.c.process_key == "crane_filing")).all() == []
    assert crane_state(engine) != "in_service"
    assert started(api, engine, days_ahead=3)                # three days ahead is in time


def test_silent_black_box_blocks_entry_until_it_reports(api, engine):
    iid = started(api, engine, box_silent=True)
    file_and_enter(api, iid)
    assert open_elements(api, iid) == ["connect_box"]
    box = api.instance(iid)["variables"]["black_box"]
    assert box["online"] is False and "黑匣子" in box["reason"]
    note = {"connect_note": "已更换通信模块, 重新上电"}
    finish(api, iid, "connect_box", CONTRACTOR, note)
    assert open_elements(api, iid) == ["connect_box"]          # still silent: no entry
    black_box_seen(engine, clock.now())                         # the box reports
    finish(api, iid, "connect_box", CONTRACTOR, note)
    assert open_elements(api, iid) == ["install_notice"]
    assert api.instance(iid)["variables"]["black_box"]["online"] is True


def test_send_backs_for_notice_inspection_and_registration(api, engine):
    iid = started(api, engine)
    file_and_enter(api, iid)
    finish(api, iid, "install_notice", CONTRACTOR, INSTALL)
    finish(api, iid, "install_review", "supervisor_hn",
           {"install_approved": False, "install_opinion": "缺少特种作业人员证书"})
    assert open_elements(api, iid) == ["install_notice"]
    assert document_kinds(engine, iid) == []
    erect(api, iid, inspection_results=(False, False, True))    # fix and re-test twice
    history = api.get(f"/api/v1/instances/{iid}/history").get_json()
    tested = [e for e in history if e["kind"] == "task.completed"
              and e["details"]["element_id"] == "inspection"]
    assert len(tested) == 3
    finish(api, iid, "registration_apply", CONTRACTOR, {
        "operators": "李四", "registration_documents": ["file-registration"]})
    finish(api, iid, "registration_review", "inspector_cc",
           {"registration_approved": False, "registration_opinion": "缺少维保制度"})
    assert open_elements(api, iid) == ["registration_apply"]
    assert crane_state(engine) != "in_service"
    register(api, iid)
    assert crane_state(engine) == "in_service"
    assert document_kinds(engine, iid) == ["crane_install_receipt", "crane_registration"]


def test_monthly_maintenance_record_while_in_service(api, engine):
    """Each month's record is a branch that ends (a cycle timer that does not interrupt), not a
    loop: the instance does not deepen month after month."""
    iid = started(api, engine)
    into_service(api, iid)
    for month in (1, 2, 3):
        clock.advance(timedelta(days=29))
        assert fire_due(engine) == 0
        clock.advance(timedelta(days=1, minutes=1))
        assert fire_due(engine) == 1
        assert open_elements(api, iid) == ["dismantle_notice", "maintenance_record"]
        finish(api, iid, "maintenance_record", CONTRACTOR, {
            "maintained_on": clock.now().date().isoformat(), "maintenance_items": f"第{month}月例行维保"})
        assert open_elements(api, iid) == ["dismantle_notice"]
    dismantle(api, iid)
    assert api.instance(iid)["state"] == "completed"
    assert crane_state(engine) == "dismantled"


def alarm(api, level, crane=CRANE):
    payload = {"crane_id": crane, "project_code": P1, "level": level, "metric": "力矩",
               "value": 104.0}
    r = api.message("crane_alarm", {"crane_id": crane, "project_code": P1}, payload)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def rectify(api, iid, stop_work=False):
    finish(api, iid, "rect_notice", "inspector_cc", {**NOTICE, "stop_work": stop_work})
    finish(api, iid, "rect_reply", CONTRACTOR, REPLY)
    finish(api, iid, "rect_check", "supervisor_hn", CHECK_OK)
    finish(api, iid, "rect_review", "inspector_cc", {"accepted": True, "review_comment": "合格"})


def test_alarm_suspends_use_until_the_rectification_closes(api, engine):
    iid = started(api, engine)
    into_service(api, iid)
    assert alarm(api, "alarm", crane="QZ-NH002-01")["correlated"] == []   # another crane
    assert alarm(api, "alarm")["correlated"] == [iid]
    assert crane_state(engine) == "suspended"
    assert open_elements(api, iid) == ["rect_notice"]
    assert api.instance(iid)["variables"]["alarm"]["level"] == "alarm"
    rectify(api, iid, stop_work=True)
    assert crane_state(engine) == "in_service"
    assert open_elements(api, iid) == ["dismantle_notice"]
    assert document_kinds(engine, iid) == ["crane_install_receipt", "crane_registration",
                                           "rectification_notice", "resume_notice"]
    dismantle(api, iid)
    assert crane_state(engine) == "dismantled"


def test_early_warning_opens_a_rectification_without_suspension(api, engine):
    iid = started(api, engine)
    into_service(api, iid)
    assert alarm(api, "warning")["correlated"] == [iid]
    assert crane_state(engine) == "in_service"
    assert open_elements(api, iid) == ["rect_notice"]
    rectify(api, iid)
    assert open_elements(api, iid) == ["dismantle_notice"]
    assert crane_state(engine) == "in_service"


def test_roles_outside_the_lanes_are_refused(api, engine):
    assert start(api, engine, as_user="supervisor_hn").status_code == 403
    assert start(api, engine, as_user="inspector_cc").status_code == 403
    iid = started(api, engine)
    task = api.open_task(iid, "property_filing")
    assert api.complete(task["id"], PROPERTY, as_user="inspector_cc").status_code == 403
    file_and_enter(api, iid)
    erect(api, iid)
    finish(api, iid, "registration_apply", CONTRACTOR, {
        "operators": "李四", "registration_documents": ["file-registration"]})
    review = api.open_task(iid, "registration_review")
    # the contractor applies; only the inspector registers the crane
    assert api.complete(review["id"], {"registration_approved": True, "registration_opinion": "x"},
                        as_user=CONTRACTOR).status_code == 403
