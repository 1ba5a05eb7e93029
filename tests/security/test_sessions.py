"""Sessions and sign-in (issue 15 items 6-8): sign-in is throttled per account and per client
address, an unknown user costs the same hash work as a known one, sign-out, a password change
and a deactivation end the sessions they concern at once (a copied cookie or token stops
working), API tokens can be revoked, and /login?next= only returns to a path of this site."""
from __future__ import annotations

import re
import time
import uuid

import pytest

from engine.clock import clock
from processes import people
from processes.demo import DEMO_PASSWORD, load_reference

WRONG = "not-the-password"


@pytest.fixture
def limited_app(tmp_path, request):
    """SQLite, the demo's people, and small throttle limits."""
    yield from _app(tmp_path, request, {"JIANGUAN_LOGIN_LIMIT_ACCOUNT": "3 per 15 minutes",
                                        "JIANGUAN_LOGIN_LIMIT_ADDRESS": "6 per 15 minutes"})


def _app(tmp_path, request, extra):
    from app import create_app
    from tests.conftest import make_database_url

    url = make_database_url("sqlite", tmp_path, request)
    application = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret",
                              "VAR_DIR": str(tmp_path / "var"), "TESTING": True, **extra})
    with application.extensions["jianguan.engine"].db.write() as conn:
        load_reference(conn)
    yield application
    application.extensions["jianguan.engine"].close()
    clock.reset()


