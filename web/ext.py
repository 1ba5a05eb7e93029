"""Access to the app's engine from request handlers."""
from __future__ import annotations

from flask import current_app

from engine.core import Engine


def services() -> Engine:
    return current_app.extensions["jianguan.engine"]
