"""Languages: Chinese by default, English when the request asks (engine/i18n.py has the texts).

Flask-Babel selects the locale of each request: `?lang=en` (a page remembers it in the
session), else the Accept-Language header, else Chinese. The selection is handed to
engine.i18n for the request, so messages made in engine/ and processes/ render in it; JSON
answers render every message through the app's JSON provider.
"""
from __future__ import annotations

import functools

from babel import Locale
from flask import Flask, g, has_request_context, request, session
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel, get_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from engine import i18n

LANG_PARAM = "lang"


def select_locale() -> Locale:
    return _locale(_selected())


@functools.cache
def _locale(code: str) -> Locale:
    # Flask-Babel parses a selected name into a new Locale on every request, and babel looks
    # for its data file each time; a Locale it is handed is used as it is.
    return Locale.parse(code)


def _selected() -> str:
    supported = i18n.available_locales()
    asked = request.args.get(LANG_PARAM)
    if asked:
        asked = asked.replace("-", "_").split("_")[0].lower()
        if asked in supported:
            if not request.path.startswith("/api/"):
                session["lang"] = asked          # the next page keeps the language
            return asked
    if not request.path.startswith("/api/") and session.get("lang") in supported:
        return session["lang"]
    return _best_language(request.headers.get("Accept-Language", ""), supported)


@functools.lru_cache(maxsize=256)
def _best_language(header: str, supported: tuple[str, ...]) -> str:
    # parsed once per distinct header: a client sends the same one with every call
    best = parse_accept_header(header, LanguageAccept).best_match(
        supported, default=i18n.DEFAULT_LOCALE)
    return best or i18n.DEFAULT_LOCALE


def current_locale() -> str:
    if not has_request_context():
        return i18n.get_locale()
    return str(get_locale() or i18n.DEFAULT_LOCALE)


class LocalizedJSONProvider(DefaultJSONProvider):
    """Messages in a JSON answer are rendered in the request's language."""

    def dumps(self, obj, **kwargs):  # type: ignore[no-untyped-def]
        # The context's language (set first thing in a request), not the selector: the
        # session cookie is serialized through here too, while the session is being opened.
        return super().dumps(i18n.resolve(obj, i18n.get_locale()), **kwargs)


def register(app: Flask) -> None:
    """Before any other before_request hook, so 401/403 raised there render localized too."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", i18n.DEFAULT_LOCALE)
    Babel(app, locale_selector=select_locale)
    provider = LocalizedJSONProvider(app)
    provider.ensure_ascii = app.json.ensure_ascii
    provider.sort_keys = app.json.sort_keys
    app.json = provider
    # Templates: `{{ _("中文") }}` renders through the same catalogue.
    app.jinja_env.globals["_"] = lambda text, **kw: i18n.gettext(text).format(**kw) if kw \
        else i18n.gettext(text)

    @app.before_request
    def _set_locale():
        g.jianguan_locale_token = i18n.set_locale(current_locale())

    @app.teardown_request
    def _reset_locale(_exc=None):
        token = g.pop("jianguan_locale_token", None)
        if token is not None:
            try:
                i18n.reset_locale(token)
            except ValueError:           # a token of another context: set the default
                i18n.set_locale(None)
