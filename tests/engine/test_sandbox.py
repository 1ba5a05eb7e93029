"""The script sandbox on its own: designer scripts and conditions behave like plain Python on
task data, and escape attempts fail with a readable ScriptError while the sandbox keeps
working."""
from __future__ import annotations

import threading

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.sandbox import SandboxEnvironment, ScriptError, check_source
from tests.conftest import host_sandbox


@pytest.fixture(scope="module")
def env():
    with host_sandbox(time_limit=0.5, memory_limit_mb=128) as sandbox:
        yield sandbox


def still_works(env: SandboxEnvironment) -> None:
    """Both paths answer after a failure: an in-process condition and a worker loop."""
    assert env.evaluate('decision == "accept"', {"decision": "accept"}) is True
    data = {"items": [1, 2, 3]}
    env.execute("total = 0\nfor n in items:\n    total += n", data)
    assert data["total"] == 6


# -- ordinary code ------------------------------------------------------------------------------
def test_condition_reads_task_data(env):
    assert env.evaluate('decision == "accept"', {"decision": "accept"}) is True
    assert env.evaluate('decision == "accept"', {"decision": "reject"}) is False
    assert env.evaluate("score >= 60 and not late", {"score": 75, "late": False}) is True


def test_script_writes_new_and_changed_variables(env):
    data = {"count": 1, "name": " 张三 "}
    assert env.execute("count = count + 1\nclean = name.strip()", data) is True
    assert data == {"count": 2, "name": " 张三 ", "clean": "张三"}


def test_deleted_variables_leave_task_data(env):
    data = {"draft": "x", "keep": 1}
    env.execute("del draft", data)
    assert data == {"keep": 1}


def test_host_functions_are_callable(env):
    assert env.evaluate("add_days('2026-03-01', 3)", {}) == "2026-03-04"
    data = {}
    env.execute("stamp = now()\ndue = add_days('2026-03-01', 30)", data)
    assert data["due"] == "2026-03-31" and isinstance(data["stamp"], str)
    assert "now" not in data and "add_days" not in data


def test_dict_and_list_operations(env):
    data = {"form": {"a": 1}, "items": [3, 1, 2]}
    env.execute("form['b'] = form.get('a', 0) + 1\nitems.append(4)\n"
                "ordered = sorted(items)\nfirst = items[0]", data)
    assert data["form"] == {"a": 1, "b": 2}
    assert data["items"] == [3, 1, 2, 4] and data["ordered"] == [1, 2, 3, 4]
    assert data["first"] == 3


def test_string_methods(env):
    data = {"code": "fs-cc-2026-001"}
    env.execute("upper = code.upper()\nparts = code.split('-')\n"
                "ok = code.startswith('fs') and code.endswith('001')", data)
    assert data["upper"] == "FS-CC-2026-001" and data["parts"][0] == "fs" and data["ok"]


def test_loop_summing_a_list(env):
    data = {"scores": [80, 90, 70]}
    env.execute("total = 0\nfor s in scores:\n    total += s\naverage = total / len(scores)",
                data)
    assert data["total"] == 240 and data["average"] == 80


def test_comprehension_and_function(env):
    data = {"rows": [{"ok": True}, {"ok": False}, {"ok": True}]}
    env.execute("def passed(r):\n    return r['ok']\n"
                "good = [r for r in rows if passed(r)]\nn = len(good)", data)
    assert data["n"] == 2 and "passed" not in data


def test_unstorable_temporaries_are_dropped(env):
    data = {}
    env.execute("r = range(3)\nn = len(r)\nseen = set([1, 1, 2])\nm = len(seen)", data)
    assert data == {"n": 3, "m": 2}


def test_external_context_is_visible_but_not_written_back(env):
    data = {"a": 1}
    assert env.evaluate("a + extra", data, {"extra": 41}) == 42
    env.execute("b = a + extra", data, {"extra": 41})
    assert data == {"a": 1, "b": 42}


def test_task_data_may_not_shadow_host_functions(env):
    with pytest.raises(ScriptError, match="now"):
        env.execute("x = 1", {"now": "later"})


def test_runs_under_spiffs_script_engine(env):
    class Task:
        data = {"count": 4}

    engine = PythonScriptEngine(environment=env)
    assert engine.evaluate(Task(), "count > 3") is True
    engine.execute(Task(), "count = count * 2")
    assert Task.data == {"count": 8}


def test_concurrent_threads_get_their_own_results(env):
    errors, results = [], {}

    def work(i: int) -> None:
        try:
            data = {"n": i}
            env.execute("n = n + 1" if i % 2 else "total = sum([n for _ in range(3)])", data)
            results[i] = data
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(results[i] == ({"n": i + 1} if i % 2 else {"n": i, "total": 3 * i})
               for i in range(12))


