"""The JSON API under /api/v1: blueprints, the JSON error shape, and the policy check that runs
before every call (web.auth.authorize)."""
from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

MODULES = ("auth", "definitions", "instances", "tasks", "attachments", "messages", "projects",
           "records", "documents", "duties", "audit", "dashboard", "alarms", "devices",
           "comments", "notifications", "imports", "migrations", "analytics")


def register(app: Flask) -> None:
    import importlib

    from . import i18n
    i18n.register(app)      # first: the locale of a request is chosen before any other hook
    from .localize import localize
    localize()              # before any schema is made: fields copy their messages when built

    from . import auth, documents, errors, health
    api = Api(app)
    for name in MODULES:
        api.register_blueprint(importlib.import_module(f"web.{name}").blp)
    app.register_blueprint(documents.pages)      # the public verification page, not API
    app.register_blueprint(health.blp)           # /healthz, no token
    errors.register(app)

    @app.before_request
    def _authorize():
        if request.path.startswith("/api/v1/"):
            auth.authorize()
