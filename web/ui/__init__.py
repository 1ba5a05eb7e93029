"""The browser pages: server-rendered shells in Chinese that fetch their data from /api/v1.

`register(app)` is called by `create_app` after the API. Every module of this package that
defines a Flask blueprint named `bp` is registered (sorted by module name), so a new page is
one new module here plus its template; nothing else needs editing. Nothing runs at import.
"""
from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta

from flask import Flask


def register(app: Flask) -> None:
    # The session cookie carries only the user id, a timestamp and the CSRF token; HttpOnly
    # keeps scripts from reading it, Lax keeps other sites' forms from sending it on POST.
    # (Flask's defaults are already in app.config, so these are set, not defaulted.)
    app.config["SESSION_COOKIE_NAME"] = "jianguan_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=12)
    # Secure: the cookie only over HTTPS (SESSION_COOKIE_SECURE, settings.py; off for plain
    # http://127.0.0.1). Sign-in throttling and the security headers: web/throttle, web/headers.
    app.config["SESSION_COOKIE_SECURE"] = app.extensions["jianguan.settings"].session_cookie_secure
    from .. import headers, throttle
    headers.register(app)
    throttle.register(app)

    from . import common, errors

    app.register_blueprint(common.shared)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in ("common", "errors"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        blueprint = getattr(module, "bp", None)
        if blueprint is not None:
            app.register_blueprint(blueprint)
    errors.register(app)
