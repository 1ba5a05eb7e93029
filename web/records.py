"""Records the processes leave behind: violation scores per enterprise, documents per instance,
expert draws."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Table, func, select

from processes import policy
from processes.schema import documents, enterprises, expert_draws, score_events

from .auth import allow, current
from .ext import services
from .instances import readable
from .schemas import DocumentSchema, ExpertDrawSchema, ScoreSchema

blp = Blueprint("records", __name__, url_prefix="/api/v1", description="记分、文书与抽取记录 (records)")


@blp.route("/scores")
class Scores(MethodView):
    @blp.response(200, ScoreSchema(many=True))
    @allow("score.list")
    def get(self):
        """违规记分 (points per enterprise on the caller's projects, highest first)"""
        visible = policy.in_visible_projects(current(), score_events.c.project_code)
        with services().db.read() as conn:
            rows = conn.execute(
                select(score_events.c.enterprise_code, enterprises.c.name,
                       func.sum(score_events.c.points).label("points"),
                       func.count().label("events"))
                .join(enterprises, enterprises.c.code == score_events.c.enterprise_code)
                .where(visible)
                .group_by(score_events.c.enterprise_code, enterprises.c.name)
                .order_by(func.sum(score_events.c.points).desc())).all()
        return [{"enterprise_code": r.enterprise_code, "enterprise_name": r.name,
                 "points": int(r.points or 0), "events": r.events} for r in rows]


def _of_instance(action: str, instance_id: str, table: Table, *order) -> list[dict]:
    """The rows of `table` about an instance the caller may take `action` on, in `order`."""
    with services().db.read() as conn:
        readable(conn, instance_id, action)
        rows = conn.execute(select(table).where(table.c.instance_id == instance_id)
                            .order_by(*order)).all()
    return [dict(r._mapping) for r in rows]


@blp.route("/instances/<string:instance_id>/documents")
class InstanceDocuments(MethodView):
    @blp.response(200, DocumentSchema(many=True))
    @allow("instance.documents")
    def get(self, instance_id):
        """流程文书 (documents issued at the instance's gates)"""
        return _of_instance("instance.documents", instance_id, documents,
                            documents.c.created_at, documents.c.number)


@blp.route("/instances/<string:instance_id>/expert-draws")
class ExpertDraws(MethodView):
    @blp.response(200, ExpertDrawSchema(many=True))
    @allow("instance.expert_draws")
    def get(self, instance_id):
        """专家抽取记录 (seed, eligible candidates, exclusions and choice of every draw)"""
        return _of_instance("instance.expert_draws", instance_id, expert_draws, expert_draws.c.id)
