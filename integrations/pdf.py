"""Official documents as PDF: one Jinja template per kind, rendered by WeasyPrint
(`PdfRenderer`, the implementation of processes.documents.Renderer).

Autoescape is on for every template: process variables come from contractors' forms and must
render as text. WeasyPrint gets a URL fetcher that serves the templates' own files and installed
fonts only: a variable holding `<img src="http://...">` or `file:///etc/passwd` fetches nothing.
"""
from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta, timezone
from urllib.parse import unquote, urlparse

import segno
from jinja2 import Environment, FileSystemLoader, Undefined
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher
from engine.i18n import _

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
DOCUMENT_TEMPLATES = os.path.join(TEMPLATES, "documents")
FONT_DIRS = ("/usr/share/fonts",)
CHINA = timezone(timedelta(hours=8))
DIGITS = "〇一二三四五六七八九"

log = logging.getLogger(__name__)


class FetchRefused(ValueError):
    """A resource outside the templates and the font directories."""


def _allowed_roots() -> tuple[str, ...]:
    return (os.path.realpath(TEMPLATES),) + tuple(os.path.realpath(d) for d in FONT_DIRS)


class SafeFetcher(URLFetcher):
    """Serves file:// URLs under the templates or font directories; refuses everything else
    (http, ftp, data, other files, symlinks pointing out)."""

    def __init__(self):
        super().__init__(allowed_protocols=("file",), allow_redirects=False)

    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
            raise FetchRefused(_("文书不允许加载外部资源: {value}").format(value=url[:100]))
        path = os.path.realpath(unquote(parsed.path))
        if not any(path == root or path.startswith(root + os.sep) for root in _allowed_roots()):
            raise FetchRefused(_("文书不允许读取该文件: {value}").format(value=path[:100]))
        return super().fetch("file://" + path, headers)


# -- Chinese forms of dates ------------------------------------------------------------------

def _cn_number(n: int) -> str:
    """1..31 as written in dates: 十, 十一, 二十, 二十一, 三十一."""
    tens, units = divmod(n, 10)
    text = ("" if tens == 0 else ("十" if tens == 1 else DIGITS[tens] + "十"))
    return text + (DIGITS[units] if units or not tens else "")


def chinese_date(value) -> str:
    """2026-11-25 → 二〇二六年十一月二十五日; datetimes are read in China time; text that is not
    a date is returned as it is."""
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = (value.astimezone(CHINA) if value.tzinfo else value).date()
    if not isinstance(value, date):
        return str(value)
    year = "".join(DIGITS[int(c)] for c in f"{value.year:04d}")
    return f"{year}年{_cn_number(value.month)}月{_cn_number(value.day)}日"


def as_rows(value) -> list:
    """A variable that may be a list (form dynamic list), one value, or missing → a list."""
    if value is None or isinstance(value, Undefined) or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def yes_no(value) -> str:
    if isinstance(value, Undefined) or value is None or value == "":
        return ""
    return "是" if value in (True, "true", "yes", "是", 1) else "否"


def qr_svg(url: str) -> Markup:
    """The verification URL as an inline SVG QR code (no file, nothing to fetch)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=3, border=2, omitsize=False))


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(cn_date=chinese_date, rows=as_rows, yes_no=yes_no)
    return env


ENV = _environment()


def template_name(kind: str) -> str:
    return f"documents/{kind}.html"


def has_template(kind: str) -> bool:
    return os.path.exists(os.path.join(DOCUMENT_TEMPLATES, f"{kind}.html"))


def render_html(kind: str, context: dict) -> str:
    return ENV.get_template(template_name(kind)).render(**context)


_fonts: FontConfiguration | None = None


def _font_config() -> FontConfiguration:
    # fontconfig set-up is per FontConfiguration: keep one for the process
    global _fonts
    if _fonts is None:
        _fonts = FontConfiguration()
    return _fonts


def html_to_pdf(html: str) -> bytes:
    base = "file://" + DOCUMENT_TEMPLATES + "/"
    return HTML(string=html, base_url=base, url_fetcher=SafeFetcher()).write_pdf(
        font_config=_font_config())


def render_pdf(kind: str, context: dict) -> bytes:
    """The document's PDF bytes; raises on a missing template or a rendering error."""
    return html_to_pdf(render_html(kind, context))


class PdfRenderer:
    """processes.documents.Renderer on WeasyPrint; create_app registers it."""

    def has_template(self, kind: str) -> bool:
        return has_template(kind)

    def render(self, kind: str, context: dict) -> bytes:
        return render_pdf(kind, context)

    def qr_svg(self, url: str) -> Markup:
        return qr_svg(url)


def render_page(name: str, context: dict) -> str:
    """A plain HTML page from integrations/templates (the public verification page)."""
    return ENV.get_template(name).render(**context)
