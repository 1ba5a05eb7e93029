"""Domain tables, on the engine's metadata so that one Alembic history covers everything."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Integer, String, Table

from engine.schema import metadata

ROLES = ("admin", "designer", "inspector", "contractor", "supervisor", "expert", "leader",
         "auditor", "gateway")
BUREAU_ROLES = ("admin", "designer", "inspector", "leader", "auditor")
ENTERPRISE_ROLES = ("contractor", "supervisor")

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
    Column("created_at", DateTime(timezone=True), nullable=False),
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
