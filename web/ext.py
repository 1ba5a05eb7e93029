"""Access to the app's engine and its per-process memos from request handlers."""
from __future__ import annotations

from flask import current_app

from engine.core import Engine
from engine.memo import Memo


def services() -> Engine:
    return current_app.extensions["jianguan.engine"]


def memo(name: str) -> Memo:
    """The app's memo of that name (one per app, so apps in one process never share)."""
    memos = current_app.extensions.setdefault("jianguan.memos", {})
    found = memos.get(name)
    if found is None:
        found = memos.setdefault(name, Memo())
    return found
