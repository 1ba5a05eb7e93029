"""Security headers on every response (issue 15 item 9).

The pages load scripts only from /static (no inline script, no eval); styles may be inline
(`style=` attributes and the <style> blocks of a few pages, and bpmn-js and ECharts set styles
on the elements they draw), which cannot run code. The one inline script we serve is the
Swagger UI page of flask-smorest (/api/docs): a fixed template with no user data, allowed by
the hash of its own script rather than by 'unsafe-inline'.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def content_security_policy(extra_scripts: list[str] = ()) -> str:
    policy = dict(POLICY)
    if extra_scripts:
        hashes = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in extra_scripts)
        policy["script-src"] += " " + hashes
    return "; ".join(f"{k} {v}" for k, v in policy.items())


def register(app: Flask) -> None:
    settings = app.extensions["jianguan.settings"]
    docs_path = "/" + "/".join(p.strip("/") for p in (
        app.config.get("OPENAPI_URL_PREFIX") or "", app.config.get("OPENAPI_SWAGGER_UI_PATH")
        or "") if p.strip("/"))
    plain = content_security_policy()

    @app.after_request
    def _security_headers(response: Response) -> Response:
        csp = plain
        if request.path == docs_path and response.mimetype == "text/html":
            csp = content_security_policy(_INLINE_SCRIPT.findall(response.get_data(as_text=True)))
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if settings.session_cookie_secure:      # served over HTTPS: browsers keep to it
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
