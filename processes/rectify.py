"""Service operations of the rectification process: the device alarm that started one, as the
inspector reads it on the notice task and in the notice, and the rule that a deadline lies
after today (the notice form says so too; the process holds to it whatever the form)."""
from __future__ import annotations

from datetime import date, datetime

from engine.services import ServiceContext, ServiceFailure, ServiceRefusal
from forms.checks import LOCAL_ZONE

from .thresholds import LEVEL_NAMES
from engine.i18n import _

DEVICE_TYPES = {"dust": "扬尘监测", "pit": "深基坑监测", "crane": "塔吊黑匣子", "video": "视频监控"}
# metric -> (name, unit)
METRICS = {
    "pm10": ("PM10", "µg/m³"), "pm25": ("PM2.5", "µg/m³"), "noise": ("噪声", "dB"),
    "displacement": ("水平位移", "mm"), "settlement": ("竖向沉降", "mm"), "rate": ("变形速率", "mm/d"),
    "load_pct": ("起重量", "% 额定值"), "moment_pct": ("力矩", "% 额定值"),
    "wind_speed": ("风速", "m/s"), "tilt": ("塔身倾角", "°"), "offline": ("设备离线", ""),
}


def _reading(value, unit: str) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} {unit}".strip()


def _local_time(value) -> str:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value or "")[:40]
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL_ZONE)
    return moment.strftime("%Y-%m-%d %H:%M")


def describe_alarm(ctx: ServiceContext, alarm: dict | None = None) -> dict:
    """The alarm in words for the notice task and the notice: device, type, reading, limit,
    time (Foshan), level. `alarm` is the message's payload (the instance's `alarm` when no
    parameter names it)."""
    alarm = alarm if isinstance(alarm, dict) else ctx.data.get("alarm")
    if not isinstance(alarm, dict):
        raise ServiceFailure(_("缺少报警数据"))
    metric = str(alarm.get("type") or "")
    name, unit = METRICS.get(metric, (metric or "报警", ""))
    device_type = DEVICE_TYPES.get(str(alarm.get("device_type") or ""), "")
    device = str(alarm.get("device_id") or "")
    return {
        "device": f"{device} ({device_type})" if device_type else device,
        "device_id": device, "kind": name,
        "level": LEVEL_NAMES.get(str(alarm.get("level") or ""), str(alarm.get("level") or "")),
        "reading": _reading(alarm.get("value"), unit),
        "limit": _reading(alarm.get("threshold"), unit),
        "time": _local_time(alarm.get("at")), "note": str(alarm.get("message") or "")[:300],
        "alarm_id": str(alarm.get("alarm_id") or "")[:200],
    }


def service_date(ctx: ServiceContext, name: str, value, missing: str, invalid: str
                 ) -> tuple[date, date]:
    """A date parameter of a service task (the instance's variable `name` when no parameter
    names it), with today's date in Foshan: (day, today). Missing or malformed is a refusal in
    Chinese, never a NameError in the engine."""
    value = value if value is not None else ctx.data.get(name)
    if value in (None, ""):
        raise ServiceRefusal(missing)
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ServiceRefusal(invalid) from None
    today = ctx.now.astimezone(LOCAL_ZONE).date() if ctx.now.tzinfo else ctx.now.date()
    return day, today


def check_deadline(ctx: ServiceContext, deadline: str | None = None) -> str:
    """The rectification deadline must be a date after today in Foshan: a deadline already
    passed would be overdue, and scored, the moment it is set. A refusal is a 422 to the person
    and changes nothing."""
    day, today = service_date(ctx, "deadline", deadline, _("请限定整改期限"),
                              _("整改期限不是有效的日期"))
    if day <= today:
        raise ServiceRefusal(_("整改期限 {day} 须晚于今天 {today}").format(today=today, day=day))
    return day.isoformat()
