"""`flask --app app import KIND FILE`: a district's file imported from the command line, with a
progress bar; the same import as the page and the API (processes.importing)."""
from __future__ import annotations

import json
import os
import sys

import click
from flask import Flask

from engine.errors import EngineError
from engine.i18n import _


def register(app: Flask) -> None:
    engine = app.extensions["jianguan.engine"]

    @app.cli.command("import")
    @click.argument("kind")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--mode", type=click.Choice(["all", "valid"]), default="all",
                  help="all: 有错误则全部不导入; valid: 只导入校验通过的行")
    @click.option("--dry-run", is_flag=True, help="只校验, 不导入")
    @click.option("--mapping", default=None, help='列对应关系 JSON, 如 {"工程编号": "code"}')
    @click.option("--report", type=click.Path(dir_okay=False), default=None,
                  help="把导入报告另存为 Excel 文件")
    @click.option("--max-rows", type=int, default=None, help="行数上限 (默认 200000)")
    @click.option("--actor", default="cli", help="记入审计的操作人")
    def import_file(kind, path, mode, dry_run, mapping, report, max_rows, actor):
        """Import KIND (projects enterprises people devices cranes rectifications) from FILE
        (.xlsx or .csv)."""
        from processes.importing import KINDS, OUTCOMES, Limits, run_import
        from processes.importing.common import MAX_ROWS
        from processes.importing.report import report_xlsx

        if kind not in KINDS:
            click.echo(f"未知的导入类型 {kind}, 应为 {', '.join(KINDS)} 之一", err=True)
            sys.exit(2)
        try:
            columns = json.loads(mapping) if mapping else None
        except ValueError:
            click.echo("--mapping 不是有效的 JSON", err=True)
            sys.exit(2)
        size = os.path.getsize(path)
        limits = Limits(max_bytes=max(size, 1), max_rows=max_rows or MAX_ROWS)
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            # each row is counted twice: once checked, once written
            with click.progressbar(length=1,
                                   label=f"导入{KINDS[kind].label}", file=sys.stderr) as bar:
                result = run_import(engine, kind, os.path.basename(path), data, actor,
                                    mapping=columns, mode=mode, dry_run=dry_run,
                                    limits=limits, progress=bar.update,
                                    on_rows=lambda n: setattr(bar, "length", max(1, 2 * n)))
        except EngineError as exc:
            details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())
            click.echo(f"导入失败: {exc.message}" + (f" ({details})" if details else ""),
                       err=True)
            sys.exit(1)
        status = {"done": "已导入", "rejected": "存在错误, 全部未导入", "checked": "仅校验"}
        click.echo(f"{status[result['status']]}: 共 {result['total']} 行, "
                   + ", ".join(f"{OUTCOMES[k]} {result[k]}" for k in ("created", "updated",
                                                                      "unchanged"))
                   + _(", 错误 {failed}: {id}").format(failed=result['failed'], id=result['id']))
        for item in result["errors"][:20]:
            click.echo(f"  第 {item['row']} 行 {item['key'] or ''}: {'; '.join(item['messages'])}")
        if result["failed"] > 20:
            click.echo(f"  …… 另有 {result['failed'] - 20} 行错误, 见导入报告")
        if report:
            with engine.db.read() as conn, open(report, "wb") as fh:
                fh.write(report_xlsx(conn, result["id"]))
            click.echo(f"报告已保存: {report}")
        if result["status"] == "rejected" or (result["failed"] and not dry_run
                                              and mode == "all"):
            sys.exit(1)
