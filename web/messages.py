"""Messages from devices, gateways and other systems."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import messages as correlation

from .auth import current, roles
from .ext import services
from .schemas import MessageResultSchema, MessageSchema

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages",
                description="消息关联 (message correlation)")


@blp.route("")
class Messages(MethodView):
    @blp.arguments(MessageSchema)
    @blp.response(200, MessageResultSchema)
    @roles("admin", "gateway")
    def post(self, body):
        """发送消息 (correlate to waiting instances, start one, or buffer; message_id de-duplicates)"""
        result = correlation.send(services(), current().username, body["name"],
                                  body["correlation"], body["payload"], body["message_id"])
        return result.as_dict()
