"""Domain tables, on the engine's metadata so that one Alembic history covers everything."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKey, Index, Integer,
                        LargeBinary, String, Table, Text, UniqueConstraint)

from engine.schema import UTCDateTime, metadata
from engine.schema import tasks as _engine_tasks

# roles, and who may do what: processes/policy.py

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("district", String(50)),           # bureau staff: None means the whole city
    Column("enterprise_code", String(50)),    # enterprise staff (and experts' employer)
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Signed-in browsers and issued API tokens, so that sign-out, a password change or a
# deactivation ends them at once (the cookie or token carries a secret; only its SHA-256 is here).
sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),          # sha256 hex of the secret
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),           # browser | token
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

enterprises = Table(
    "enterprises", metadata,
    Column("code", String(50), primary_key=True),    # unified social credit code or short code
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),      # builder contractor supervisor installer ...
    Column("score", Integer, nullable=False, default=0),
)

projects = Table(
    "projects", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(50), nullable=False, index=True),
    Column("address", String(300)),
    Column("lat", Float),
    Column("lng", Float),
    Column("builder_code", String(50), index=True),
    Column("contractor_code", String(50), index=True),
    Column("supervisor_code", String(50), index=True),
    Column("status", String(20), nullable=False, default="在建"),
    Column("progress", String(200)),
    Column("extra", JSON, nullable=False, default=dict),
)

devices = Table(
    "devices", metadata,
    Column("id", String(80), primary_key=True),            # device id as in the MQTT topic
    Column("project_code", String(50), nullable=False, index=True),
    Column("device_type", String(10), nullable=False),     # dust pit crane video
    Column("name", String(200), nullable=False),
    Column("crane_id", String(80)),                        # the crane a black box sits on
    Column("state", String(20), nullable=False, default="online"),
    Column("last_seen_at", UTCDateTime()),
    Column("latest", JSON, nullable=False, default=dict),
    # per threshold: since when a reading has been above it, and which levels are raised
    Column("alarm_state", JSON, nullable=False, default=dict),
)

cranes = Table(
    "cranes", metadata,
    Column("id", String(80), primary_key=True),            # 设备编号
    Column("project_code", String(50), nullable=False, index=True),
    Column("model", String(100), nullable=False),
    Column("owner_code", String(50)),                      # 产权单位
    Column("installer_code", String(50)),                  # 安装单位
    Column("filing_no", String(50)),                       # 产权备案编号
    Column("capacity_kn", Float),
    Column("state", String(20), nullable=False, default="planned"),
)

experts = Table(
    "experts", metadata,
    Column("username", String(100), primary_key=True),     # the expert's user account
    Column("name", String(100), nullable=False),
    Column("employer_code", String(50)),
    Column("employer", String(200), nullable=False),
    Column("title", String(50), nullable=False),
    Column("specialty", String(50), nullable=False, index=True),
    Column("active", Boolean, nullable=False, default=True),
)

expert_draws = Table(
    "expert_draws", metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_id", String(36), nullable=False, index=True),
    Column("project_code", String(50)),
    Column("specialty", String(50), nullable=False),
    Column("seed", String(64), nullable=False),
    Column("candidates", JSON, nullable=False),             # eligible usernames, in order
    Column("excluded", JSON, nullable=False),               # usernames refused and why
    Column("chosen", JSON, nullable=False),
    Column("drawn_at", UTCDateTime(), nullable=False),
)

score_events = Table(
    "score_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("enterprise_code", String(50), nullable=False, index=True),
    Column("project_code", String(50), index=True),
    Column("instance_id", String(36)),
    Column("item", String(300), nullable=False),
    Column("points", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

documents = Table(
    "documents", metadata,
    Column("id", String(36), primary_key=True),
    Column("instance_id", String(36), nullable=False, index=True),
    Column("kind", String(50), nullable=False),
    Column("number", String(60), nullable=False, unique=True),   # per kind and year
    Column("title", String(200), nullable=False),
    Column("status", String(20), nullable=False),         # requested generated failed
    Column("sha256", String(64)),
    Column("replaces", String(36)),
    Column("data", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("verify_code", String(16), unique=True),      # printed on the PDF
)

document_files = Table(
    "document_files", metadata,
    Column("document_id", String(36), ForeignKey("documents.id"), primary_key=True),
    Column("pdf", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# --- Devices: what they sent, what it did -------------------------------------------------

alarms = Table(
    "alarms", metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", String(80), nullable=False),
    Column("alarm_id", String(120), nullable=False),         # unique per device: QoS 1 repeats
    Column("project_code", String(50), nullable=False),
    Column("device_type", String(10), nullable=False),
    Column("type", String(40), nullable=False),              # pm10 overload wind offline ...
    Column("level", String(10), nullable=False),             # warning alarm danger
    Column("value", Float),
    Column("threshold", Float),
    Column("at", UTCDateTime()),                   # the device's time
    Column("received_at", UTCDateTime(), nullable=False, index=True),
    Column("source", String(10), nullable=False),            # mqtt http threshold silence
    Column("effect", String(20), nullable=False),            # correlated started merged recorded
    Column("instances", JSON, nullable=False, default=list),
    Column("note", String(300)),
    Column("payload", JSON),
    UniqueConstraint("device_id", "alarm_id"),
)
Index("ix_alarms_project_received", alarms.c.project_code, alarms.c.received_at)
# the latest alarm of a device and type: which rectification a repeat joins
Index("ix_alarms_device_type", alarms.c.device_id, alarms.c.type, alarms.c.id)

readings = Table(
    "readings", metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", String(80), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("values", JSON, nullable=False),
    UniqueConstraint("device_id", "at"),                     # a repeated delivery is one reading
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("id", Integer, primary_key=True),
    Column("received_at", UTCDateTime(), nullable=False, index=True),
    Column("source", String(10), nullable=False),            # mqtt http
    Column("topic", String(300)),
    Column("payload", Text),                                 # the first 4 KB, as text
    Column("size", Integer, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("errors", JSON, nullable=False, default=dict),
    # the known project the payload names (topic or body), for scoping the list; None: unknown
    Column("project_code", String(50), index=True),
)

# Limits are data: a project (or one device) may override the city-wide default of a metric.
thresholds = Table(
    "thresholds", metadata,
    Column("id", Integer, primary_key=True),
    Column("device_type", String(10), nullable=False),
    Column("metric", String(40), nullable=False),
    Column("level", String(10), nullable=False),             # warning alarm danger
    Column("limit", Float, nullable=False),                  # reading >= limit crosses it
    Column("sustain_seconds", Integer, nullable=False, default=0),
    Column("project_code", String(50)),                      # None: every project
    Column("device_id", String(80)),                         # None: every device
    Column("note", String(200)),
)

# -- the task platform: comments, saved inbox filters, notifications and their outbox -------
# (processes/comments.py, processes/inbox.py, processes/notifications.py)
comments = Table(
    "comments", metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_id", String(36), nullable=False),
    Column("task_id", String(36)),                          # None: on the instance itself
    Column("author", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_comments_instance", comments.c.instance_id, comments.c.id)

saved_filters = Table(
    "saved_filters", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("name", String(50), nullable=False),
    Column("query", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("username", "name"),
)

notifications = Table(
    "notifications", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("kind", String(20), nullable=False),             # task due alarm assigned comment
    Column("key", String(200), nullable=False),             # once per user and key
    Column("title", String(300), nullable=False),
    Column("link", String(300)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("read_at", UTCDateTime()),
    UniqueConstraint("username", "key"),
)
Index("ix_notifications_user", notifications.c.username, notifications.c.id)

# outbound deliveries, written with their notification and sent after commit by a worker
notification_outbox = Table(
    "notification_outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("notification_id", Integer, ForeignKey("notifications.id"), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("state", String(10), nullable=False),            # pending sent failed
    Column("attempts", Integer, nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("last_error", String(500)),
    Column("sent_at", UTCDateTime()),
)
Index("ix_outbox_state_due", notification_outbox.c.state, notification_outbox.c.due_at)

# how far each notification pass has read (new tasks, alarms)
notification_marks = Table(
    "notification_marks", metadata,
    Column("name", String(40), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
)

# --- Data imported from the districts' systems (processes/importing) --------------------------

import_jobs = Table(
    "import_jobs", metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(20), nullable=False),              # projects devices ...
    Column("filename", String(200), nullable=False),
    Column("mode", String(10), nullable=False),              # all valid
    Column("status", String(10), nullable=False),            # done rejected
    Column("actor", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
    Column("total", Integer, nullable=False, default=0),
    Column("created", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("mapping", JSON, nullable=False, default=dict),   # header -> field
    Column("errors", JSON, nullable=False, default=list),    # [{row, key, messages}], capped
)

# What a natural key of an imported record became (an open rectification: its instance), so a
# second import of the same file finds it instead of starting another.
import_refs = Table(
    "import_refs", metadata,
    Column("kind", String(20), primary_key=True),
    Column("ref", String(100), primary_key=True),
    Column("target", String(36), nullable=False),
    Column("job_id", String(36), nullable=False),
)

# Moving running instances to another version (processes/migrations.py): one row per batch,
# one per instance with its own state, so a batch killed midway resumes where it stopped.
migrations = Table(
    "migrations", metadata,
    Column("id", Integer, primary_key=True),
    Column("process_key", String(200), nullable=False),
    Column("from_version", Integer, nullable=False),
    Column("to_version", Integer, nullable=False),
    Column("mapping", JSON, nullable=False),                 # old element id -> new id | None
    Column("state", String(12), nullable=False),             # running done
    Column("total", Integer, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
)
migration_items = Table(
    "migration_items", metadata,
    Column("migration_id", Integer, ForeignKey("migrations.id"), primary_key=True),
    Column("instance_id", String(36), primary_key=True),
    Column("state", String(12), nullable=False),             # pending moved refused failed
    Column("waiting", JSON, nullable=False, default=list),   # elements it waited at
    Column("moves", JSON, nullable=False, default=dict),     # old element -> new element
    Column("message", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_migration_items_migration_id_state", migration_items.c.migration_id,
      migration_items.c.state)

# Process analytics (processes/analytics.py): completed user tasks rolled up per process,
# element, day (and month) and one dimension (all, district, enterprise, inspector), with a duration
# histogram (HISTOGRAM_BUCKETS columns h0.. of sqrt(2)-wide buckets from one minute up), so a
# page over millions of history rows sums a few thousand rows. A watermark says how far the
# rollup has read the tasks table.
HISTOGRAM_BUCKETS = 40
analytics_rollup = Table(
    "analytics_rollup", metadata,
    Column("id", Integer, primary_key=True),
    Column("process_key", String(200), nullable=False),
    Column("element_id", String(200), nullable=False),
    Column("element_name", String(300), nullable=False),
    Column("grain", String(5), nullable=False),               # day | month
    Column("day", String(10), nullable=False),                # YYYY-MM-DD or YYYY-MM (UTC)
    Column("dim", String(12), nullable=False),                # all district enterprise inspector
    Column("dim_value", String(200), nullable=False),         # '' for all
    Column("count", Integer, nullable=False),
    Column("total_seconds", Float, nullable=False),
    Column("overdue", Integer, nullable=False),               # completed after its due time
    Column("rework", Integer, nullable=False),                # done again in the same instance
    *[Column(f"h{i}", Integer, nullable=False, default=0) for i in range(HISTOGRAM_BUCKETS)],
)
Index("ix_analytics_rollup_grain_dim_day", analytics_rollup.c.grain, analytics_rollup.c.dim,
      analytics_rollup.c.day, analytics_rollup.c.process_key)
analytics_watermark = Table(
    "analytics_watermark", metadata,
    Column("name", String(40), primary_key=True),
    Column("ended_before", UTCDateTime(), nullable=False),    # tasks ended before: rolled up
)
# the rollup reads completed tasks by the time they ended
Index("ix_tasks_ended_at", _engine_tasks.c.ended_at)
