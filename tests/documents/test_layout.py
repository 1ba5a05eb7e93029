"""Page layout of the documents as printed: the signature block stays whole and on the page
where the text ends when it fits there; the notice's table fills 部位 and 违反条款."""
from __future__ import annotations

from .helpers import _poppler, deploy, issue, pdf_text

NOTICE = {"rect_location": "3号楼五层东侧临边", "rect_issue": "临边防护栏杆缺失约二十米，安全网破损",
          "rect_clause": "JGJ 59-2011 第3.13条", "rect_requirement": "立即恢复防护栏杆并挂设安全网",
          "deadline": "2026-12-10", "stop_work": False}
SIGNATURE = ("监督人员（签字）", "接收单位（签字）", "接收日期")


def pages(data: bytes) -> list[str]:
    count = int(next(line.split()[-1] for line in _poppler("pdfinfo", data).splitlines()
                     if line.startswith("Pages:")))
    return ["".join(_poppler("pdftotext", data, "-f", str(n), "-l", str(n)).split())
            for n in range(1, count + 1)]


def page_of(texts: list[str], needle: str) -> int:
    return next(n for n, text in enumerate(texts, 1) if needle in text)


def test_a_one_item_notice_is_signed_on_its_first_page(api, engine):
    deploy(api)
    _, doc = issue(api, engine, "rectification_notice", NOTICE)
    texts = pages(api.get(f"/api/v1/documents/{doc['id']}").get_data())
    assert all(page_of(texts, line) == 1 for line in SIGNATURE), texts
    assert page_of(texts, "佛山市住房和城乡建设局建设工程质量安全监督站二〇二六年") == 1


def test_a_long_notice_keeps_its_signature_block_together(api, engine):
    deploy(api)
    defects = [{"location": f"{n}号楼临边", "description": "临边防护栏杆缺失" * 6,
                "rule": "JGJ 59-2011 第3.13条"} for n in range(1, 15)]
    _, doc = issue(api, engine, "rectification_notice", {**NOTICE, "defects": defects})
    texts = pages(api.get(f"/api/v1/documents/{doc['id']}").get_data())
    assert len(texts) >= 2
    assert len({page_of(texts, line) for line in SIGNATURE}) == 1      # never split


def test_location_and_clause_fill_their_own_columns(api, engine):
    deploy(api)
    _, doc = issue(api, engine, "rectification_notice", NOTICE)
    text = pdf_text(api.get(f"/api/v1/documents/{doc['id']}").get_data())
    # 序号 1, then 部位, 问题描述 and 违反条款 in their columns, in that order
    assert "部位问题描述违反条款" in text
    assert "13号楼五层东侧临边临边防护栏杆缺失约二十米，安全网破损JGJ59-2011第3.13条" in text
