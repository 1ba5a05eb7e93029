"""警示约谈 (warning talk): proposal, approval by the district bureau, notice, attendance,
the talk and its record, commitments, the follow-up check after a timer, close or penalty."""
from __future__ import annotations

import os
from datetime import timedelta, timezone

from sqlalchemy import select

from engine.clock import clock
from engine.timers import fire_due
from processes.schema import documents, score_events

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
P1 = "FS-CC-2026-001"
FOSHAN = timezone(timedelta(hours=8))
TALK_FORMS = ("talk_propose", "talk_approve", "talk_schedule", "talk_confirm", "talk_hold",
              "talk_commit", "talk_followup")


def deploy(api, bpmn=(), dmn=(), forms=()):
    """The named diagrams, tables and forms; each diagram's start form comes along."""
    files = {}
    forms = tuple(forms) + tuple(f"{name}_start" for name in bpmn
                                 if os.path.exists(os.path.join(ROOT, "forms", f"{name}_start.json")))
    for folder, names, ext in (("bpmn", bpmn, "bpmn"), ("bpmn", dmn, "dmn"),
                               ("forms", forms, "json")):
        for name in names:
            with open(os.path.join(ROOT, folder, f"{name}.{ext}"), "rb") as fh:
                files[f"{name}.{ext}"] = fh.read()
    r = api.deploy(files=files)
    assert r.status_code in (200, 201), r.get_json()


def open_elements(api, iid, as_user="admin"):
    return sorted(t["element_id"] for t in api.instance(iid, as_user)["tasks"])


def finish(api, iid, element, user, data=None):
    r = api.complete(api.open_task(iid, element, user)["id"], data, as_user=user)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def document_kinds(engine, iid):
    with engine.db.read() as conn:
        return sorted(r.kind for r in conn.execute(
            select(documents.c.kind).where(documents.c.instance_id == iid)))


def scores(engine, iid):
    with engine.db.read() as conn:
        return [(r.item, r.points, r.enterprise_code) for r in conn.execute(
            select(score_events).where(score_events.c.instance_id == iid)
            .order_by(score_events.c.id))]


def foshan_day(days: int = 0) -> str:
    """A date `days` from today in Foshan on the engine's clock (forms refuse past dates)."""
    return (clock.now().astimezone(FOSHAN).date() + timedelta(days=days)).isoformat()


def walk_talk(api, iid, approve=True):
    """From the proposal to the follow-up timer (or the refusal), as the real roles."""
    finish(api, iid, "talk_propose", "inspector_cc", {
        "talk_reason": "整改复查不合格", "talk_evidence": "两次复查不合格, 见整改回复单",
        "talk_summoned": "项目负责人 张三"})
    finish(api, iid, "talk_approve", "leader", {"talk_approved": approve,
                                                "talk_approval_comment": "同意" if approve else "暂缓"})
    if not approve:
        return
    finish(api, iid, "talk_schedule", "inspector_cc", {
        "talk_date": foshan_day(0), "talk_place": "禅城区住建局三楼会议室", "talk_bring": "整改报告"})
    finish(api, iid, "talk_confirm", "contractor_gdjg", {
        "talk_attendance_confirmed": True, "talk_attendees": "张三 项目负责人; 李四 安全员"})
    finish(api, iid, "talk_hold", "inspector_cc", {
        "talk_attendance": "张三, 李四, 监理总监王五", "talk_issues": "临边防护缺失",
        "talk_requirements": "三日内完成整改", "follow_up_period": "P7D"})
    finish(api, iid, "talk_commit", "contractor_gdjg", {
        "talk_commitments": "立即整改并加强巡查", "talk_commitment_deadline": foshan_day(3)})


def start_talk(api, as_user="inspector_cc"):
    deploy(api, bpmn=["warning_talk"], forms=TALK_FORMS)
    return api.start("warning_talk", P1, {"project_code": P1}, as_user=as_user)


def test_talk_closes_after_the_follow_up_check(api, engine):
    r = start_talk(api)
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    walk_talk(api, iid)
    assert open_elements(api, iid) == []
    timer = [w for w in api.instance(iid)["waiting"] if w["type"] == "timer"]
    assert [w["element_id"] for w in timer] == ["follow_up_wait"]
    clock.advance(timedelta(days=6))
    assert fire_due(engine) == 0                       # not before the chosen period
    clock.advance(timedelta(days=1, minutes=1))
    assert fire_due(engine) == 1
    finish(api, iid, "talk_followup", "inspector_cc",
           {"talk_resolved": True, "talk_followup_note": "承诺已落实"})
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end_closed" in inst["completed_elements"]
    assert document_kinds(engine, iid) == ["talk_notice", "talk_record"]
    assert inst["variables"]["talk_notice"]["number"].startswith("YTTZ-")
    assert scores(engine, iid) == []


def test_unresolved_commitment_becomes_a_credit_penalty(api, engine):
    iid = start_talk(api).get_json()["id"]
    walk_talk(api, iid)
    clock.advance(timedelta(days=8))
    assert fire_due(engine) == 1
    finish(api, iid, "talk_followup", "inspector_cc",
           {"talk_resolved": False, "talk_followup_note": "仍未整改"})
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end_penalty" in inst["completed_elements"]
    assert scores(engine, iid) == [("警示约谈后整改承诺未落实", 6, "91440600CON001")]
    assert inst["variables"]["talk_penalty"]["points"] == 6


def test_bureau_may_refuse_the_talk(api, engine):
    iid = start_talk(api).get_json()["id"]
    walk_talk(api, iid, approve=False)
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end_not_approved" in inst["completed_elements"]
    assert document_kinds(engine, iid) == []


def test_roles_outside_the_lanes_are_refused(api):
    assert start_talk(api, as_user="contractor_gdjg").status_code == 403
    iid = start_talk(api).get_json()["id"]
    task = api.open_task(iid, "talk_propose")
    data = {"talk_reason": "其他", "talk_evidence": "x", "talk_summoned": "y"}
    assert api.complete(task["id"], data, as_user="contractor_gdjg").status_code == 403
    finish(api, iid, "talk_propose", "inspector_cc", data)
    approve = api.open_task(iid, "talk_approve")
    # the inspector proposes; only the district bureau approves
    assert api.complete(approve["id"], {"talk_approved": True},
                        as_user="inspector_cc").status_code == 403
