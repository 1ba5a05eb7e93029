"""Messages from devices, gateways and other systems."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import messages as correlation

from .auth import current, roles
from .ext import services
from sqlalchemy import and_, func, or_, select

from engine.clock import utcnow
from engine.schema import messages

from .schemas import MessageQuery, MessageRecordSchema, MessageResultSchema, MessageSchema

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages",
                description="消息关联 (message correlation)")


def _status_clause(status: str, now):
    """`buffered` means still waiting for a subscription; past its time to live it is `expired`."""
    if status == "buffered":
        return and_(messages.c.status == "buffered",
                    or_(messages.c.expires_at.is_(None), messages.c.expires_at > now))
    if status == "expired":
        return and_(messages.c.status == "buffered", messages.c.expires_at <= now)
    return messages.c.status == status


@blp.route("")
class Messages(MethodView):
    @blp.arguments(MessageQuery, location="query")
    @blp.response(200, MessageRecordSchema(many=True))
    @blp.paginate()
    @roles("admin", "gateway", "auditor")
    def get(self, query, pagination_parameters):
        """已收到的消息 (messages received, newest first; `status=buffered` lists those waiting)"""
        stmt = select(messages)
        if query.get("status"):
            stmt = stmt.where(_status_clause(query["status"], utcnow()))
        if query.get("name"):
            stmt = stmt.where(messages.c.name == query["name"])
        with services().db.read() as conn:
            pagination_parameters.item_count = conn.execute(
                select(func.count()).select_from(stmt.subquery())).scalar()
            rows = conn.execute(stmt.order_by(messages.c.id.desc())
                                .limit(pagination_parameters.page_size)
                                .offset(pagination_parameters.first_item)).all()
        now = utcnow()
        out = []
        for r in rows:
            item = dict(r._mapping)
            if r.status == "buffered" and r.expires_at is not None:
                exp = r.expires_at if r.expires_at.tzinfo else r.expires_at.replace(tzinfo=now.tzinfo)
                if exp <= now:
                    item["status"] = "expired"
            out.append(item)
        return out

    @blp.arguments(MessageSchema)
    @blp.response(200, MessageResultSchema)
    @roles("admin", "gateway")
    def post(self, body):
        """发送消息 (correlate to waiting instances, start one, or buffer; message_id de-duplicates)"""
        result = correlation.send(services(), current().username, body["name"],
                                  body["correlation"], body["payload"], body["message_id"])
        return result.as_dict()
