"""Messages from devices, gateways and other systems."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import message_log
from engine import messages as correlation
from engine.clock import utcnow

from .auth import allow, current
from .ext import services
from .paging import paged, query
from .schemas import MessageQuery, MessageRecordSchema, MessageResultSchema, MessageSchema

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages",
                description="消息关联 (message correlation)")


@blp.route("")
class Messages(MethodView):
    @paged(blp, MessageRecordSchema, "message.list", MessageQuery)
    def get(self, args):
        """已收到的消息 (messages received, newest first; `status=buffered` lists those waiting)"""
        now = utcnow()
        return query(message_log.listing(now, args.get("status"), args.get("name")),
                     lambda row: message_log.record(row, now))

    @blp.arguments(MessageSchema)
    @blp.response(200, MessageResultSchema)
    @allow("message.send")
    def post(self, body):
        """发送消息 (correlate to waiting instances, start one, or buffer; message_id de-duplicates)"""
        result = correlation.send(services(), current().username, body["name"],
                                  body["correlation"], body["payload"], body["message_id"])
        return result.as_dict()