def form_token(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post_login(client, username, password, next_path=""):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": form_token(client), "next": next_path})


def token_call(client, username, password, address="127.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


# -- 6. throttling -----------------------------------------------------------------------------

def test_after_the_account_limit_even_the_right_password_gets_429_in_chinese(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        assert token_call(client, "inspector_cc", WRONG).status_code == 401
    r = token_call(client, "inspector_cc", DEMO_PASSWORD)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "登录尝试过于频繁" in r.get_json()["message"]
    # the sign-in page counts the same account and answers the same way
    page = post_login(limited_app.test_client(), "inspector_cc", DEMO_PASSWORD)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert "登录尝试过于频繁" in page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers or "uid" not in page.headers["Set-Cookie"]
    # another account is not affected
    assert token_call(client, "inspector_nh", DEMO_PASSWORD, "10.0.0.9").status_code == 200


def test_the_sign_in_page_is_throttled_and_counts_for_the_api(limited_app):
    browser = limited_app.test_client()
    for _ in range(3):
        assert post_login(browser, "leader_cc", WRONG).status_code == 401
    assert post_login(browser, "leader_cc", DEMO_PASSWORD).status_code == 429
    assert token_call(limited_app.test_client(), "leader_cc", DEMO_PASSWORD).status_code == 429


def test_one_address_trying_many_accounts_is_throttled(limited_app):
    client = limited_app.test_client()
    for i in range(6):          # two wrong passwords for each of three accounts: 6 failures
        name = ("inspector_cc", "inspector_nh", "inspector_sd")[i % 3]
        assert token_call(client, name, WRONG, "192.0.2.7").status_code == 401
    assert token_call(client, "inspector_gm", DEMO_PASSWORD, "192.0.2.7").status_code == 429
    assert token_call(client, "inspector_gm", DEMO_PASSWORD, "192.0.2.8").status_code == 200


def test_an_invented_forwarded_for_does_not_escape_the_address_count(limited_app):
    client = limited_app.test_client()
    for i in range(6):
        r = client.post("/api/v1/auth/token", headers={"X-Forwarded-For": f"10.9.9.{i}"},
                        json={"username": f"nobody_{i}", "password": WRONG})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", headers={"X-Forwarded-For": "10.9.9.99"},
                    json={"username": "inspector_cc", "password": DEMO_PASSWORD})
    assert r.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_count(tmp_path, request):
    gen = _app(tmp_path, request, {"JIANGUAN_TRUSTED_PROXIES": "1",
                                   "JIANGUAN_LOGIN_LIMIT_ADDRESS": "2 per 15 minutes"})
    application = next(gen)
    try:
        client = application.test_client()

        def call(forwarded, username, password):
            return client.post("/api/v1/auth/token", headers={"X-Forwarded-For": forwarded},
                               json={"username": username, "password": password}).status_code
        assert [call("10.1.1.1", f"nobody_{i}", WRONG) for i in range(3)] == [401, 401, 429]
        assert call("10.1.1.2", "inspector_cc", DEMO_PASSWORD) == 200
    finally:
        next(gen, None)


def test_unknown_accounts_are_throttled_like_known_ones(limited_app):
    client = limited_app.test_client()
    ghost = f"ghost_{uuid.uuid4().hex[:8]}"
    answers = [token_call(client, ghost, WRONG, "198.51.100.1").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]


def test_a_burst_of_parallel_guesses_gets_no_more_than_the_limit(limited_app):
    from concurrent.futures import ThreadPoolExecutor

    def guess(i):
        return token_call(limited_app.test_client(), "inspector_sd", WRONG,
                          f"198.51.100.{i + 10}").status_code
    with ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(guess, range(8)))
    assert answers == [401] * 3 + [429] * 5


def test_a_success_clears_the_account_count(limited_app):
    client = limited_app.test_client()
    for _ in range(2):
        assert token_call(client, "inspector_ss", WRONG).status_code == 401
    assert token_call(client, "inspector_ss", DEMO_PASSWORD).status_code == 200
    for _ in range(2):          # two more failures: still under the limit of three
        assert token_call(client, "inspector_ss", WRONG).status_code == 401
    assert token_call(client, "inspector_ss", DEMO_PASSWORD).status_code == 200


def test_counts_are_shared_through_redis_when_configured(tmp_path, request):
    """Two apps (two web processes) on the same Redis see each other's failures."""
    config = {"REDIS_URL": "redis://127.0.0.1:6379/0",
              "JIANGUAN_LOGIN_LIMIT_ACCOUNT": "2 per 15 minutes"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _app(tmp_path / "a", request, config)
    second = _app(tmp_path / "b", request, config)
    app_a, app_b = next(first), next(second)
    try:
        assert app_a.extensions["jianguan.throttle"].storage_uri.startswith("redis://")
        ghost = f"ghost_{uuid.uuid4().hex}"
        address = f"203.0.113.{uuid.uuid4().int % 250}"
        assert token_call(app_a.test_client(), ghost, WRONG, address).status_code == 401
        assert token_call(app_b.test_client(), ghost, WRONG, address).status_code == 401
        assert token_call(app_a.test_client(), ghost, WRONG, address).status_code == 429
    finally:
        for gen in (first, second):
            next(gen, None)


def test_an_unknown_user_costs_a_password_hash_like_a_known_one(app, monkeypatch):
    checked = []
    real = people.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)
    monkeypatch.setattr(people, "check_password_hash", spy)
    with app.extensions["jianguan.engine"].db.read() as conn:
        assert people.authenticate(conn, "no_such_user", WRONG) is None
        assert people.authenticate(conn, "inspector_cc", WRONG) is None
    assert len(checked) == 2
    # the dummy is hashed the way real accounts are (werkzeug's default method)
    assert checked[0] == people.generate_password_hash("x").split("$", 1)[0]


# -- 7. revocation -----------------------------------------------------------------------------

def browser_signed_in(app, username="inspector_cc"):
    client = app.test_client()
    r = post_login(client, username, DEMO_PASSWORD)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def copy_of(app, client):
    """Another browser holding a copy of the session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("jianguan_session")
    thief.set_cookie("jianguan_session", cookie.value)
    return thief


def csrf_of(client) -> str:
    html = client.get("/inbox").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_sign_out_ends_a_copied_cookie_at_once(app):
    client = browser_signed_in(app)
    thief = copy_of(app, client)
    assert thief.get("/api/v1/tasks").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 302
    assert thief.get("/api/v1/tasks").status_code == 401
    assert thief.get("/inbox").location.startswith("/login")


def test_sign_out_of_one_browser_leaves_the_others(app):
    first, second = browser_signed_in(app), browser_signed_in(app)
    first.post("/logout", data={"csrf_token": csrf_of(first)})
    assert second.get("/api/v1/tasks").status_code == 200


def test_a_password_change_ends_every_session_and_token(app, api):
    client = browser_signed_in(app)
    token = api.token("inspector_cc")
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 200
    runner = app.test_cli_runner()
    r = runner.invoke(args=["set-password", "inspector_cc", "--password", "n3w-secret"])
    assert r.exit_code == 0, r.output
    assert client.get("/api/v1/tasks").status_code == 401
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401
    assert token_call(app.test_client(), "inspector_cc", DEMO_PASSWORD).status_code == 401
    assert token_call(app.test_client(), "inspector_cc", "n3w-secret").status_code == 200


def test_deactivation_ends_every_session_and_token(app, api):
    client = browser_signed_in(app, "contractor_gdjg")
    bearer = {"Authorization": f"Bearer {api.token('contractor_gdjg')}"}
    r = app.test_cli_runner().invoke(args=["deactivate-user", "contractor_gdjg"])
    assert r.exit_code == 0, r.output
    assert client.get("/api/v1/tasks").status_code == 401
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401
    assert token_call(app.test_client(), "contractor_gdjg", DEMO_PASSWORD).status_code == 401


def test_an_api_token_is_revoked_by_delete(app):
    client = app.test_client()
    first = token_call(client, "inspector_cc", DEMO_PASSWORD).get_json()["token"]
    second = token_call(client, "inspector_cc", DEMO_PASSWORD).get_json()["token"]
    r = client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 204
    assert client.get("/api/v1/tasks",
                      headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert client.get("/api/v1/tasks",
                      headers={"Authorization": f"Bearer {second}"}).status_code == 200
    spec = client.get("/api/openapi.json").get_json()
    assert "204" in spec["paths"]["/api/v1/auth/token"]["delete"]["responses"]
    assert "429" in spec["paths"]["/api/v1/auth/token"]["post"]["responses"]


def test_a_token_used_before_is_refused_once_past_its_lifetime(app, monkeypatch):
    from web.auth import TOKEN_MAX_AGE

    client = app.test_client()
    token = token_call(client, "inspector_cc", DEMO_PASSWORD).get_json()["token"]
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    later = time.time() + TOKEN_MAX_AGE + 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401
    monkeypatch.undo()
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/api/v1/tasks", headers=bearer(forged)).status_code == 401


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_delete_with_the_cookie_ends_the_browser_session(app):
    client = browser_signed_in(app)
    thief = copy_of(app, client)
    r = client.delete("/api/v1/auth/token", headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 204
    assert thief.get("/api/v1/tasks").status_code == 401


# -- 8. open redirect --------------------------------------------------------------------------

ATTACKS = ["/\t/evil.example/x", "//evil.example/x", "/\\evil.example/x", "\\\\evil.example/x",
           "https://evil.example/x", "javascript:alert(1)", "/\n/evil.example/x",
           " //evil.example/x", "/\r\n/evil.example"]


@pytest.mark.parametrize("target", ATTACKS)
def test_sign_in_never_returns_to_another_host(limited_app, target):
    client = limited_app.test_client()
    r = post_login(client, "inspector_cc", DEMO_PASSWORD, next_path=target)
    assert r.status_code == 302
    assert r.location == "/inbox"


def test_the_exact_attack_of_the_issue(limited_app):
    client = limited_app.test_client()
    html = client.get("/login?next=/%09/evil.example/steal").get_data(as_text=True)
    assert 'name="next" value=""' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/login?next=/%09/evil.example/steal",
                    data={"username": "inspector_cc", "password": DEMO_PASSWORD,
                          "csrf_token": token, "next": "/\t/evil.example/steal"})
    assert r.status_code == 302 and "evil" not in r.location


def test_a_path_of_this_site_is_kept(limited_app):
    client = limited_app.test_client()
    r = post_login(client, "inspector_cc", DEMO_PASSWORD, next_path="/instances?state=open")
    assert r.location == "/instances?state=open"
