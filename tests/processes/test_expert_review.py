"""危大工程专家论证 (expert review): the scheme with its key pages (and, for a deep pit, the
third-party monitoring plan), the 监理 check, a random draw of five experts with nobody from a
party of the project, confirmations by each drawn expert, redraws for declines, the meeting and
its conclusion: 通过, 修改后通过 (revise, 监理 confirms) or 不通过 (revise and review again)."""
from __future__ import annotations

from sqlalchemy import select

from processes.demo import _experts
from processes.schema import expert_draws
from tests.processes.test_warning_talk import P1, deploy, document_kinds, finish, open_elements

REVIEW_FORMS = ("review_scheme", "review_monitoring", "review_supervisor_check",
                "review_expert_confirm", "review_meeting", "review_conclusion", "review_revise",
                "review_revision_confirm", "review_acceptance", "review_acceptance_fix")
LIBRARY = {row[0]: row for row in _experts()}      # username -> (.., employer_code, .., specialty)
PARTIES = {"91440600CON001", "91440600SUP001"}      # contractor and supervisor of FS-CC-2026-001
SCHEME = {"works_name": "1#地下室基坑支护及土方开挖 (开挖深度 8.5 m)", "category": "深基坑",
          "key_pages": ["file-scheme-cover", "file-scheme-calc"]}
FORMWORK = {"works_name": "报告厅高支模 (搭设高度 9.2 m)", "category": "模板支撑",
            "key_pages": ["file-formwork"]}
CHECK_OK = {"supervisor_approved": True, "supervisor_opinion": "方案完整, 同意组织论证",
            "supervisor_signer": "王总监"}
MEETING = {"meeting_date": "2026-12-10", "meeting_place": "项目部会议室",
           "meeting_attendees": "专家组5人; 建设、勘察、设计、施工、监理单位相关人员"}


def start(api, scheme=SCHEME, as_user="contractor_gdjg"):
    deploy(api, bpmn=["expert_review"], forms=REVIEW_FORMS)
    r = api.start("expert_review", P1, {"project_code": P1}, as_user=as_user)
    if r.status_code != 201:
        return r
    iid = r.get_json()["id"]
    finish(api, iid, "scheme_submit", as_user, scheme)
    return iid


def drawn_experts(api, iid):
    return api.instance(iid)["variables"]["experts"]


def confirm_tasks(api, iid):
    """The open confirmation tasks with the expert each one is reserved for."""
    return {t["assignee"]: t for t in api.instance(iid)["tasks"]
            if t["element_id"] == "expert_confirm"}


def answer(api, task, username, accept=True):
    r = api.complete(task["id"], {"expert_decision": "accept" if accept else "decline",
                                  "no_conflict": accept,
                                  "decline_reason": "" if accept else "时间冲突"},
                     as_user=username)
    assert r.status_code == 200, r.get_json()


def confirm_all(api, iid, decline=()):
    for username, task in confirm_tasks(api, iid).items():
        answer(api, task, username, accept=username not in decline)


def to_draw(api, iid, scheme=SCHEME):
    if scheme["category"] == "深基坑":
        finish(api, iid, "monitoring_upload", "contractor_gdjg",
               {"monitoring_unit": "广东省建科院检测中心", "monitoring_plan": ["file-monitoring"]})
    finish(api, iid, "supervisor_check", "supervisor_hn", CHECK_OK)


def to_conclusion(api, iid, scheme=SCHEME):
    to_draw(api, iid, scheme)
    confirm_all(api, iid)
    finish(api, iid, "meeting", "contractor_gdjg", MEETING)


ACCEPTED = {"acceptance_result": "合格", "acceptance_date": "2026-12-28",
            "acceptance_signers": "项目技术负责人 李工; 总监 王工", "acceptance_record": ["file-acceptance"]}


def accept(api, iid, result="合格"):
    finish(api, iid, "acceptance", "supervisor_hn", {**ACCEPTED, "acceptance_result": result})


def leader_of(api, iid):
    return api.instance(iid, "inspector_cc")["variables"]["panel_leader"]["username"]


def conclude(api, iid, result):
    """The panel's leader, one of the drawn experts, enters the panel's conclusion."""
    finish(api, iid, "conclusion", leader_of(api, iid), {
        "conclusion_result": result, "expert_opinions": "专家组意见见报告",
        "conclusion_report": ["file-report"]})


