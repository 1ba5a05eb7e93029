"""Comments on a task or an instance: kept in their own table for reading, and as an audit
event (`comment.added`) in the instance's history. Who may read or write them is who may see
the instance (processes.policy); the web layer loads the object through the policy first."""
from __future__ import annotations

from sqlalchemy import insert, select

from engine.errors import Invalid
from engine.store import Unit

from .schema import comments, users
from engine.i18n import _

MAX_LENGTH = 2000


def add(unit: Unit, instance_id: str, task_id: str | None, author: str, body) -> dict:
    """A comment by `author`; blank or overlong text is refused (422, in Chinese)."""
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise Invalid(_("评论内容不能为空"), {"body": ["请填写评论内容"]})
    if len(text) > MAX_LENGTH:
        raise Invalid(_("评论不能超过 {MAX_LENGTH} 字").format(MAX_LENGTH=MAX_LENGTH),
                      {"body": [f"不能超过 {MAX_LENGTH} 字"]})
    cid = unit.conn.execute(insert(comments).values(
        instance_id=instance_id, task_id=task_id, author=author, body=text,
        created_at=unit.now).returning(comments.c.id)).scalar_one()
    unit.record("comment.added", instance_id, task_id, comment_id=cid, body=text)
    return read_one(unit.conn, cid)


def _select():
    return (select(comments, users.c.display_name)
            .join(users, users.c.username == comments.c.author, isouter=True))


def _shape(row) -> dict:
    return {"id": row.id, "instance_id": row.instance_id, "task_id": row.task_id,
            "author": row.author, "author_name": row.display_name or row.author,
            "body": row.body, "created_at": row.created_at}


def read_one(conn, comment_id: int) -> dict:
    return _shape(conn.execute(_select().where(comments.c.id == comment_id)).one())


def of_instance(conn, instance_id: str, task_id: str | None = None) -> list[dict]:
    """An instance's comments, oldest first (all of them, or one task's)."""
    stmt = _select().where(comments.c.instance_id == instance_id)
    if task_id is not None:
        stmt = stmt.where(comments.c.task_id == task_id)
    return [_shape(r) for r in conn.execute(stmt.order_by(comments.c.id)).all()]


def participants(conn, instance_id: str) -> set[str]:
    """Who commented on the instance (they hear of later comments)."""
    return set(conn.execute(select(comments.c.author).where(
        comments.c.instance_id == instance_id).distinct()).scalars())
