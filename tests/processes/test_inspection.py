"""监督检查 (inspection): preparation, on-site findings, the signed (or refused) record, one
score and one rectification per finding, and for a serious finding the partial stop-work order
and a warning talk."""
from __future__ import annotations

from sqlalchemy import select

from engine.clock import clock
from processes.schema import enterprises
from tests.processes.test_rectification import (CHECK_OK, MONDAY, NOTICE, RECT_FORMS, REPLY)
from tests.processes.test_warning_talk import (P1, TALK_FORMS, deploy, document_kinds, finish,
                                               open_elements, scores, walk_talk)

INSPECTION_FORMS = ("inspection_prepare", "inspection_record", "inspection_sign",
                    "inspection_refusal")
PREPARE = {"inspection_type": "日常监督检查", "inspection_date": "2026-12-01",
           "inspectors": "李监督 (执法证 44060001), 陈监督 (执法证 44060002)",
           "checklist": "深基坑支护、塔吊QZ-CC001-01、临边防护"}


def finding(description, severity, location="3号楼"):
    return {"description": description, "location": location, "severity": severity,
            "rule": "JGJ 59-2011"}


def start(api, as_user="inspector_cc"):
    clock.freeze(MONDAY)
    deploy(api, bpmn=["warning_talk", "rectification", "inspection"],
           dmn=["talk_triggers", "violation_scoring"],
           forms=INSPECTION_FORMS + RECT_FORMS + TALK_FORMS)
    return api.start("inspection", P1, {"project_code": P1}, as_user=as_user)


def inspect(api, findings, signed=True):
    r = start(api)
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    finish(api, iid, "insp_prepare", "inspector_cc", PREPARE)
    finish(api, iid, "insp_record", "inspector_cc", {
        "people_present": "项目负责人张三, 总监王五", "findings": findings,
        "inspection_summary": f"发现问题 {len(findings)} 项"})
    assert open_elements(api, iid) == ["insp_sign"]
    finish(api, iid, "insp_sign", "contractor_gdjg",
           {"signed": True, "signer": "张三 项目负责人"} if signed else
           {"signed": False, "sign_comment": "对问题认定有异议"})
    if not signed:
        assert open_elements(api, iid) == ["insp_refusal"]
        finish(api, iid, "insp_refusal", "inspector_cc", {
            "refusal_note": "项目负责人拒绝签字, 已现场告知", "refusal_witnesses": "总监王五"})
    return iid


def rectify_each(api, iid):
    """Every open rectification: notice, reply, 监理 check, accepted re-check."""
    for _ in range(len([t for t in api.instance(iid)["tasks"] if t["element_id"] == "rect_notice"])):
        finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    while any(t["element_id"] == "rect_reply" for t in api.instance(iid)["tasks"]):
        finish(api, iid, "rect_reply", "contractor_gdjg", REPLY)
        finish(api, iid, "rect_check", "supervisor_hn", CHECK_OK)
        finish(api, iid, "rect_review", "inspector_cc", {"accepted": True, "review_comment": "合格"})


def enterprise_score(engine, code="91440600CON001"):
    with engine.db.read() as conn:
        return conn.execute(select(enterprises.c.score).where(enterprises.c.code == code)).scalar()


def test_findings_are_scored_and_each_one_is_rectified(api, engine):
    before = enterprise_score(engine)
    iid = inspect(api, [finding("临边防护缺失", "一般"), finding("脚手架连墙件缺失", "较重", "5号楼")])
    assert sorted(scores(engine, iid)) == [("临边防护缺失", 1, "91440600CON001"),
                                           ("脚手架连墙件缺失", 3, "91440600CON001")]
    assert enterprise_score(engine) == before + 4
    # one rectification per finding, and no stop-work order for ordinary findings
    assert open_elements(api, iid) == ["rect_notice", "rect_notice"]
    assert document_kinds(engine, iid) == ["inspection_record"]
    rectify_each(api, iid)
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end_done" in inst["completed_elements"]
    assert document_kinds(engine, iid) == ["inspection_record", "rectification_notice",
                                           "rectification_notice"]
    assert inst["variables"]["inspection_record_doc"]["number"].startswith("JDJC-2026-")
    assert sorted(s["points"] for s in inst["variables"]["finding_scores"]) == [1, 3]


def test_serious_finding_orders_a_stop_and_a_warning_talk(api, engine):
    iid = inspect(api, [finding("深基坑支护变形未停止开挖", "严重", "基坑北侧")], signed=False)
    assert scores(engine, iid) == [("深基坑支护变形未停止开挖", 6, "91440600CON001")]
    assert open_elements(api, iid) == ["rect_notice", "talk_propose"]
    assert document_kinds(engine, iid) == ["inspection_record", "stop_work_order"]
    inst = api.instance(iid)
    assert inst["variables"]["refusal_note"].startswith("项目负责人拒绝签字")
    finish(api, iid, "rect_notice", "inspector_cc", {**NOTICE, "stop_work": True})
    walk_talk(api, iid, approve=False)
    assert open_elements(api, iid) == ["rect_reply"]          # the talk branch has joined
    rectify_each(api, iid)
    assert api.instance(iid)["state"] == "completed"
    assert document_kinds(engine, iid) == ["inspection_record", "rectification_notice",
                                           "resume_notice", "stop_work_order"]


def test_no_findings_ends_after_the_signed_record(api, engine):
    iid = inspect(api, [])
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end_clean" in inst["completed_elements"]
    assert document_kinds(engine, iid) == ["inspection_record"] and scores(engine, iid) == []


def test_roles_and_form_refusals(api):
    assert start(api, as_user="contractor_gdjg").status_code == 403
    iid = start(api).get_json()["id"]
    finish(api, iid, "insp_prepare", "inspector_cc", PREPARE)
    record = api.open_task(iid, "insp_record")
    bad = {"people_present": "张三", "inspection_summary": "x",
           "findings": [{**finding("无证上岗", "特别严重")}]}
    r = api.complete(record["id"], bad, as_user="inspector_cc")
    assert r.status_code == 422                                # severity outside the list
    finish(api, iid, "insp_record", "inspector_cc", {**bad, "findings": [finding("无证上岗", "较重")]})
    sign = api.open_task(iid, "insp_sign")
    assert api.complete(sign["id"], {"signed": True}, as_user="supervisor_hn").status_code == 403
    assert api.complete(sign["id"], {"signed": True}, as_user="inspector_cc").status_code == 403