def test_pass_draws_five_eligible_experts_and_issues_the_report(api, engine):
    iid = start(api)
    assert open_elements(api, iid) == ["monitoring_upload"]      # deep pit: monitoring plan
    to_draw(api, iid)
    experts = drawn_experts(api, iid)
    names = [e["username"] for e in experts]
    assert len(names) == 5 and len(set(names)) == 5
    assert all(LIBRARY[u][5] == "深基坑" and LIBRARY[u][2] not in PARTIES for u in names)
    assert sorted(confirm_tasks(api, iid)) == sorted(names)
    confirm_all(api, iid)
    assert open_elements(api, iid) == ["meeting"]
    finish(api, iid, "meeting", "contractor_gdjg", MEETING)
    conclude(api, iid, "通过")
    assert open_elements(api, iid) == ["acceptance"]
    accept(api, iid)
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end" in inst["completed_elements"]
    assert sorted(a["username"] for a in inst["variables"]["confirmed"]) == sorted(names)
    assert inst["variables"]["report"]["number"].startswith("ZJLZ-")
    assert document_kinds(engine, iid) == ["expert_review_report"]
    with engine.db.read() as conn:
        draw = conn.execute(select(expert_draws).where(expert_draws.c.instance_id == iid)).one()
    assert draw.seed and sorted(draw.chosen) == sorted(names)
    assert {"expert01", "expert02"} <= set(draw.excluded)


def test_repeated_draws_never_pick_project_parties_or_another_specialty(api, engine):
    seen = set()
    for _ in range(4):
        iid = start(api)
        to_draw(api, iid)
        names = [e["username"] for e in drawn_experts(api, iid)]
        assert len(set(names)) == 5
        assert not {"expert01", "expert02"} & set(names)
        assert all(LIBRARY[u][5] == "深基坑" and LIBRARY[u][2] not in PARTIES for u in names)
        seen |= set(names)
    assert seen <= {f"expert{n:02d}" for n in range(3, 11)}
    with engine.db.read() as conn:
        draws = conn.execute(select(expert_draws)).all()
    assert len(draws) == 4 and len({d.seed for d in draws}) == 4
    assert all(d.excluded["expert01"].startswith("参建单位人员") for d in draws)


def test_formwork_review_skips_the_monitoring_plan_and_draws_its_own_specialty(api):
    iid = start(api, scheme=FORMWORK)
    assert open_elements(api, iid) == ["supervisor_check"]
    to_draw(api, iid, FORMWORK)
    names = sorted(e["username"] for e in drawn_experts(api, iid))
    # 模板支撑 is expert11..17; expert11 and expert12 work for the contractor and the supervisor
    assert names == [f"expert{n}" for n in range(13, 18)]


def test_declines_are_redrawn_without_repeating_anyone(api, engine):
    iid = start(api)
    to_draw(api, iid)
    first = [e["username"] for e in drawn_experts(api, iid)]
    confirm_all(api, iid, decline=first[:2])
    second = [e["username"] for e in drawn_experts(api, iid)]
    assert len(second) == 2 and not set(second) & set(first)     # only as many as declined
    assert sorted(confirm_tasks(api, iid)) == sorted(second)
    confirm_all(api, iid, decline=second[:1])
    third = [e["username"] for e in drawn_experts(api, iid)]
    assert len(third) == 1 and not set(third) & set(first + second)
    confirm_all(api, iid)
    inst = api.instance(iid)
    assert open_elements(api, iid) == ["meeting"]
    confirmed = [a["username"] for a in inst["variables"]["confirmed"]]
    assert sorted(confirmed) == sorted(first[2:] + second[1:] + third)
    assert len(set(inst["variables"]["drawn"])) == len(inst["variables"]["drawn"]) == 8
    assert not {"expert01", "expert02"} & set(inst["variables"]["drawn"])
    with engine.db.read() as conn:
        draws = conn.execute(select(expert_draws).where(expert_draws.c.instance_id == iid)
                             .order_by(expert_draws.c.drawn_at, expert_draws.c.id)).all()
    assert [len(d.chosen) for d in draws] == [5, 2, 1]
    assert set(first) <= set(draws[1].excluded) and set(first + second) <= set(draws[2].excluded)


