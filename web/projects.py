"""Projects the caller may see."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from processes import access
from processes.schema import projects

from .auth import authenticated, current
from .ext import services
from .schemas import ProjectSchema

blp = Blueprint("projects", __name__, url_prefix="/api/v1/projects", description="工程项目 (projects)")


@blp.route("")
class Projects(MethodView):
    @blp.response(200, ProjectSchema(many=True))
    @blp.paginate()
    @authenticated
    def get(self, pagination_parameters):
        """我可见的工程项目 (projects in the caller's district or enterprise)"""
        stmt = select(projects).where(access.project_clause(current()))
        with services().db.read() as conn:
            total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
            rows = conn.execute(stmt.order_by(projects.c.code)
                                .offset(pagination_parameters.first_item)
                                .limit(pagination_parameters.page_size)).all()
        pagination_parameters.item_count = total
        return [dict(r._mapping) for r in rows]
