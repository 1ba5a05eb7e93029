"""Files attached to a task's form, and their download."""
from __future__ import annotations

import io

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from engine import attachments as store
from engine.tasks import task_row
from processes import policy

from .auth import allow, checked, current
from .ext import services
from .schemas import AttachmentSchema
from engine.i18n import _

blp = Blueprint("attachments", __name__, url_prefix="/api/v1",
                description="表单附件 (form attachments)")


@blp.route("/tasks/<string:task_id>/attachments")
class TaskAttachments(MethodView):
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(422, description="empty, too large (20 MB) or not an image/PDF/Word/Excel")
    @allow("task.attach")
    def post(self, task_id):
        """上传附件 (multipart field `file`, optional `field`; returns the id for the form)"""
        upload = request.files.get("file")
        if upload is None:
            abort(422, message=_("请在字段 file 中上传文件"),
                  errors={"file": [_("必填")]})
        engine, row = services(), checked("task.attach", task_id)
        data = upload.read(store.MAX_BYTES + 1)
        with engine.unit(current().username) as unit:
            if task_row(unit.conn, task_id).state != "open":
                abort(409, message=_("任务已结束, 不能再上传附件"))
            return store.store(unit, row, upload.filename or "file", data,
                               request.form.get("field"))

    @blp.response(200, AttachmentSchema(many=True))
    @allow("task.attachments")
    def get(self, task_id):
        """任务所在流程的附件 (attachments of the task's instance)"""
        with services().db.read() as conn:
            row = policy.load(conn, current(), "task.attachments", task_id)
            return store.listed(conn, row.instance_id)


@blp.route("/attachments/<string:attachment_id>")
class Attachment(MethodView):
    @blp.response(200, description="the file itself")
    @allow("attachment.read")
    def get(self, attachment_id):
        """下载附件 (for those who may see its instance)"""
        row = checked("attachment.read", attachment_id)
        return send_file(io.BytesIO(row.data), mimetype=row.content_type,
                         download_name=row.file_name, as_attachment=True)