def test_an_expert_can_only_answer_his_own_confirmation(api):
    iid = start(api)
    to_draw(api, iid)
    tasks = confirm_tasks(api, iid)
    mine, other = sorted(tasks)[:2]
    inbox = api.get("/api/v1/tasks", as_user=mine).get_json()
    assert [t["id"] for t in inbox] == [tasks[mine]["id"]]        # only his own confirmation
    data = {"expert_decision": "accept", "no_conflict": True}
    assert api.complete(tasks[mine]["id"], data, as_user=other).status_code == 403
    assert api.complete(tasks[mine]["id"], data, as_user="contractor_gdjg").status_code == 403
    outsider = next(u for u in LIBRARY if u not in tasks and LIBRARY[u][5] == "深基坑")
    assert api.complete(tasks[mine]["id"], data, as_user=outsider).status_code == 403
    assert api.complete(tasks[mine]["id"], data, as_user=mine).status_code == 200
    assert mine not in confirm_tasks(api, iid) and other in confirm_tasks(api, iid)


def test_supervisor_sends_the_scheme_back(api):
    iid = start(api, scheme=FORMWORK)
    finish(api, iid, "supervisor_check", "supervisor_hn", {
        "supervisor_approved": False, "supervisor_opinion": "计算书缺少立杆稳定性验算",
        "supervisor_signer": "王总监"})
    assert open_elements(api, iid) == ["scheme_submit"]
    finish(api, iid, "scheme_submit", "contractor_gdjg", FORMWORK)
    to_draw(api, iid, FORMWORK)
    assert len(confirm_tasks(api, iid)) == 5


def test_pass_after_revision_needs_the_supervisor_confirmation(api, engine):
    iid = start(api)
    to_conclusion(api, iid)
    conclude(api, iid, "修改后通过")
    revision = {"revision_note": "按专家意见增加支撑", "revised_pages": ["file-rev1"]}
    finish(api, iid, "revise_minor", "contractor_gdjg", revision)
    finish(api, iid, "revision_confirm", "supervisor_hn",
           {"revision_confirmed": False, "revision_opinion": "第3条意见未落实"})
    assert open_elements(api, iid) == ["revise_minor"]
    finish(api, iid, "revise_minor", "contractor_gdjg", revision)
    assert document_kinds(engine, iid) == []
    finish(api, iid, "revision_confirm", "supervisor_hn",
           {"revision_confirmed": True, "revision_opinion": "已修改到位"})
    accept(api, iid)
    inst = api.instance(iid)
    assert inst["state"] == "completed" and "end" in inst["completed_elements"]
    assert document_kinds(engine, iid) == ["expert_review_report"]


def test_failed_review_is_revised_and_reviewed_again_by_new_draw(api, engine):
    iid = start(api)
    to_conclusion(api, iid)
    conclude(api, iid, "不通过")
    assert open_elements(api, iid) == ["revise_major"]
    finish(api, iid, "revise_major", "contractor_gdjg",
           {"revision_note": "重新设计支护方案", "revised_pages": ["file-rev2"]})
    assert open_elements(api, iid) == ["supervisor_check"]
    finish(api, iid, "supervisor_check", "supervisor_hn", CHECK_OK)
    assert len(confirm_tasks(api, iid)) == 5                      # a new draw of five
    confirm_all(api, iid)
    finish(api, iid, "meeting", "contractor_gdjg", MEETING)
    conclude(api, iid, "通过")
    accept(api, iid)
    inst = api.instance(iid)
    assert inst["state"] == "completed"
    assert len(inst["variables"]["confirmed"]) == 5
    with engine.db.read() as conn:
        assert len(conn.execute(select(expert_draws).where(
            expert_draws.c.instance_id == iid)).all()) == 2
    assert document_kinds(engine, iid) == ["expert_review_report"]


def test_roles_outside_the_lanes_are_refused(api):
    assert start(api, as_user="supervisor_hn").status_code == 403
    assert start(api, as_user="inspector_cc").status_code == 403
    iid = start(api, scheme=FORMWORK)
    task = api.open_task(iid, "supervisor_check")
    assert api.complete(task["id"], CHECK_OK, as_user="contractor_gdjg").status_code == 403


def test_failed_acceptance_is_fixed_and_accepted_again(api, engine):
    iid = start(api)
    to_conclusion(api, iid)
    conclude(api, iid, "通过")
    accept(api, iid, "不合格")
    assert open_elements(api, iid) == ["acceptance_fix"]
    finish(api, iid, "acceptance_fix", "contractor_gdjg", {"acceptance_fix_note": "补设监测点"})
    assert open_elements(api, iid) == ["acceptance"]
    assert api.complete(api.open_task(iid, "acceptance")["id"], ACCEPTED,
                        as_user="contractor_gdjg").status_code == 403
    accept(api, iid)
    assert api.instance(iid)["state"] == "completed"


