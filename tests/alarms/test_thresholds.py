"""Limits are rows: the defaults, a project's override, and the crossing rules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from processes.thresholds import DEFAULTS, Limit, evaluate, limits_for

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def rows():
    class Row:
        def __init__(self, i, t, m, lv, lim, s, note, project=None, device=None):
            self.id, self.device_type, self.metric, self.level = i, t, m, lv
            self.limit, self.sustain_seconds, self.note = lim, s, note
            self.project_code, self.device_id = project, device
    out = [Row(i, *d) for i, d in enumerate(DEFAULTS, 1)]
    out.append(Row(900, "pit", "displacement", "danger", 40, 0, "设计值", "FS-NH-2026-001"))
    return out


def test_a_pit_drifting_past_each_level_raises_each_once_in_order():
    found = limits_for(rows(), "pit", "FS-CC-2026-002", "PIT-CC002")
    state, levels = {}, []
    for hour, mm in enumerate([10, 20, 22, 23, 26, 27, 31, 32]):
        crossed, state = evaluate(found, {"displacement": mm}, T0 + timedelta(hours=hour), state)
        levels += [c.limit.level for c in crossed]
    assert levels == ["warning", "alarm", "danger"]
    crossed, state = evaluate(found, {"displacement": 5}, T0 + timedelta(hours=9), state)
    assert crossed == [] and state == {}               # back below: the next drift alarms again


def test_a_project_override_replaces_the_city_default_of_that_metric():
    found = limits_for(rows(), "pit", "FS-NH-2026-001", "PIT-NH001")
    assert [(x.level, x.limit) for x in found if x.metric == "displacement"] == [("danger", 40)]
    assert any(x.metric == "settlement" for x in found)


def test_a_sustained_limit_needs_every_reading_above_it_for_the_period():
    found = [Limit(1, "pm10", "warning", 150, 3600, None)]
    state = {}
    for minutes, value in [(0, 160), (30, 170), (50, 140), (60, 160), (100, 160)]:
        crossed, state = evaluate(found, {"pm10": value}, T0 + timedelta(minutes=minutes), state)
        assert crossed == []                            # the dip at 50 min restarted the hour
    crossed, state = evaluate(found, {"pm10": 155}, T0 + timedelta(minutes=120), state)
    assert [c.value for c in crossed] == [155]
