"""Document generation against bare WeasyPrint, measured in the same run.

For every document kind, in rounds, interleaved:
  bare      weasyprint.HTML(string=html).write_pdf() on the very HTML the platform renders
            (also with one FontConfiguration reused, as the platform does)
  platform  processes.documents.issue_in, the one path of gates and corrections: number,
            read the project, Jinja template, QR code, render with the restricted URL
            fetcher, SHA-256, store row + PDF + code + audit event in one transaction
            (SQLite file)
Prints the median per document of each and the ratio (goal: under 1.3).

    .venv/bin/python bench/documents.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid

# bench/engine.py would shadow the `engine` package: drop this folder from the path.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.dirname(HERE))

PROJECT = "FS-CC-2026-001"
FACTS = {
    "project_code": PROJECT, "inspectors": "王监督、李监督", "plan_frequency": "biweekly",
    "key_risks": "深基坑支护变形监测；高支模体系验收", "briefing_date": "2026-11-20",
    "location": "基坑东侧", "description": "临边防护栏杆缺失约二十米", "rule": "JGJ 80-2016 第4.1.1条",
    "rect_issue": "基坑东侧临边防护栏杆缺失约二十米，安全网破损", "rect_requirement": "立即恢复防护栏杆",
    "deadline": "2026-11-30", "talk_summoned": "项目负责人周某", "talk_place": "禅城区住建局三楼会议室",
    "crane_id": "QZ-CC001-01", "crane_model": "QTZ80(TC6010)", "install_unit": "广东安装工程有限公司",
    "works_name": "三号楼深基坑支护工程", "conclusion_result": "修改后通过",
    "experts": [{"name": f"专家{i}", "employer": "华南理工大学", "title": "教授级高工",
                 "specialty": "深基坑"} for i in range(1, 6)],
    "rating_total": 82.5, "grade": "优良", "report_summary": "共开展监督检查十二次",
}


def setup(tmp: str):
    from engine.core import Engine
    from engine.db import Database
    from integrations.pdf import PdfRenderer
    from processes import documents, operations
    from processes.demo import load_reference
    from processes.migrate import upgrade
    from settings import Settings

    db = Database(f"sqlite:///{os.path.join(tmp, 'bench.db')}")
    upgrade(db)
    engine = Engine(db=db)
    operations.register(engine.services)
    settings = Settings.load({})
    documents.register_renderer(PdfRenderer(), documents.Issuer(settings.authority,
                                                                settings.public_url))
    with db.write() as conn:
        load_reference(conn)
    return engine


def request(engine, kind: str, serial: int):
    """A document as a gate's `document.request` asks for it, with its variables snapshot."""
    from types import SimpleNamespace

    from engine.clock import utcnow

    return SimpleNamespace(id=str(uuid.uuid4()), instance_id=str(uuid.uuid4()), kind=kind,
                           number=f"BENCH-{kind}-{serial}-{uuid.uuid4().hex[:6]}", title=kind,
                           replaces=None, created_at=utcnow(),
                           data={"element_id": "bench", "variables": FACTS})


def html_of(engine, doc) -> str:
    from integrations import pdf
    from processes.documents import build_context, new_code

    with engine.db.read() as conn:
        return pdf.render_html(doc.kind, build_context(conn, doc, new_code()))


def issue(engine, doc) -> dict:
    from processes.documents import issue_in

    with engine.unit("bench") as unit:
        return issue_in(unit.conn, unit.now, lambda kind, **d: unit.record(
            kind, doc.instance_id, None, **d), doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from integrations import pdf
    from processes.operations import DOCUMENT_KINDS

    base = "file://" + pdf.DOCUMENT_TEMPLATES + "/"
    with tempfile.TemporaryDirectory() as tmp:
        engine = setup(tmp)
        kinds = sorted(DOCUMENT_KINDS)
        # warm-up: fonts, Jinja compilation, SQLite pages
        warm = request(engine, kinds[0], 0)
        weasyprint.HTML(string=html_of(engine, warm), base_url=base).write_pdf()
        issue(engine, warm)

        bare, bare_fc, platform = [], [], []
        fonts = FontConfiguration()
        for rnd in range(args.rounds):
            for kind in kinds:
                doc = request(engine, kind, rnd)
                html = html_of(engine, doc)
                t0 = time.perf_counter()
                out = weasyprint.HTML(string=html, base_url=base).write_pdf()
                bare.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                weasyprint.HTML(string=html, base_url=base).write_pdf(font_config=fonts)
                bare_fc.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                result = issue(engine, doc)
                platform.append(time.perf_counter() - t0)
                assert result["status"] == "generated" and out, result
        engine.db.dispose()

    b, p = statistics.median(bare), statistics.median(platform)
    bf = statistics.median(bare_fc)
    print(f"documents: {len(bare)} ({len(kinds)} kinds x {args.rounds} rounds)")
    print(f"bare WeasyPrint    {b * 1000:7.1f} ms/document")
    print(f"bare, fonts reused {bf * 1000:7.1f} ms/document")
    print(f"platform path     {p * 1000:7.1f} ms/document "
          "(context, template, QR, render, SHA-256, store)")
    print(f"ratio              {p / b:.2f}  (goal < 1.3); against the reused-fonts bare run "
          f"{p / bf:.2f}")


if __name__ == "__main__":
    main()
