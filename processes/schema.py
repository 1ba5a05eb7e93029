"""Domain tables, on the engine's metadata so that one Alembic history covers everything."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKey, Index, Integer,
                        LargeBinary, String, Table, Text, UniqueConstraint)

from engine.schema import UTCDateTime, metadata

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
