"""Database upgrades through Alembic (migrations/)."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config

from engine.db import Database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    """Create or upgrade the schema to the newest revision; safe to run again."""
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