# -- escapes ------------------------------------------------------------------------------------
ESCAPES = [
    ("exec", "import os", "不允许导入模块"),
    ("exec", "from os import system", "不允许导入模块"),
    ("eval", "__import__('os')", "__import__"),
    ("eval", "().__class__.__bases__[0].__subclasses__()", "__"),
    ("exec", "x = open('/etc/passwd').read()", "open"),
    ("eval", "eval('1')", "eval"),
    ("exec", "exec('x = 1')", "exec"),
    ("eval", "getattr(1, '__class__')", "__class__"),
    ("exec", "name = '__cla' + 'ss__'\nx = getattr(1, name)", "__class__"),
    ("exec", "g = (i for i in [1])\nx = getattr(g, 'gi_' + 'frame')", "gi_frame"),
    ("eval", "'{0.__class__}'.format(1)", "format"),
    ("exec", "f = '{0.__class__}'.format\nx = f(1)", "format"),
    ("exec", "x = str.format('{0.__class__}', 1)", "format"),
    ("eval", "(i for i in []).gi_frame.f_globals", "gi_frame"),
    ("exec", "g = (i for i in [1])\nfr = g.gi_frame", "gi_frame"),
    ("eval", "type(1)", "type"),
    ("exec", "t = type\nx = t(1)", "type"),
    ("eval", "vars()", "vars"),
    ("eval", "globals()", "globals"),
    ("eval", "__builtins__", "__builtins__"),
    ("eval", "compile('1', 'x', 'eval')", "compile"),
    ("eval", "breakpoint()", "breakpoint"),
    ("eval", "sys.modules", "sys"),
    ("exec", "class A:\n    pass", "类"),
    ("exec", "raise SystemExit", "SystemExit"),
    ("exec", "x = [1]\nx.__class__ = dict", "__class__"),
]


@pytest.mark.parametrize("mode, source, words", ESCAPES)
def test_escape_attempts_are_refused(env, mode, source, words):
    run = env.evaluate if mode == "eval" else env.execute
    with pytest.raises(ScriptError) as caught:
        run(source, {})
    message = str(caught.value)
    assert words in message
    assert any(w in message for w in ("不允许", "未定义", "类")), message
    still_works(env)


@pytest.mark.parametrize("mode, source, data, message", [
    pytest.param("eval", "(1).__class__", {}, r"不允许访问属性 '__class__'",
                 id="dunder_attribute_named"),
    pytest.param("exec", "d = timedelta(days=1)\nd.days = 5", {}, "不允许修改",
                 id="attribute_assignment"),
    pytest.param("exec", "a = 1\nb = missing + a", {}, r"未定义的名称 'missing', line 2",
                 id="undefined_name_with_line"),
    pytest.param("eval", "1 / zero", {"zero": 0}, "除数为零", id="division_by_zero"),
    pytest.param("exec", "x = form['missing']", {"form": {}}, "键不存在: 'missing'",
                 id="missing_key"),
])
def test_refused_with_a_readable_message(env, mode, source, data, message):
    run = env.evaluate if mode == "eval" else env.execute
    with pytest.raises(ScriptError, match=message):
        run(source, data)


@pytest.mark.parametrize("mode, source, data, message", [
    pytest.param("exec", "while True:\n    pass", {"a": 1}, "脚本运行超时", id="endless_loop"),
    *(pytest.param("exec", source, {}, "内存超限", id=f"huge_allocation_{i}")
      for i, source in enumerate(("x = 'a' * (10 ** 10)", "x = [0] * (10 ** 9)", "x = '%0999999999d' % 1",
                     "x = f'{1:>999999999}'", "x = 'ab'.center(10 ** 10)"))),
    # max() calls the method itself (300 MB, over this sandbox's 128 MB): a bounded worker.
    pytest.param("eval", "max([300000000], key='ab'.center)", {}, "内存超限",
                 id="builtin_callback_in_a_bounded_worker"),
])
def test_stopped_and_the_sandbox_still_works(env, mode, source, data, message):
    run = env.evaluate if mode == "eval" else env.execute
    with pytest.raises(ScriptError, match=message):
        run(source, data)
    still_works(env)


@pytest.mark.parametrize("source", ["x = 2 ** (10 ** 8)", "x = 10 ** (10 ** 9)",
                                    "x = round(5, -10 ** 7)"])
def test_huge_numbers_are_refused(env, source):
    with pytest.raises(ScriptError) as caught:
        env.execute(source, {})
    assert any(w in str(caught.value) for w in ("超时", "内存", "过大")), str(caught.value)
    still_works(env)


def test_replacing_task_data_with_unstorable_value_is_refused(env):
    data = {"when": "2026-01-01"}
    with pytest.raises(ScriptError, match="when"):
        env.execute("when = range(3)", data)


# -- deploy-time check --------------------------------------------------------------------------
def test_check_source_accepts_ordinary_code():
    assert check_source("x = 1", "exec") == []
    assert check_source("decision == 'accept'", "eval") == []


def test_check_source_reports_imports_and_syntax_errors():
    (problem,) = check_source("x = 1\n\nimport os", "exec")
    assert problem == "不允许导入模块, line 3"
    (problem,) = check_source("x = (", "exec")
    assert "脚本无法编译" in problem and "line 1" in problem
    assert check_source("x = 1", "eval") != []
    assert "__class__" in check_source("x = ().__class__", "exec")[0]
