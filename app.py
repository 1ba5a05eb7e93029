"""Application factory: `flask --app app ...` and `create_app()` build the whole platform."""
from __future__ import annotations

import os
import secrets

from flask import Flask, request

from engine.core import Engine, EngineSettings
from engine.db import Database

ENV_KEYS = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "MQTT_URL", "SECRET_KEY",
            "MQTT_TOPIC_PREFIX")


def _secret_key(instance_dir: str) -> str:
    """A stable key for the embedded default, so tokens survive a restart."""
    path = os.path.join(instance_dir, "secret_key")
    if os.path.exists(path):
        with open(path) as fh:
            return fh.read().strip()
    os.makedirs(instance_dir, exist_ok=True)
    key = secrets.token_hex(32)
    with open(path, "w") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key


def _engine_settings(config: dict) -> EngineSettings:
    values = dict(config.get("ENGINE", {}))
    if os.environ.get("JIANGUAN_TASK_MAX_RETRIES"):
        values.setdefault("job_attempts", int(os.environ["JIANGUAN_TASK_MAX_RETRIES"]) + 1)
    if os.environ.get("JIANGUAN_RETRY_BACKOFF"):
        values.setdefault("job_backoff_seconds", float(os.environ["JIANGUAN_RETRY_BACKOFF"]))
    return EngineSettings(**values)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder="web/static", static_url_path="/static")
    app.config.update(
        API_TITLE="Jianguan 监管 API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/static/vendor/swagger-ui-dist/",
        MAX_CONTENT_LENGTH=32 * 1024 * 1024, JSON_AS_ASCII=False,
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]},
        VAR_DIR=os.path.abspath("var"),
    )
    for key in ENV_KEYS:
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.config["VAR_DIR"])
    app.json.ensure_ascii = False

    from processes import access

    database = Database(app.config.get("DATABASE_URL"))
    engine = Engine(db=database, settings=_engine_settings(app.config),
                    role_of=access.role_of_lane, scope_of=access.scope_of)
    if app.config.get("CELERY_BROKER_URL"):
        from integrations import celery_app
        engine.wake = celery_app.wake
    from processes import operations
    operations.register(engine.services)
    app.extensions["jianguan.engine"] = engine

    _register_api(app)
    from web import ui; ui.register(app)  # noqa: E702  the browser pages (web/ui/)
    from web import cli
    cli.register(app)
    return app


def _register_api(app: Flask) -> None:
    from flask_smorest import Api

    from web.localize import localize
    localize()

    from web import (alarms, attachments, audit, auth, dashboard, definitions, devices,
                     documents, duties, errors, health, instances, messages, projects,
                     records, tasks)

    api = Api(app)
    for module in (auth, definitions, instances, tasks, attachments, messages, projects,
                   records, documents, duties, audit, dashboard, alarms, devices):
        api.register_blueprint(module.blp)
    app.register_blueprint(documents.pages)      # the public verification page, not API
    app.register_blueprint(health.blp)          # /healthz, no token
    errors.register(app)

    @app.before_request
    def _require_token():
        # 401 comes before any other check, on every API call but the login itself
        if (request.path.startswith("/api/v1/") and request.path != "/api/v1/auth/token"
                and not request.path.startswith("/api/v1/verify/")):
            auth.current()
