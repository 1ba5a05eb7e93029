"""Translatable text for every layer without Flask: `_("中文")` marks a message people read.

The msgid is the Chinese text (the default language); other languages live in gettext
catalogues, translations/<lang>/LC_MESSAGES/messages.po, read with Babel on first use (no
compiled .mo files in the repository). `_()` returns a `Text`: a `str` whose content is the
Chinese, so storing it (database, JSON columns, logs outside a request) keeps Chinese, while
rendering it for a person (`str()`, f-strings, templates, the web layer's JSON) gives the
language of the current context. web/ sets that per request (Flask-Babel's locale selector);
outside a request it is Chinese.
"""
from __future__ import annotations

import contextvars
import functools
import html
import threading
from pathlib import Path
from typing import Any

DEFAULT_LOCALE = "zh"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("jianguan_locale",
                                                              default=DEFAULT_LOCALE)
_catalogues: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def set_locale(locale: str | None) -> contextvars.Token:
    """The language texts render in from now on in this context; returns the reset token."""
    return _locale.set(_language(locale) if locale else DEFAULT_LOCALE)


def reset_locale(token: contextvars.Token) -> None:
    _locale.reset(token)


def get_locale() -> str:
    return _locale.get()


def _language(locale: str) -> str:
    """'en_US', 'en-GB' → 'en': catalogues are per language."""
    return str(locale).replace("-", "_").split("_")[0].lower()


@functools.cache
def available_locales() -> tuple[str, ...]:
    """Chinese and every language with a catalogue (looked up once)."""
    found = []
    if TRANSLATIONS.is_dir():
        found = [p.name for p in TRANSLATIONS.iterdir()
                 if (p / "LC_MESSAGES" / "messages.po").is_file()]
    return (DEFAULT_LOCALE, *sorted(found))


def catalogue(locale: str) -> dict[str, str]:
    """msgid → msgstr of one language, read from its .po once (empty msgstr = untranslated)."""
    locale = _language(locale)
    if locale in _catalogues:
        return _catalogues[locale]
    with _lock:
        if locale not in _catalogues:
            _catalogues[locale] = _read_po(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    return _catalogues[locale]


def _read_po(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from babel.messages.pofile import read_po  # only when a non-default language is asked

    with path.open("rb") as fh:
        parsed = read_po(fh)
    return {m.id: m.string for m in parsed if m.id and isinstance(m.id, str) and m.string}


def gettext(msgid: str, locale: str | None = None) -> str:
    locale = _language(locale or get_locale())
    if locale == DEFAULT_LOCALE:
        return msgid
    return catalogue(locale).get(msgid, msgid)


class Text(str):
    """A translatable message: `str` content is the Chinese; `resolve()` renders it.

    `.format()` stays lazy (marshmallow formats its messages twice, before any request);
    `+` with plain text stays lazy too. Any other str operation works on the Chinese.
    """

    _parts: tuple  # ("msg", msgid, stages) or ("join", items)

    def __new__(cls, msgid: str, stages: tuple = ()) -> "Text":
        return cls._make(("msg", str(msgid), stages))

    @classmethod
    def _make(cls, parts: tuple) -> "Text":
        obj = str.__new__(cls, _render(parts, DEFAULT_LOCALE))
        obj._parts = parts
        return obj

    def resolve(self, locale: str | None = None) -> str:
        locale = _language(locale or get_locale())
        if locale == DEFAULT_LOCALE:
            return str.__str__(self)
        try:
            return _render(self._parts, locale)
        except (KeyError, IndexError, ValueError, AttributeError):
            # A translation whose placeholders do not fit must not turn an answer into a 500.
            return str.__str__(self)

    def format(self, *args: Any, **kwargs: Any) -> "Text":  # type: ignore[override]
        kind, *rest = self._parts
        if kind == "msg":
            msgid, stages = rest
            return Text._make(("msg", msgid, stages + ((args, kwargs),)))
        return Text._make(("fmt", self._parts, args, kwargs))

    def __str__(self) -> str:
        return self.resolve()

    def __format__(self, spec: str) -> str:
        return format(self.resolve(), spec)

    def __html__(self) -> str:
        return html.escape(self.resolve())

    def __add__(self, other: Any) -> "Text":  # type: ignore[override]
        if not isinstance(other, str):
            return NotImplemented
        return Text._make(("join", (self, other)))

    def __radd__(self, other: Any) -> "Text":
        if not isinstance(other, str):
            return NotImplemented
        return Text._make(("join", (other, self)))

    def __repr__(self) -> str:
        return f"_({str.__repr__(self)})"

    def __reduce__(self) -> tuple:
        # Across processes (sandbox worker, Celery) a message travels as its Chinese text.
        return (str, (str.__str__(self),))

    def __copy__(self) -> "Text":
        return self

    def __deepcopy__(self, memo: dict) -> "Text":
        return self


def _render(parts: tuple, locale: str) -> str:
    kind = parts[0]
    if kind == "msg":
        _, msgid, stages = parts
        text = gettext(msgid, locale)
        for args, kwargs in stages:
            text = text.format(*(_plain(a, locale) for a in args),
                               **{k: _plain(v, locale) for k, v in kwargs.items()})
        return text
    if kind == "fmt":
        _, inner, args, kwargs = parts
        return _render(inner, locale).format(*(_plain(a, locale) for a in args),
                                             **{k: _plain(v, locale) for k, v in kwargs.items()})
    return "".join(_plain(item, locale) for item in parts[1])


def _plain(value: Any, locale: str) -> Any:
    return value.resolve(locale) if isinstance(value, Text) else value


def _(msgid: str) -> Text:
    """Mark `msgid` (Chinese) for translation; placeholders are named:
    `_("元素 {name} 缺少 id").format(name=x)`."""
    return Text(msgid)


def resolve(value: Any, locale: str | None = None) -> Any:
    """Every Text inside dicts, lists and tuples rendered, for JSON answers."""
    if isinstance(value, Text):
        return value.resolve(locale)
    if isinstance(value, str) or value is None or isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, dict):
        return {resolve(k, locale): resolve(v, locale) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, locale) for v in value]
    return value
