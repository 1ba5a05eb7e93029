"""Deployed process, decision and form definitions."""
from __future__ import annotations

from flask import request
from marshmallow import fields
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select

from engine import deploy as deploying
from engine import instances as instance_commands
from engine.clock import utcnow
from engine.compiler import SourceFile
from engine.errors import Invalid
from engine.schema import definitions
from engine.store import Unit

from .auth import allow, current
from .ext import services
from .paging import paged, query
from .schemas import (DefinitionDetailSchema, DefinitionQuery, DefinitionSchema,
                      DeployedSchema, DeployResultSchema, Strict, VersionQuery)
from engine.i18n import _

blp = Blueprint("definitions", __name__, url_prefix="/api/v1/definitions",
                description="流程定义 (process definitions)")


def as_dict(row) -> dict:
    meta = row.meta or {}
    return {"id": row.id, "kind": row.kind, "key": row.key, "name": row.name,
            "version": row.version, "file_name": row.file_name, "deployed_at": row.deployed_at,
            "deployed_by": row.deployed_by, "sha256": row.sha256, "lanes": meta.get("lanes", []),
            "start_lane": meta.get("start_lane")}


@blp.route("")
class Definitions(MethodView):
    @paged(blp, DefinitionSchema, "definition.list", DefinitionQuery)
    def get(self, args):
        """已部署的流程定义 (latest version of each key; all_versions=true for every version)"""
        stmt = select(definitions).where(definitions.c.kind == args["kind"])
        if not args["all_versions"]:
            latest = (select(definitions.c.key, func.max(definitions.c.version).label("v"))
                      .where(definitions.c.kind == args["kind"])
                      .group_by(definitions.c.key).subquery())
            stmt = stmt.join(latest, (definitions.c.key == latest.c.key)
                             & (definitions.c.version == latest.c.v))
        return query(stmt.order_by(definitions.c.key, definitions.c.version.desc()), as_dict)

    @blp.response(201, DeployResultSchema)
    @blp.alt_response(200, schema=DeployResultSchema, description="全部与已部署版本相同, 未产生新版本")
    @blp.alt_response(422, description="per-file errors: {file: [{line, element_id, message}]}")
    @allow("definition.deploy")
    def post(self):
        """部署 .bpmn / .dmn / 表单 .json 文件 (multipart field `files`; all or nothing)"""
        files = _uploaded_files()
        engine = services()
        with engine.unit(current().username) as unit:
            result = deploying.deploy(unit, files, engine.settings)
        created = any(d.created for d in result)
        return {"deployed": [d.__dict__ for d in result]}, 201 if created else 200


@blp.route("/<string:key>")
class Definition(MethodView):
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, DefinitionDetailSchema)
    @allow("definition.read")
    def get(self, args, key):
        """一个流程定义 (latest, or ?version=N), with its XML"""
        engine = services()
        with engine.db.read() as conn:
            row = engine.definition(conn, key, args.get("version"), kind=args["kind"])
            versions = [r.version for r in conn.execute(
                select(definitions.c.version).where(definitions.c.kind == args["kind"],
                                                    definitions.c.key == key)
                .order_by(definitions.c.version))]
            start_form = instance_commands.start_form(engine, conn, row, strict=False) \
                if args["kind"] == "bpmn" else None
        data = as_dict(row)
        data.update(xml=row.source, versions=versions, start_form=start_form)
        return data


def _source_files(uploads) -> list[SourceFile]:
    # one byte past the limit is enough for deploy to name the file as too large
    return [SourceFile(u.filename or "unnamed", u.read(deploying.MAX_FILE_BYTES + 1))
            for u in uploads]


class _DryRun(Exception):
    """Raised inside the validation transaction so that it rolls back."""


class ValidateResultSchema(Strict):
    ok = fields.Boolean()
    errors = fields.Dict(metadata={"description": "{file: [{line, element_id, message}]}"})
    would_deploy = fields.List(fields.Nested(DeployedSchema),
                               metadata={"description": "versions a deploy would make now"})


def _uploaded_files():
    """The multipart field `files` of a deploy or a validation, read and size-checked."""
    uploads = request.files.getlist("files")
    if not uploads:
        abort(422, message=_("请在字段 files 中上传文件"),
              errors={"files": [_("必填")]})
    return _source_files(uploads)


def _error_list(problems) -> list[dict]:
    out = []
    for p in problems if isinstance(problems, list) else [problems]:
        item = dict(p) if isinstance(p, dict) else {"message": str(p)}
        item.setdefault("line", None)
        item.setdefault("element_id", None)
        out.append(item)
    return out


@blp.route("/validate")
class Validate(MethodView):
    @blp.response(200, ValidateResultSchema)
    @allow("definition.validate")
    def post(self):
        """校验而不部署 (the checks of a deploy, multipart field `files`; nothing is stored)"""
        files = _uploaded_files()
        engine = services()
        outcome: dict = {"ok": True, "errors": {}, "would_deploy": []}
        # The deploy itself, run in a transaction that is always rolled back: the same checks
        # against the same deployed library, and nothing kept (no version, no audit event).
        try:
            with engine.db.write() as conn:
                unit = Unit(conn=conn, actor=current().username, now=utcnow())
                result = deploying.deploy(unit, files, engine.settings)
                outcome["would_deploy"] = [d.__dict__ for d in result]
                raise _DryRun()
        except _DryRun:
            pass
        except Invalid as exc:
            outcome = {"ok": False, "would_deploy": [],
                       "errors": {name: _error_list(problems)
                                  for name, problems in exc.errors.items()}}
        return outcome
