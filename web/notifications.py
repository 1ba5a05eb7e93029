"""我的通知: the caller's in-app notifications (processes.notifications) and marking them read.
The header's unread badge polls GET; outbound delivery (SMS/WeChat/e-mail gateways) is the
background pass's, never a request's."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.clock import utcnow
from processes import notifications

from .auth import allow, current
from .ext import services

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="通知 (notifications)")


class NotificationQuery(Schema):
    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "task due alarm assigned comment"})
    kind_name = fields.String()
    title = fields.String()
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Boolean()


class NotificationList(Schema):
    unread = fields.Integer()
    items = fields.List(fields.Nested(NotificationOut))


class ReadIn(Schema):
    ids = fields.List(fields.Integer(), metadata={"description": "省略: 全部标为已读"})


@blp.route("")
class Notifications(MethodView):
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationList)
    @allow("notification.list")
    def get(self, query):
        """我的通知 (newest first, with the unread count)"""
        with services().db.read() as conn:
            return notifications.listing(conn, current().username, query["unread"],
                                         query["limit"])


@blp.route("/read")
class Read(MethodView):
    @blp.arguments(ReadIn)
    @blp.response(200, NotificationList)
    @allow("notification.read")
    def post(self, body):
        """标为已读 (the ids given, or all)"""
        username = current().username
        with services().db.write() as conn:
            notifications.mark_read(conn, username, utcnow(), body.get("ids"))
            return notifications.listing(conn, username)
