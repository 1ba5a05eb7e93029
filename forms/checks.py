"""What a form field's value must satisfy: the checks a schema field runs (lengths,
patterns, number ranges and decimals, date formats and bounds, choices, attachment ids), the
Chinese messages they raise, and what counts as an empty value for each component type.

Dates: every date must lie in 1900-2100. A date field may bound its value relative to today
(the bureau's date, UTC+8, from engine.clock) with keys the form editor keeps:
`"disallowPassedDates": true` (form-js's own option: today or later) and
`"validate": {"minDate": "today+1", "maxDate": "today"}` (extra keys form-js ignores;
"today", "today+N", "today-N" or a fixed "YYYY-MM-DD").
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError

from .definition import DATE_BOUND
from engine.i18n import _

MAX_TEXT = 10_000
MAX_ROWS = 200
MAX_FILES = 50
REQUIRED = _("必填项")
BLANK = _("必填项, 不能只填空格")
NOT_CHOICE = _("不是有效的选项")
NOT_NUMBER = _("不是有效的数字")
ATTACHMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,24}$")
DATE_FORMATS = {
    "date": (re.compile(r"^\d{4}-\d{2}-\d{2}$"), date.fromisoformat,
             _("不是有效的日期")),
    "time": (re.compile(r"^\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$"), time.fromisoformat,
             _("不是有效的时间")),
    "datetime": (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"),
                 datetime.fromisoformat,
                 _("不是有效的日期时间")),
}

# Dates people mean: anything outside is a typo or hostile input (0001-01-01, 9999-12-31).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
OUT_OF_RANGE = _("日期超出有效范围 1900-01-01 至 2100-12-31")
# "Today" for a date rule is the bureau's calendar day (China has one time zone, UTC+8).
LOCAL_ZONE = timezone(timedelta(hours=8))


def validator(checks: list, required: bool, empty):
    """One validator: empty values are "required" or fine; otherwise the first failing check."""
    def run(value) -> None:
        if empty(value):
            if required:
                raise ValidationError(BLANK if isinstance(value, str) and value else REQUIRED)
            return
        for check in checks:
            check(value)
    return run


def length(lo: int | None, hi: int):
    if lo:
        message = _("长度需在 {lo} 到 {hi} 之间").format(lo=lo, hi=hi)
    else:
        message = _("长度不能超过 {hi}").format(hi=hi)

    def check(value) -> None:
        if len(value) > hi or (lo and len(value) < lo):
            raise ValidationError(message)
    return check


def pattern(pattern: str):
    regex = re.compile(pattern)

    def check(value: str) -> None:
        if not regex.fullmatch(value):
            raise ValidationError(_("格式不正确"))
    return check


def matches(regex: re.Pattern, message: str):
    def check(value: str) -> None:
        if not regex.match(value):
            raise ValidationError(message)
    return check


def number_range(lo, hi):
    if lo is not None and hi is not None:
        message = _("数值需在 {lo} 到 {hi} 之间").format(lo=lo, hi=hi)
    elif lo is not None:
        message = _("数值不能小于 {lo}").format(lo=lo)
    else:
        message = _("数值不能大于 {hi}").format(hi=hi)

    def check(value) -> None:
        number = float(value)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise ValidationError(message)
    return check


def decimals(digits: int):
    def check(value) -> None:
        try:
            exponent = Decimal(str(value)).normalize().as_tuple().exponent
        except InvalidOperation:
            raise ValidationError(NOT_NUMBER) from None
        if isinstance(exponent, int) and -exponent > digits:
            raise ValidationError(_("最多 {digits} 位小数").format(digits=digits))
    return check


def date_format(subtype: str):
    regex, parse, message = DATE_FORMATS.get(subtype, DATE_FORMATS["date"])

    def check(value: str) -> None:
        try:
            if not regex.match(value):
                raise ValueError(value)
            parsed = parse(value)
        except ValueError:
            raise ValidationError(message) from None
        if isinstance(parsed, date) and not FIRST_DAY <= _day(parsed) <= LAST_DAY:
            raise ValidationError(OUT_OF_RANGE)
    return check


def _day(value) -> date:
    """The calendar day of a date, or of a datetime in the bureau's zone when it has one."""
    if isinstance(value, datetime):
        return (value.astimezone(LOCAL_ZONE) if value.tzinfo else value).date()
    return value


def today() -> date:
    """The bureau's current date (engine.clock, so tests that move time move it too)."""
    from engine.clock import utcnow

    return utcnow().astimezone(LOCAL_ZONE).date()


def date_bound(bound: str, lower: bool):
    """minDate / maxDate: the date part of the value against today±N or a fixed date
    (load_form has checked the bound's form)."""
    match = DATE_BOUND.fullmatch(bound)
    fixed = date.fromisoformat(match.group("fixed")) if match.group("fixed") else None
    offset = None if fixed else int(match.group("offset") or 0)

    def message(day: date) -> str:
        if lower and offset == 0:
            return _("不能早于今天 {day}").format(day=day)
        if lower and offset == 1:
            return _("须晚于今天, 最早 {day}").format(day=day)
        if not lower and offset == 0:
            return _("不能晚于今天 {day}").format(day=day)
        if lower:
            return _("不能早于 {day}").format(day=day)
        return _("不能晚于 {day}").format(day=day)

    def check(value: str) -> None:
        day = _day(datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value))
        limit = fixed or today() + timedelta(days=offset)
        if (lower and day < limit) or (not lower and day > limit):
            raise ValidationError(message(limit))
    return check


def one_of(allowed: list):
    # Exact type as well as value: the designer's option 1 is not the submitted true or "1".
    def check(value) -> None:
        if not any(type(value) is type(a) and value == a for a in allowed):
            raise ValidationError(NOT_CHOICE)
    return check


def scalar(value) -> None:
    if not isinstance(value, (str, int, float)) or (isinstance(value, str) and len(value) > MAX_TEXT):
        raise ValidationError(NOT_CHOICE)


def attachment(value) -> None:
    if not isinstance(value, str) or not ATTACHMENT_ID.match(value):
        raise ValidationError(_("不是有效的附件"))


def at_most(hi: int, what: str, english: str):
    def check(value: list) -> None:
        if len(value) > hi:
            raise ValidationError(_("最多 {hi} {what}").format(
                                      hi=hi, what=what, english=english))
    return check


def _empty(value) -> bool:
    return value is None or (isinstance(value, (str, list)) and len(value) == 0)


def _empty_text(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _empty_checkbox(value) -> bool:
    return value is None or value is False      # form-js: a required checkbox must be ticked


# form-js has no "required" for a dynamic list; here it means "send the list", and zero rows is
# an answer (an inspection with no findings).
_EMPTY = {"checkbox": _empty_checkbox, "dynamiclist": lambda value: value is None,
          "textfield": _empty_text, "textarea": _empty_text}


def emptiness(kind: str):
    """The test of an empty value for a component type (then "required" or nothing)."""
    return _EMPTY.get(kind, _empty)
