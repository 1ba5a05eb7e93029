"""Application factory: `flask --app app ...` and `create_app()` build the whole platform.

`celery -A app worker|beat` finds its Celery application here too (`app.celery`, built on
first access by `create_app()` from the same settings): Celery is configured from the app.
Nothing is built at import time.
"""
from __future__ import annotations

import importlib
import logging
import os
import secrets

from flask import Flask

from engine.core import Engine, EngineSettings
from engine.db import Database
from settings import Settings


def _secret_key(var_dir: str) -> str:
    """A stable key for the embedded default, so tokens survive a restart."""
    path = os.path.join(var_dir, "secret_key")
    if os.path.exists(path):
        with open(path) as fh:
            return fh.read().strip()
    os.makedirs(var_dir, exist_ok=True)
    key = secrets.token_hex(32)
    with open(path, "w") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key


def create_app(config: dict | None = None, settings: Settings | None = None) -> Flask:
    """`config` takes the contract's keys (DATABASE_URL, CELERY_BROKER_URL, REDIS_URL,
    MQTT_URL, SECRET_KEY), ENGINE (engine limits) and any Flask setting; it overrides the
    environment, which overrides JIANGUAN_SETTINGS_FILE (see settings.py)."""
    settings = settings or Settings.load(overrides=config)
    if not settings.secret_key:
        settings = settings.replace(secret_key=_secret_key(settings.var_dir))
    if not settings.database_url:
        path = os.path.join(settings.var_dir, "jianguan.db")
        settings = settings.replace(database_url=f"sqlite:///{path}")
    app = Flask(__name__, static_folder="web/static", static_url_path="/static")
    app.config.update(
        API_TITLE="Jianguan 监管 API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/static/vendor/swagger-ui-dist/",
        MAX_CONTENT_LENGTH=32 * 1024 * 1024, JSON_AS_ASCII=False,
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]},
    )
    app.config.update({k: v for k, v in (config or {}).items() if k != "ENGINE"})
    app.config.update(settings.flask_config())
    app.extensions["jianguan.settings"] = settings
    app.json.ensure_ascii = False

    from processes import operations, policy

    engine = Engine(db=Database(settings.database_url),
                    settings=EngineSettings(**settings.engine_settings()),
                    role_of=policy.role_of_lane, scope_of=policy.scope_of,
                    audit_key=settings.audit_secret)
    if not settings.audit_key and not app.config.get("TESTING"):
        logging.getLogger(__name__).warning(
            "未设置 JIANGUAN_AUDIT_KEY: 审计链密钥由 SECRET_KEY 派生, 生产环境请单独设置并存放于"
            "数据库之外 (audit key derived from SECRET_KEY)")
    operations.register(engine.services)
    for name in settings.extra_operations:
        importlib.import_module(name).register(engine.services)
    app.extensions["jianguan.engine"] = engine
    _register_adapters(app, settings, engine)

    from web import api
    api.register(app)                 # first: it localizes the schemas' messages
    from web import cli, ui
    ui.register(app)
    cli.register(app)
    return app


def _register_adapters(app: Flask, settings: Settings, engine: Engine) -> None:
    """The outside world the domain asks for through its interfaces."""
    from integrations.pdf import PdfRenderer
    from processes import documents

    documents.register_renderer(PdfRenderer(), documents.Issuer(settings.authority,
                                                                settings.public_url or ""))
    if not settings.public_url and not (app.testing or app.debug):
        app.logger.warning("未设置 JIANGUAN_PUBLIC_URL: 文书二维码取网页请求的主机地址; 仅运行 "
                           "worker 的进程用 %s (JIANGUAN_PUBLIC_URL is not set)",
                           documents.FALLBACK_PUBLIC_URL)
    from integrations.notify_channels import channels_for
    from processes import notifications
    notifications.register_channels(channels_for(settings))
    if settings.celery_broker_url:
        from integrations import celery_app

        celery = celery_app.make_celery(settings, engine)
        app.extensions["jianguan.celery"] = celery
        engine.wake = celery_app.waker(celery, settings.celery_queue)


def __getattr__(name: str):
    """`celery -A app ...`: Celery asks this module for `app` (none here), then `celery`."""
    if name == "celery":
        built = create_app()
        if "jianguan.celery" not in built.extensions:
            raise RuntimeError("未配置 CELERY_BROKER_URL, 无法启动 Celery (no broker configured)")
        return built.extensions["jianguan.celery"]
    raise AttributeError(name)
