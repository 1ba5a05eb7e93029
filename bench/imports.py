"""District data import: 100,000 project rows then 100,000 device rows (the devices name the
projects just imported), each from a CSV and from an xlsx file, then the same CSV again (every
row unchanged: the idempotent re-import), through processes.importing.run_import, the code
path of the page, the API and `flask import`. Rows/s = rows / wall time of the whole import
(read, map, check every cell and reference, write in one transaction, job row). The xlsx files
store text as Excel does (shared strings); `--inline` adds one with inline strings, as openpyxl
and pandas write them, which openpyxl reads several times slower.

    .venv/bin/python bench/imports.py [--rows 100000] [--database-url postgresql+psycopg://...]
                                      [--no-xlsx]
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

DISTRICTS = ("禅城区", "南海区", "顺德区", "高明区", "三水区")


def project_rows(n: int, prefix: str) -> list[list]:
    return [[f"{prefix}-{i:06d}", f"基准测试项目{i}", DISTRICTS[i % 5], f"测试路{i}号",
             round(112.9 + (i % 500) / 1000, 5), round(22.9 + (i % 400) / 1000, 5),
             "91440600CON001", "在建", "主体施工"] for i in range(n)]


PROJECT_HEADERS = ["项目编号", "项目名称", "所属区", "项目地址", "经度", "纬度", "施工单位信用代码",
                   "项目状态", "形象进度"]
DEVICE_HEADERS = ["设备编号", "项目编号", "设备类型", "设备名称"]


def device_rows(n: int, prefix: str, project_prefix: str) -> list[list]:
    return [[f"{prefix}-{i:06d}", f"{project_prefix}-{i:06d}", "扬尘监测", f"扬尘监测仪{i}"]
            for i in range(n)]


def as_csv(headers, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def as_xlsx(headers, rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def shared_strings(data: bytes) -> bytes:
    """An openpyxl-written xlsx (inline strings, which openpyxl reads about 5 times slower)
    rewritten as Excel saves it: text in the shared strings table."""
    src = zipfile.ZipFile(io.BytesIO(data))
    strings, index = [], {}
    def swap(m):
        text = m.group(2)
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return f'<c r="{m.group(1)}" t="s"><v>{index[text]}</v></c>'
    sheet = re.sub(r'<c r="([A-Z]+\d+)" t="inlineStr"><is><t>(.*?)</t></is></c>', swap,
                   src.read("xl/worksheets/sheet1.xml").decode())
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.'
           f'openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" uniqueCount='
           f'"{len(strings)}">' + "".join(f"<si><t>{t}</t></si>" for t in strings) + "</sst>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                body = sheet.encode()
            elif name == "[Content_Types].xml":
                body = body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" '
                                    b'ContentType="application/vnd.openxmlformats-officedocument.'
                                    b'spreadsheetml.sharedStrings+xml"/></Types>')
            elif name == "xl/_rels/workbook.xml.rels":
                body = body.replace(b"</Relationships>", b'<Relationship Id="rIdSST" Type="http://'
                                    b'schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
            dst.writestr(name, body)
        dst.writestr("xl/sharedStrings.xml", sst)
    return out.getvalue()


def timed(engine, kind, name, data, rows) -> None:
    from processes.importing import Limits, run_import

    start = time.perf_counter()
    filename = f"{kind}.xlsx" if name.startswith("xlsx") else f"{kind}.csv"
    result = run_import(engine, kind, filename, data, "bench", mode="all",
                        limits=Limits(max_bytes=len(data) + 1, max_rows=rows + 1))
    took = time.perf_counter() - start
    assert result["failed"] == 0, result["errors"][:3]
    print(f"  {kind:9s} {name:11s} {result['total']:>7,d} rows  {len(data) / 1e6:6.1f} MB  "
          f"{took:6.1f} s  {result['total'] / took:>9,.0f} rows/s  "
          f"(new {result['created']:,d}, updated {result['updated']:,d}, "
          f"unchanged {result['unchanged']:,d})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-xlsx", action="store_true")
    parser.add_argument("--inline", action="store_true",
                        help="also xlsx with inline strings (as openpyxl and pandas write them)")
    args = parser.parse_args()

    from app import create_app
    from processes.demo import load_reference
    from processes.migrate import upgrade

    tmp = tempfile.mkdtemp(prefix="jianguan-bench-imports-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "VAR_DIR": tmp})
    engine = app.extensions["jianguan.engine"]
    upgrade(engine.db)
    with engine.db.write() as conn:
        load_reference(conn)
    print(f"database: {engine.db.engine.url.render_as_string()}")
    tag = str(int(time.time()))[-6:]
    n = args.rows
    projects_csv = as_csv(PROJECT_HEADERS, project_rows(n, f"BP{tag}"))
    devices_csv = as_csv(DEVICE_HEADERS, device_rows(n, f"BD{tag}", f"BP{tag}"))
    timed(engine, "projects", "csv", projects_csv, n)
    timed(engine, "devices", "csv", devices_csv, n)
    timed(engine, "projects", "again", projects_csv, n)
    if not args.no_xlsx:
        # as Excel saves a workbook: text in the shared strings table
        projects_xlsx = shared_strings(as_xlsx(PROJECT_HEADERS, project_rows(n, f"BX{tag}")))
        devices_xlsx = shared_strings(as_xlsx(DEVICE_HEADERS,
                                              device_rows(n, f"BY{tag}", f"BX{tag}")))
        timed(engine, "projects", "xlsx", projects_xlsx, n)
        timed(engine, "devices", "xlsx", devices_xlsx, n)
    if args.inline:
        inline = as_xlsx(PROJECT_HEADERS, project_rows(n, f"BI{tag}"))
        timed(engine, "projects", "xlsx-inline", inline, n)
    engine.close()


if __name__ == "__main__":
    main()
