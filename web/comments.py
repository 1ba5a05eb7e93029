"""Comments on a task or an instance (processes.comments): read and written by whoever may
see the instance; each comment is also a `comment.added` event in the instance's history."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from processes import comments, notifications, policy

from .auth import allow, checked, current
from .ext import services

blp = Blueprint("comments", __name__, url_prefix="/api/v1", description="评论 (comments)")


class CommentIn(Schema):
    # not required here: the object's scope is checked first (403 before 422)
    body = fields.String(metadata={"description": "评论内容 (1–2000 字)"})


class CommentOut(Schema):
    id = fields.Integer()
    instance_id = fields.String()
    task_id = fields.String(allow_none=True)
    author = fields.String()
    author_name = fields.String()
    body = fields.String()
    created_at = fields.DateTime()


def _add(instance_id: str, task_id: str | None, body: dict) -> dict:
    engine, principal = services(), current()
    with engine.unit(principal.username) as unit:
        added = comments.add(unit, instance_id, task_id, principal.username, body.get("body"))
        # the others who commented here hear of it (in-app; outbound through the outbox)
        for name in comments.participants(unit.conn, instance_id) - {principal.username}:
            notifications.notify(unit.conn, unit.now, name, "comment", f"comment:{added['id']}",
                                 f"{principal.display_name} 发表了评论: {added['body'][:60]}",
                                 f"/tasks/{task_id}" if task_id else f"/instances/{instance_id}")
    return added


@blp.route("/instances/<string:instance_id>/comments")
class InstanceComments(MethodView):
    @blp.response(200, CommentOut(many=True))
    @allow("instance.comments")
    def get(self, instance_id):
        """实例的评论 (all comments on the instance and its tasks, oldest first)"""
        with services().db.read() as conn:
            policy.load(conn, current(), "instance.comments", instance_id)
            return comments.of_instance(conn, instance_id)

    @blp.arguments(CommentIn)
    @blp.response(201, CommentOut)
    @allow("instance.comment")
    def post(self, body, instance_id):
        """发表评论 (on the instance; kept in its history)"""
        checked("instance.comment", instance_id)
        return _add(instance_id, None, body)


@blp.route("/tasks/<string:task_id>/comments")
class TaskComments(MethodView):
    @blp.response(200, CommentOut(many=True))
    @allow("task.comments")
    def get(self, task_id):
        """任务的评论 (this task's and its instance's, oldest first)"""
        with services().db.read() as conn:
            row = policy.load(conn, current(), "task.comments", task_id)
            return [c for c in comments.of_instance(conn, row.instance_id)
                    if c["task_id"] in (None, task_id)]

    @blp.arguments(CommentIn)
    @blp.response(201, CommentOut)
    @allow("task.comment")
    def post(self, body, task_id):
        """对任务发表评论 (kept in the instance's history)"""
        row = checked("task.comment", task_id)
        return _add(row.instance_id, task_id, body)
