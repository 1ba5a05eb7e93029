"""The engine's tables. Core tables, not ORM classes: the hot path is a handful of explicit
statements per step, and Alembic reads the same metadata."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text, TypeDecorator,
                        UniqueConstraint, false, literal_column)

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(TypeDecorator):
    """A point in time, always handed back aware and in UTC. PostgreSQL keeps the offset
    (timestamptz); SQLite keeps text without one, which is UTC because every value is turned
    into UTC on the way in. One type instead of `_aware` helpers wherever a row is read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, datetime):
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None \
                else value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if isinstance(value, datetime):
            return value.replace(tzinfo=timezone.utc) if value.tzinfo is None \
                else value.astimezone(timezone.utc)
        return value


def utc(name: str, **kw) -> Column:
    return Column(name, UTCDateTime(), **kw)


# Deployed files: BPMN, DMN and form definitions, each kind versioned per key.
definitions = Table(
    "definitions", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),          # bpmn | dmn | form
    Column("key", String(200), nullable=False),          # process id, decision id or form id
    Column("version", Integer, nullable=False),
    Column("name", String(300), nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),        # of what the version runs (see deploy)
    Column("source", Text, nullable=False),              # the file as deployed
    Column("compiled", JSON),                            # bpmn: serialized spec + subprocess specs
    Column("meta", JSON, nullable=False, default=dict),  # lanes, start lane, start messages, refs
    utc("deployed_at", nullable=False),
    Column("deployed_by", String(100), nullable=False),
    UniqueConstraint("kind", "key", "version"),
)
Index("ix_definitions_kind_key_sha", definitions.c.kind, definitions.c.key, definitions.c.sha256)

# Which process keys a message name starts (latest versions only).
start_messages = Table(
    "start_messages", metadata,
    Column("message_name", String(200), primary_key=True),
    Column("process_key", String(200), primary_key=True),
)

instances = Table(
    "instances", metadata,
    Column("id", String(36), primary_key=True),
    Column("definition_id", Integer, ForeignKey("definitions.id"), nullable=False),
    Column("process_key", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("business_key", String(200), index=True),
    Column("scope_key", String(200), index=True),        # who may see it: decided by the domain
    Column("state", String(12), nullable=False, index=True),  # running completed cancelled error
    Column("lock_version", Integer, nullable=False),
    Column("blob", LargeBinary, nullable=False),          # serialized workflow, spec kept out
    Column("variables", JSON, nullable=False, default=dict),
    # BPMN element ids completed so far (kept per step: the blob may lose finished history)
    Column("completed_elements", JSON),
    Column("started_by", String(100), nullable=False),
    utc("started_at", nullable=False),
    utc("updated_at", nullable=False),
    utc("ended_at"),
    Column("parent_id", String(36)),
)

# Projection of open (and past) user tasks: the inbox reads this, never the blobs.
tasks = Table(
    "tasks", metadata,
    Column("id", String(36), primary_key=True),          # spiff task id
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False),
    Column("process_key", String(200), nullable=False),
    Column("element_id", String(200), nullable=False),
    Column("name", String(300), nullable=False),
    Column("lane", String(200)),
    Column("role", String(40), index=True),
    Column("form_key", String(200)),
    Column("scope_key", String(200), index=True),
    Column("state", String(12), nullable=False),          # open completed cancelled
    Column("assignee", String(100), index=True),
    Column("draft", JSON),
    utc("due_at"),
    utc("created_at", nullable=False),
    utc("ended_at"),
    Column("ended_by", String(100)),
)
Index("ix_tasks_state_role", tasks.c.state, tasks.c.role)
# The inbox over many open tasks: a role's open tasks in the inbox's whole sort order, and
# the same per project (processes/inbox.py merges those ranges; they also count by project
# without instances). PostgreSQL's ascending btree puts NULLs last, as the inbox does; id
# breaks ties, so a first page never sorts a large group of equal times.
Index("ix_tasks_open_role_due", tasks.c.role, tasks.c.due_at, tasks.c.created_at, tasks.c.id,
      postgresql_where=tasks.c.state == "open", sqlite_where=tasks.c.state == "open")
