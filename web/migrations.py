"""Moving running instances to another process version: proposal, dry run, batch, progress."""
from __future__ import annotations

import click
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from processes import migrations

from .auth import allow, current
from .ext import services

blp = Blueprint("migrations", __name__, url_prefix="/api/v1/migrations",
                description="运行中实例迁移 (running-instance migration)", cli_group="migration")


class MigrationRequest(Schema):
    class Meta:
        unknown = EXCLUDE
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    from_version = fields.Integer(required=True, validate=validate.Range(min=1))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))
    mapping = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                          load_default=dict, metadata={
                              "description": "旧元素 id → 新元素 id (null: 不映射); 同 id 自动映射"})
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "true (默认): 只返回每个实例的迁移预演; false: 创建批次并在后台执行"})


class ListQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    process_key = fields.String(load_default=None)


def _start(migration_id: int) -> None:
    """In the background: a Celery worker when the app has a broker, else a thread here."""
    celery = current_app.extensions.get("jianguan.celery")
    if celery is not None:
        celery.send_task("jianguan.run_migration", args=[migration_id],
                         queue=current_app.extensions["jianguan.settings"].celery_queue)
    else:
        migrations.run_in_thread(services(), migration_id)


@blp.route("")
class Migrations(MethodView):
    @allow("migration.list")
    @blp.arguments(ListQuery, location="query")
    def get(self, args):
        """迁移批次 (newest first, with progress counts)"""
        return migrations.list_migrations(services(), args["process_key"])

    @allow("migration.create")
    @blp.arguments(MigrationRequest)
    @blp.alt_response(202, description="批次已创建, 后台执行; GET /api/v1/migrations/{id} 看进度")
    @blp.alt_response(422, description="映射无效或没有可迁移的实例")
    def post(self, args):
        """迁移预演 (dry_run, default) 或 创建迁移批次 (dry_run=false)"""
        engine = services()
        if args["dry_run"]:
            with engine.db.engine.connect() as conn:
                return migrations.dry_run(engine, conn, args["process_key"],
                                          args["from_version"], args["to_version"],
                                          args["mapping"])
        result = migrations.create(engine, current().username, args["process_key"],
                                   args["from_version"], args["to_version"], args["mapping"])
        _start(result["id"])
        return result, 202


@blp.route("/<int:migration_id>")
class Migration(MethodView):
    @allow("migration.read")
    def get(self, migration_id: int):
        """迁移进度 (counts by state, percent, per-instance items)"""
        return migrations.progress(services(), migration_id)


@blp.route("/<int:migration_id>/resume")
class Resume(MethodView):
    @allow("migration.create")
    def post(self, migration_id: int):
        """继续执行中断的批次 (after a crash: pending instances only)"""
        found = migrations.progress(services(), migration_id)
        if found["state"] == "running":
            _start(migration_id)
        return found, 202


@blp.cli.command("run")
@click.argument("migration_id", type=int)
def run_command(migration_id: int) -> None:
    """执行 (或继续) 一个迁移批次, 在本进程内 (run or resume a batch in this process)."""
    engine = current_app.extensions["jianguan.engine"]
    found = migrations.run(engine, migration_id, actor="system:migration")
    click.echo(f"迁移批次 {migration_id}: {found['counts']} ({found['state']})")
