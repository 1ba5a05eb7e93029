"""District data import: 100,000 project rows then 100,000 device rows (the devices name the
projects just imported), each from a CSV and from an xlsx file, then the same CSV again (every
row unchanged: the idempotent re-import), through processes.importing.run_import, the code
path of the page, the API and `flask import`. Rows/s = rows / wall time of the whole import
(read, map, check every cell and reference, write in one transaction, job row).

    .venv/bin/python bench/imports.py [--rows 100000] [--database-url postgresql+psycopg://...]
                                      [--no-xlsx]
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time

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


def timed(engine, kind, name, data, rows) -> None:
    from processes.importing import Limits, run_import

    start = time.perf_counter()
    filename = f"{kind}.xlsx" if name == "xlsx" else f"{kind}.csv"
    result = run_import(engine, kind, filename, data, "bench", mode="all",
                        limits=Limits(max_bytes=len(data) + 1, max_rows=rows + 1))
    took = time.perf_counter() - start
    assert result["failed"] == 0, result["errors"][:3]
    print(f"  {kind:9s} {name:5s} {result['total']:>7,d} rows  {len(data) / 1e6:6.1f} MB  "
          f"{took:6.1f} s  {result['total'] / took:>9,.0f} rows/s  "
          f"(new {result['created']:,d}, updated {result['updated']:,d}, "
          f"unchanged {result['unchanged']:,d})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-xlsx", action="store_true")
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
        projects_xlsx = as_xlsx(PROJECT_HEADERS, project_rows(n, f"BX{tag}"))
        devices_xlsx = as_xlsx(DEVICE_HEADERS, device_rows(n, f"BY{tag}", f"BX{tag}"))
        timed(engine, "projects", "xlsx", projects_xlsx, n)
        timed(engine, "devices", "xlsx", devices_xlsx, n)
    engine.close()


if __name__ == "__main__":
    main()