Index("ix_tasks_open_role_scope", tasks.c.role, tasks.c.scope_key, tasks.c.due_at,
      tasks.c.created_at, tasks.c.id,
      postgresql_where=tasks.c.state == "open", sqlite_where=tasks.c.state == "open")
# Queries meant for those partial indexes say `state = 'open'` as a constant: psycopg prepares
# a statement after a few runs, and PostgreSQL's generic plan for it cannot prove a partial
# index's predicate from a bound parameter (seen: a first page read 25,000 rows, 36 ms).
TASK_IS_OPEN = tasks.c.state == literal_column("'open'")
Index("ix_tasks_instance_state", tasks.c.instance_id, tasks.c.state)


def _waits() -> list[Column]:
    """What an instance waits for at one of its tasks (a message, a timer): fresh columns for
    each table, since a Column belongs to one table."""
    return [Column("id", Integer, primary_key=True),
            Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False,
                   index=True),
            Column("task_id", String(36), nullable=False),
            Column("element_id", String(200), nullable=False)]


# Waiting message events: correlation looks these up, never loads instances to find them.
subscriptions = Table(
    "subscriptions", metadata,
    *_waits(),
    Column("message_name", String(200), nullable=False),
    Column("correlation", JSON, nullable=False),          # property -> instance-side value
    Column("match_key", String(64)),                      # hash of correlation; NULL: never matches
    utc("created_at", nullable=False),
)
Index("ix_subscriptions_name_key", subscriptions.c.message_name, subscriptions.c.match_key)

timers = Table(
    "timers", metadata,
    *_waits(),
    Column("kind", String(20), nullable=False),           # date | duration | cycle | async
    utc("due_at", nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),   # failed async runs so far
)

# Every message received over the API, MQTT or from a process; also the de-duplication record.
messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(200), unique=True),
    Column("name", String(200), nullable=False, index=True),
    Column("correlation", JSON, nullable=False),
    Column("payload", JSON),
    Column("status", String(12), nullable=False, index=True),  # correlated started buffered expired
    Column("result", JSON, nullable=False, default=dict),
    Column("sender", String(100), nullable=False),
    utc("received_at", nullable=False),
    utc("expires_at"),
)

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False, index=True),
    Column("task_id", String(36)),
    Column("element_id", String(200)),
    Column("kind", String(40), nullable=False),
    Column("message", Text, nullable=False),
    utc("created_at", nullable=False),
    utc("resolved_at"),
    Column("resolved_by", String(100)),
)

# Append-only, hash-chained. `audit_head` is the single row writers lock to append in order.
audit_events = Table(
    "audit_events", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=False),
    utc("at", nullable=False),
    Column("actor", String(100), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("instance_id", String(36), index=True),
    Column("task_id", String(36)),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", String(64), nullable=False),
    # new events are HMAC-keyed (engine.audit); False on a database from before the key
    Column("keyed", Boolean, nullable=False, default=False, server_default=false()),
)

attachments = Table(
    "attachments", metadata,
    Column("id", String(36), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("uploaded_by", String(100), nullable=False),
    Column("instance_id", String(36), index=True),
    Column("task_id", String(36), index=True),
    Column("field", String(200)),
    Column("used", Boolean, nullable=False, default=False),
    utc("uploaded_at", nullable=False),
)

# Timer start events: the next due time of each (engine/schedules.py starts the instances).
schedules = Table(
    "schedules", metadata,
    Column("process_key", String(200), primary_key=True),
    Column("definition_id", Integer, nullable=False),     # the version it was read from
    Column("element_id", String(200), nullable=False),    # the timer start event
    Column("kind", String(20), nullable=False),           # cycle | date | duration
    Column("expression", String(500), nullable=False),    # as evaluated, e.g. R/P7D
    Column("start_for", String(200)),                     # fan-out operation, or NULL
    utc("next_due_at", index=True),                       # NULL: nothing more to start
    Column("remaining", Integer),                         # cycles left; NULL: for ever
    Column("fired_count", Integer, nullable=False, default=0),
    utc("last_fired_at"),
    utc("updated_at", nullable=False),
)
