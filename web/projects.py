"""Projects the caller may see."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from processes import policy
from processes.schema import projects

from .auth import allow, current
from .paging import ListingPage, query
from .schemas import ProjectSchema

blp = Blueprint("projects", __name__, url_prefix="/api/v1/projects", description="工程项目 (projects)")


@blp.route("")
class Projects(MethodView):
    @blp.response(200, ProjectSchema(many=True))
    @blp.paginate(ListingPage)
    @allow("project.list")
    def get(self):
        """我可见的工程项目 (projects in the caller's district or enterprise)"""
        return query(select(projects).where(policy.project_clause(current()))
                     .order_by(projects.c.code))