def report_text(api, iid):
    from tests.documents.helpers import pdf_text

    docs = api.get(f"/api/v1/instances/{iid}/documents", as_user="contractor_gdjg").get_json()
    [report] = [d for d in docs if d["kind"] == "expert_review_report"]
    return pdf_text(api.get(f"/api/v1/documents/{report['id']}",
                            as_user="contractor_gdjg").get_data())


def test_the_report_lists_the_five_who_confirmed_not_the_last_draw(api):
    iid = start(api)
    to_draw(api, iid)
    first = drawn_experts(api, iid)
    confirm_all(api, iid, decline=[first[0]["username"]])     # one declines: one is redrawn
    [replacement] = drawn_experts(api, iid)
    confirm_all(api, iid)
    finish(api, iid, "meeting", "contractor_gdjg", MEETING)
    conclude(api, iid, "通过")
    text = report_text(api, iid)
    panel = first[1:] + [replacement]
    for expert in panel:                                      # name and employer, each of five
        assert expert["name"] in text and "".join(expert["employer"].split()) in text
    assert first[0]["name"] not in text                       # who declined is not on it
    leader = next(e for e in panel if e["username"] == leader_of(api, iid))
    assert f"{leader['name']}{''.join(leader['employer'].split())}" in text and "组长" in text


def visible_text(api, iid, user):
    """All a user reads of the instance through the API: variables, open tasks, history."""
    import json

    inst = api.get(f"/api/v1/instances/{iid}", as_user=user)
    history = api.get(f"/api/v1/instances/{iid}/history", as_user=user)
    assert inst.status_code == history.status_code == 200
    return json.dumps([inst.get_json(), history.get_json()], ensure_ascii=False)


def test_project_parties_do_not_learn_who_the_experts_are_before_the_meeting(api):
    iid = start(api)
    to_draw(api, iid)
    drawn = drawn_experts(api, iid)
    some = confirm_tasks(api, iid)
    answer(api, some[drawn[0]["username"]], drawn[0]["username"])      # one has confirmed
    confirm_all(api, iid)
    assert open_elements(api, iid) == ["meeting"]
    meeting = api.open_task(iid, "meeting", "contractor_gdjg")
    task = api.get(f"/api/v1/tasks/{meeting['id']}", as_user="contractor_gdjg").get_json()
    for user in ("contractor_gdjg", "supervisor_hn"):
        seen = visible_text(api, iid, user) + str(task)
        for expert in drawn:
            assert expert["name"] not in seen and expert["username"] not in seen
            assert expert["employer"] not in seen
        assert "论证会前不公开" in seen
        # how many confirmed is no secret
        assert len(api.instance(iid, user)["variables"]["confirmed"]) == 5
    bureau = visible_text(api, iid, "inspector_cc")           # the bureau sees the panel
    assert all(e["name"] in bureau for e in drawn)
    finish(api, iid, "meeting", "contractor_gdjg", MEETING)   # the meeting has been held
    after = visible_text(api, iid, "contractor_gdjg")
    assert all(e["name"] in after for e in drawn)


def test_the_panel_leader_not_the_contractor_enters_the_conclusion(api):
    iid = start(api)
    to_conclusion(api, iid)
    variables = api.instance(iid, "inspector_cc")["variables"]
    leader = variables["panel_leader"]["username"]
    assert leader in [e["username"] for e in variables["panel"]]
    task = api.open_task(iid, "conclusion")
    assert task["role"] == "expert" and task["assignee"] == leader
    data = {"conclusion_result": "通过", "expert_opinions": "同意", "conclusion_report": []}
    assert api.complete(task["id"], data, as_user="contractor_gdjg").status_code == 403
    other = next(e["username"] for e in variables["panel"] if e["username"] != leader)
    assert api.complete(task["id"], data, as_user=other).status_code == 403
    inbox = api.get("/api/v1/tasks", as_user=leader).get_json()
    assert [t["element_id"] for t in inbox] == ["conclusion"]
    conclude(api, iid, "通过")
    assert open_elements(api, iid) == ["acceptance"]
