"""GET /healthz for load balancers and process managers: no token, no HTML.

200 `{"status": "ok", "database": "ok", "redis": "ok"|"off", "broker": "ok"|"off"}` when every
configured part answers ("off": not configured, e.g. the embedded default); otherwise 503 with
`"status": "down"`, `"down": [the parts that failed]` and `"errors": {part: reason}`."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from integrations import health

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    engine = current_app.extensions["jianguan.engine"]
    parts, errors = health.web_parts(engine.db, current_app.extensions["jianguan.settings"])
    if errors:
        body = {"status": "down", **parts, "down": sorted(errors), "errors": errors}
        return jsonify(body), 503
    return jsonify({"status": "ok", **parts})
