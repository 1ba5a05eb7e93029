"""Sign-in throttling, per account and per client address (issue 15 item 6).

Sign-in attempts are counted in a moving window (the `limits` library, Flask-Limiter's engine)
kept in Redis when the platform has one (every web process then shares the counts), in this
process's memory otherwise. While an account or an address is over its limit, every attempt
is answered 429 with Retry-After, even one with the right password: guessing must not pay off
by waiting for the answer to change. An account counts every attempt and a success clears
its count; an address counts only failures, so an office behind one address signing in at
nine o'clock is not throttled.

The address is the request's remote address. Behind reverse proxies, JIANGUAN_TRUSTED_PROXIES
(their number) makes it the client's, read from X-Forwarded-For as the last proxy saw it;
by default the header is ignored, so a client cannot escape the count by inventing one.
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from limits import parse_many, storage, strategies
from engine.i18n import _

log = logging.getLogger(__name__)
NAMESPACE = "jianguan-login"


class LoginThrottle:
    def __init__(self, storage_uri: str, per_account: str, per_address: str):
        self.storage_uri = storage_uri
        self.window = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
        self.per_account = parse_many(per_account)
        self.per_address = parse_many(per_address)

    @staticmethod
    def _account(username: str) -> tuple[str, str]:
        return ("account", username.strip().lower()[:100])

    @staticmethod
    def _address(address: str) -> tuple[str, str]:
        return ("address", address or "-")

    def _wait(self, item, key) -> float:
        stats = self.window.get_window_stats(item, NAMESPACE, *key)
        return max(stats.reset_time - time.time(), 1.0)

    def attempt(self, username: str, address: str) -> int:
        """Before checking a password: 0 when it may go ahead, else the seconds to wait.

        The account's attempt is counted here, atomically (a burst of parallel guesses cannot
        all pass the check before any is counted), and forgiven by `succeeded`; the address
        counts only failures (`failed`), so successful sign-ins behind one address never
        throttle it, and a success never clears it (one's own account must not reset the
        count of guesses at others')."""
        try:
            for item in self.per_address:
                if not self.window.test(item, NAMESPACE, *self._address(address)):
                    return math.ceil(self._wait(item, self._address(address)))
            wait = 0.0
            for item in self.per_account:
                if not self.window.hit(item, NAMESPACE, *self._account(username)):
                    wait = max(wait, self._wait(item, self._account(username)))
            return math.ceil(wait)
        except Exception:  # noqa: BLE001  storage down: sign-in still works (logged)
            log.exception("sign-in throttle storage %s unavailable", self.storage_uri)
            return 0

    def failed(self, address: str) -> None:
        try:
            for item in self.per_address:
                self.window.hit(item, NAMESPACE, *self._address(address))
        except Exception:  # noqa: BLE001
            log.exception("sign-in throttle storage %s unavailable", self.storage_uri)

    def succeeded(self, username: str) -> None:
        try:
            for item in self.per_account:
                self.window.clear(item, NAMESPACE, *self._account(username))
        except Exception:  # noqa: BLE001
            log.exception("sign-in throttle storage %s unavailable", self.storage_uri)


def register(app: Flask) -> None:
    settings = app.extensions["jianguan.settings"]
    if settings.trusted_proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies)
    app.extensions["jianguan.throttle"] = LoginThrottle(
        settings.heartbeat_redis_url or "memory://", settings.login_limit_account,
        settings.login_limit_address)


def throttle() -> LoginThrottle:
    return current_app.extensions["jianguan.throttle"]


def client_address() -> str:
    return request.remote_addr or "-"


def message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return _("登录尝试过于频繁, 请约 {minutes} 分钟后再试").format(minutes=minutes)
