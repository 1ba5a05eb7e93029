"""Security headers on every response, the session cookie's flags, per-user salts of the demo
accounts, load-demo's guard against a database in use, and the demo password hint only where
demo accounts exist (issue 15 item 9)."""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import select

from engine.clock import clock
from processes.demo import DEMO_PASSWORD, USERS, load_reference
from processes.schema import users

TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "web", "templates")


def csp_of(response) -> dict:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/login", "/api/v1/tasks", "/static/app/app.css",
                                  "/no-such-page", "/api/openapi.json"])
def test_every_response_carries_the_security_headers(sqlite_app, path):
    r = sqlite_app.test_client().get(path)
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    csp = csp_of(r)
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]


def test_the_api_docs_page_allows_only_its_own_inline_script(sqlite_app):
    r = sqlite_app.test_client().get("/api/docs")
    assert r.status_code == 200
    sources = csp_of(r)["script-src"]
    assert "'unsafe-inline'" not in sources
    assert [s for s in sources if s.startswith("'sha256-")]


def test_no_page_template_has_an_inline_script():
    for name in os.listdir(TEMPLATES):
        with open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
            html = fh.read()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), name
        assert not re.search(r"\son[a-z]+=\"", html), name       # no inline event handlers


def sign_in_cookie(app) -> str:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/login", data={"username": "inspector_cc", "password": DEMO_PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 302
    return r.headers["Set-Cookie"]


def test_the_session_cookie_is_httponly_lax_and_not_secure_on_plain_http(app):
    cookie = sign_in_cookie(app)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_behind_https_the_cookie_is_secure(tmp_path, request):
    from app import create_app
    from tests.conftest import make_database_url

    application = create_app({"DATABASE_URL": make_database_url("sqlite", tmp_path, request),
                              "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "var"),
                              "TESTING": True, "SESSION_COOKIE_SECURE": "true"})
    try:
        with application.extensions["jianguan.engine"].db.write() as conn:
            load_reference(conn)
        assert "; Secure" in sign_in_cookie(application)
        assert application.test_client().get("/login").headers[
            "Strict-Transport-Security"].startswith("max-age=")
    finally:
        application.extensions["jianguan.engine"].close()
        clock.reset()


def test_demo_accounts_have_their_own_salts(app):
    with app.extensions["jianguan.engine"].db.read() as conn:
        hashes = list(conn.execute(select(users.c.password_hash).where(
            users.c.username.in_([u[0] for u in USERS]))).scalars())
    assert len(hashes) == len(USERS)
    assert len(set(hashes)) == len(hashes)
    assert len({h.split("$")[1] for h in hashes}) == len(hashes)       # the salts differ


def test_the_login_page_shows_the_demo_password_only_with_demo_accounts(sqlite_app):
    client = sqlite_app.test_client()
    assert DEMO_PASSWORD not in client.get("/login").get_data(as_text=True)
    with sqlite_app.extensions["jianguan.engine"].db.write() as conn:
        load_reference(conn)
    assert DEMO_PASSWORD in client.get("/login").get_data(as_text=True)


def test_load_demo_refuses_a_database_with_users_unless_forced(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    r = runner.invoke(args=["create-user", "wang", "--role", "inspector",
                            "--password", "s3cret-pass", "--district", "禅城区"])
    assert r.exit_code == 0, r.output
    refused = runner.invoke(args=["load-demo"])
    assert refused.exit_code != 0 and "--force" in refused.output
    skipped = runner.invoke(args=["load-demo", "--if-empty"])       # make run, second start
    assert skipped.exit_code == 0 and "未载入" in skipped.output
    with sqlite_app.extensions["jianguan.engine"].db.read() as conn:
        names = set(conn.execute(select(users.c.username)).scalars())
    assert names == {"wang"}
