"""Every kind of document, generated from a real instance: its text, fonts, hash and code."""
from __future__ import annotations

import hashlib

import pytest

from processes.operations import DOCUMENT_KINDS

from .helpers import deploy, issue, pdf_fonts, pdf_text, printed_code, project_name

FACTS = {
    # supervision_plan / briefing_record
    "plan_frequency": "biweekly", "key_risks": "深基坑支护变形监测", "dangerous_works": "深基坑工程（开挖深度7.5米）",
    "inspectors": "王监督、李监督", "briefing_date": "2026-11-20", "attendees": "建设单位陈经理等十二人",
    "briefing_items": "危大工程管理要求交底",
    # inspection_record / rectification / stop work / resume
    "inspection_type": "专项检查", "inspection_date": "2026-11-21", "people_present": "项目经理赵工",
    "location": "基坑东侧", "description": "临边防护栏杆缺失约二十米", "severity": "严重",
    "rule": "JGJ 80-2016 第4.1.1条", "inspection_summary": "现场安全管理总体受控",
    "rect_issue": "基坑东侧临边防护栏杆缺失约二十米", "rect_requirement": "立即恢复防护栏杆并挂设安全网",
    "deadline": "2026-11-30", "stop_work": True, "rect_measures": "已恢复防护栏杆二十米",
    "rect_responsible": "赵工", "rect_completed_on": "2026-11-28", "review_comment": "复查合格同意复工",
    # warning talk
    "talk_summoned": "项目负责人周某", "talk_reason": "整改逾期未回复", "talk_evidence": "逾期七天未回复",
    "talk_date": "2026-12-03", "talk_place": "禅城区住建局三楼会议室", "talk_bring": "整改报告原件",
    "talk_attendance": "周某、王监督", "talk_issues": "安全管理人员长期缺岗", "talk_requirements": "一周内配齐专职安全员",
    "talk_commitments": "七日内完成整改", "talk_commitment_deadline": "2026-12-10", "follow_up_period": "三十天",
    # cranes
    "crane_id": "QZ-CC001-01", "crane_model": "QTZ80(TC6010)", "factory_number": "ZL2025-0387",
    "owner_name": "佛山起重租赁有限公司", "install_unit": "广东安装工程有限公司", "install_date": "2026-12-01",
    "install_position": "三号楼北侧", "install_opinion": "资料齐全同意安装", "user_unit": "广东建工集团",
    "filing_no": "粤E-QZ-2025-1234", "inspection_body": "佛山市特种设备检测所", "accepted_on": "2026-12-05",
    "operators": "司机刘某（证号A123）", "registration_opinion": "准予登记",
    # expert review
    "works_name": "三号楼深基坑支护工程", "category": "深基坑（开挖深度≥5米）", "scale_description": "开挖深度7.5米",
    "meeting_date": "2026-11-18", "meeting_place": "项目部会议室", "meeting_attendees": "建设、施工、监理单位",
    "panel": [{"username": "expert03", "name": "黄专家", "employer": "华南理工大学", "title": "教授级高工",
               "specialty": "深基坑"},
              {"username": "expert04", "name": "林专家", "employer": "省建科院", "title": "高级工程师",
               "specialty": "深基坑"}],
    "panel_leader": {"username": "expert03", "name": "黄专家"},
    "expert_opinions": "支护结构计算书应补充坑边荷载工况", "conclusion_result": "修改后通过",
    # closing
    "self_total": 86, "rating_total": 82.5, "rating_zero_sections": 0, "grade": "优良",
    "rating_opinion": "安全生产标准化评定为优良", "report_summary": "共开展监督检查十二次", "acceptance_date": "2026-12-20",
    "report_conclusion": "符合要求", "precheck_result": {"ok": False, "open_items": ["整改未闭合 1 项"]},
}

EXPECT = {
    "supervision_plan": ["每两周一次", "深基坑支护变形监测", "王监督、李监督"],
    "briefing_record": ["二〇二六年十一月二十日", "危大工程管理要求交底"],
    "inspection_record": ["临边防护栏杆缺失约二十米", "JGJ80-2016第4.1.1条", "现场安全管理总体受控"],
    "rectification_notice": ["基坑东侧临边防护栏杆缺失约二十米", "立即恢复防护栏杆并挂设安全网",
                             "二〇二六年十一月三十日前"],
    "stop_work_order": ["局部停工", "基坑东侧", "复工条件"],
    "resume_notice": ["准予恢复施工", "已恢复防护栏杆二十米", "复查合格同意复工"],
    "talk_notice": ["项目负责人周某", "禅城区住建局三楼会议室", "二〇二六年十二月三日"],
    "talk_record": ["安全管理人员长期缺岗", "七日内完成整改", "二〇二六年十二月十日前"],
    "crane_install_receipt": ["QTZ80(TC6010)", "广东安装工程有限公司", "三号楼北侧"],
    "crane_registration": ["粤E-QZ-2025-1234", "佛山市特种设备检测所", "二〇二六年十二月五日"],
    "expert_review_report": ["黄专家华南理工大学教授级高工深基坑组长", "林专家省建科院高级工程师深基坑组员",
                             "修改后通过", "支护结构计算书应补充坑边荷载工况", "专家组组长（签字）：黄专家"],
    "safety_assessment": ["82.5", "优良", "JGJ59"],
    "supervision_report": ["共开展监督检查十二次", "整改未闭合1项", "符合要求"],
}

COMMON = ["佛山市住房和城乡建设局", "建设工程质量安全监督站", "依据", "章）", "文书验证码"]


def test_every_kind_has_expectations():
    assert set(EXPECT) == set(DOCUMENT_KINDS)


@pytest.mark.parametrize("kind", sorted(DOCUMENT_KINDS))
def test_each_kind_is_generated_from_the_instance(api, engine, kind):
    deploy(api)
    instance_id, doc = issue(api, engine, kind, FACTS)
    r = api.get(f"/api/v1/documents/{doc['id']}", as_user="contractor_gdjg")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    data = r.get_data()
    assert hashlib.sha256(data).hexdigest() == doc["sha256"] == r.headers["X-Content-SHA256"]

    text = pdf_text(data)
    label = DOCUMENT_KINDS[kind][1]
    for expected in [label, doc["number"], project_name(engine), *COMMON, *EXPECT[kind]]:
        assert "".join(expected.split()) in text, f"{kind}: {expected!r} missing"

    fonts = pdf_fonts(data)
    assert any("CJK" in f["name"] and f["embedded"] == "yes" for f in fonts), fonts
    assert all(f["embedded"] == "yes" for f in fonts), fonts
    assert not any("Type 3" in f["type"] for f in fonts), fonts

    code = printed_code(text)
    check = api.client.get(f"/verify/{code}")
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and "该文书真实有效" in page
    assert doc["number"] in page and doc["sha256"] in page and label in page
    assert "二〇二六年" in page
