"""Designer code is bounded: scripts built to take the server's time or memory end quickly as an
incident, without the server growing; what designers reasonably write (format, math, datetime,
decimal, statistics, is_set) works."""
from __future__ import annotations

import pytest

from engine.sandbox import ScriptError
from tests.conftest import host_sandbox

from .diagrams import script_process, started
from .memory import peak, reset_peak

MB = 1024 * 1024


def fstring_bomb(levels: int = 9) -> str:
    """Each line eight times the last: 10 * 8**9 characters, 1.3 GB, in 300 bytes."""
    lines = ['a0 = "0123456789"']
    for i in range(1, levels + 1):
        lines.append(f'a{i} = f"' + f"{{a{i - 1}}}" * 8 + '"')
    return "\n".join(lines)


def str_of_lists_bomb(levels: int = 8) -> str:
    """str() of a list repeating the last value: about ten times per line, 1.2 GB."""
    lines = ['a0 = "0123456789"']
    for i in range(1, levels + 1):
        lines.append(f"a{i} = str([{', '.join([f'a{i - 1}'] * 8)}])")
    return "\n".join(lines)


def comparison_bomb(levels: int = 25) -> str:
    """Two equal lists of shared halves, compared: 2**25 element comparisons (tens of s)."""
    lines = ["a0 = [0]", "b0 = [0]"]
    for i in range(1, levels + 1):
        lines += [f"a{i} = [a{i - 1}, a{i - 1}]", f"b{i} = [b{i - 1}, b{i - 1}]"]
    lines.append(f"same = a{levels} == b{levels}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def env():
    with host_sandbox(time_limit=2.0, memory_limit_mb=256) as sandbox:
        yield sandbox


ATTACKS = {"fstrings": fstring_bomb(), "str_of_lists": str_of_lists_bomb(),
           "comparison": comparison_bomb()}


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_scripts_become_incidents_without_growing_the_server(api, name):
    script = ATTACKS[name]
    assert len(script) < 4096
    assert api.deploy(files={"attack.bpmn": script_process(script)}).status_code == 201
    before = reset_peak()
    inst = started(api, "attack")
    grown = peak() - before
    assert inst["state"] == "error" and inst["tasks"] == []
    message = inst["incidents"][0]["message"]
    assert any(w in message for w in ("内存超限", "超时")), message
    assert grown < 200 * MB, f"server grew by {grown // MB} MB"
    assert api.get("/api/v1/definitions").status_code == 200     # still serving


@pytest.mark.parametrize("source", [
    'x = f"{a}{a}"',                       # f-strings repeat their parts
    "x = str([a, a])",                     # str() of data
    "x = ','.join(parts)",
    "x = '{} {}'.format(a, a)",
    "x = [n for n in items]",
    "x = [a] * n",
    "x = a ** b",
    "x = '%s' % a",
    "b = [a, a]\nc = [b, b]\nd = [c, c]\ne = [d, d]\nf = [e, e]",   # shared halves: 2**5
    "x = " + " + ".join(["a"] * 20),       # twenty concatenations
    "x = a.upper().upper().upper()",
    "x = math.factorial(n)",
])
def test_code_that_may_grow_runs_in_a_worker(env, source):
    data = {"a": "x", "b": 2, "n": 3, "parts": ["x"], "items": [1]}
    assert env.runs_in_server(source, "exec", data) is False


@pytest.mark.parametrize("source, mode", [
    ('decision == "accept"', "eval"),
    ("score >= 60 and not late", "eval"),
    ("count = count + 1", "exec"),
    ("form['b'] = form.get('a', 0) + 1", "exec"),
    ("due = add_days(deadline, 3)\nready = is_set('report')", "exec"),
])
def test_plain_conditions_and_assignments_stay_in_the_server(env, source, mode):
    data = {"decision": "accept", "score": 70, "late": False, "count": 1, "form": {},
            "deadline": "2026-03-01"}
    assert env.runs_in_server(source, mode, data) is True


def test_a_result_that_unfolds_to_more_than_the_limit_is_refused(env):
    # 2**60 paths of shared lists: measured with a bounded walk, not walked to the end
    with pytest.raises(ScriptError, match="过大"):
        env.execute("x = [0]\nfor i in range(60):\n    x = [x, x]", {})


def test_large_inputs_are_not_handled_in_the_server(env):
    data = {"items": list(range(200_000)), "text": "字" * 100_000}
    assert env.evaluate("len(items) > 0 and len(text) == 100000", data) is True
    env.execute("total = len(items) + len(text)", data)
    assert data["total"] == 300_000


# -- what designers expect ------------------------------------------------------------------------
def test_str_format_works_without_reaching_attributes(env):
    data = {"n": 7, "form": {"name": "张三"}, "rows": [1, 2]}
    env.execute("a = '第{}号'.format(n)\nb = '{0}-{0}'.format(n)\n"
                "c = '{name}'.format(**form)\nd = '{f[name]}/{r[1]}'.format(f=form, r=rows)\n"
                "e = '{:>5.1f}'.format(2.25)\ng = '{x}'.format_map({'x': 1})\n"
                "h = str.format('{}!', n)", data)
    assert (data["a"], data["b"], data["c"], data["d"], data["e"], data["g"], data["h"]) == (
        "第7号", "7-7", "张三", "张三/2", "  2.2", "1", "7!")
    for source in ("x = '{0.__class__}'.format(1)", "x = '{0.real}'.format(1)",
                   "x = '{0[0].__class__}'.format([1])", "x = '{0.f}'.format(now)",
                   "x = '{a.b}'.format_map({'a': 1})", "x = str.format('{0.__class__}', 1)",
                   "x = '{0[__class__]}'.format(now)"):
        with pytest.raises(ScriptError, match="不允许|只能索引"):
            env.execute(source, {})


def test_harmless_modules_are_offered(env):
    data = {"scores": [80, 90, 70], "price": "12.345"}
    env.execute("import_free = math.sqrt(16) + math.floor(2.7)\n"
                "avg = statistics.mean(scores)\nmid = statistics.median(scores)\n"
                "amount = str(decimal.Decimal(price).quantize(decimal.Decimal('0.01'), "
                "rounding=decimal.ROUND_HALF_UP))\n"
                "day = datetime.date(2026, 3, 1).isoformat()\n"
                "later = (datetime.datetime(2026, 3, 1) + datetime.timedelta(days=2)).isoformat()\n"
                "plain = datetime(2026, 3, 1).isoformat()\nok = isinstance(now(), str)", data)
    assert data["import_free"] == 6.0 and data["avg"] == 80 and data["mid"] == 80
    assert data["amount"] == "12.35" and data["day"] == "2026-03-01"
    assert data["later"] == "2026-03-03T00:00:00" and data["plain"] == "2026-03-01T00:00:00"


@pytest.mark.parametrize("source", [
    "x = datetime.sys", "x = statistics.sys", "x = statistics.random", "x = statistics.math",
    "x = decimal.getcontext()", "x = decimal.setcontext", "x = decimal.DefaultContext",
    "x = getattr(math, '__loa' + 'der__')", "x = getattr(datetime, 'sys')",
    "math.pi = 3", "x = math.__loader__", "x = datetime.__module__",
])
def test_modules_reach_nothing_else(env, source):
    with pytest.raises(ScriptError):
        env.execute(source, {})
    assert env.evaluate("math.pi > 3", {}) is True


def test_is_set_asks_whether_a_variable_has_a_value(env):
    data = {"report": "ok", "empty": None}
    env.execute("a = is_set('report')\nb = is_set('missing')\nc = is_set('empty')\n"
                "d = is_set('now')\nlater = 1\ne = is_set('later')\n"
                "note = report if is_set('report') else '无'", data)
    assert (data["a"], data["b"], data["c"], data["d"], data["e"]) == (True, False, False,
                                                                        False, True)
    assert data["note"] == "ok" and "is_set" not in data
    assert env.evaluate("is_set('missing') or is_set('report')", data) is True
    data = {"n": 1}
    env.execute("for i in range(2):\n    n += 1\nseen = is_set('n') and not is_set('m')", data)
    assert data["seen"] is True and data["n"] == 3


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_format_modules_and_is_set_run_in_a_deployed_process(api):
    script = ("label = '{}号 {:.1f}'.format(n, math.sqrt(n))\n"
              "avg = statistics.mean([1, 2, 3])\n"
              "has_note = is_set('note')")
    assert api.deploy(files={"p.bpmn": script_process(script, "modules")}).status_code == 201
    inst = started(api, "modules", {"n": 4})
    assert inst["state"] == "running", inst["incidents"]
    assert inst["variables"]["label"] == "4号 2.0" and inst["variables"]["avg"] == 2
    assert inst["variables"]["has_note"] is False
