"""Classic Python sandbox escapes through the sandbox's real compile and run path (the
environment every workflow uses, in-process or in a worker): each is refused with a
ScriptError, or runs harmlessly (what it hands back is plain data, nothing reaches a module, a
frame, a function's globals or the file system). A handful also go through deploy and start."""
from __future__ import annotations

import os
import types

import pytest

from engine.sandbox import ScriptError
from tests.conftest import host_sandbox

from .diagrams import script_process

CANARY = "/tmp/jianguan_escape_canary"

# (name, mode, source)
ESCAPES = [
    # imports in every form
    ("import", "exec", "import os"),
    ("from import", "exec", "from os import system"),
    ("import as", "exec", "import builtins as b"),
    ("__import__", "eval", "__import__('os')"),
    ("fullwidth __import__", "eval", "＿＿import＿＿('os')"),
    # the subclass walk
    ("subclass walk", "eval", "().__class__.__bases__[0].__subclasses__()"),
    ("mro walk", "eval", "[].__class__.__mro__[-1].__subclasses__()"),
    ("mro() method", "eval", "str.mro()"),
    ("fullwidth dunder", "eval", "(1).＿＿class＿＿"),
    ("fullwidth letters in a dunder", "eval", "(1).__ｃｌａｓｓ__"),
    ("fullwidth getattr name", "eval", "ｇｅｔａｔｔｒ(1, '__class__')"),
    ("fullwidth string attribute", "eval", "getattr(1, '＿＿class＿＿')"),
    # computed attribute names
    ("getattr computed", "exec", "name = '__cla' + 'ss__'\nx = getattr((), name)"),
    ("getattr chained", "eval", "getattr(getattr(1, 'real'), '__class__')"),
    ("getattr of getattr", "eval", "getattr(getattr, '__self__')"),
    ("builtin __self__", "eval", "getattr(len, '__self__')"),
    ("method __self__", "eval", "[].pop.__self__"),
    ("underscore member", "eval", "getattr(math, '_members')"),
    # frames: generators, coroutines, tracebacks
    ("gi_frame", "exec", "g = (i for i in [1])\nf = g.gi_frame"),
    ("gi_frame computed", "exec", "g = (i for i in [1])\nf = getattr(g, 'gi_' + 'frame')"),
    ("gi_code of a generator function", "exec", "def gen():\n    yield 1\nc = gen().gi_code"),
    ("f_globals via frame", "eval", "(i for i in []).gi_frame.f_globals"),
    ("async def", "exec", "async def f():\n    pass\nc = f().cr_frame"),
    ("traceback frame", "exec",
     "try:\n    1 / 0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame.f_globals"),
    ("traceback computed", "exec",
     "try:\n    1 / 0\nexcept Exception as e:\n    t = getattr(e, '__trace' + 'back__')"),
    ("tb_frame computed", "exec",
     "try:\n    1 / 0\nexcept Exception as e:\n    t = getattr(e, 'with_traceback')\n"
     "    f = getattr(e, 'tb_' + 'frame')"),
    # format strings
    ("format attribute", "eval", "'{0.__class__}'.format(1)"),
    ("format globals", "eval", "'{0.__globals__}'.format(now)"),
    ("format index then attribute", "eval", "'{0[0].__class__}'.format([1])"),
    ("format through str", "exec", "x = str.format('{0.__class__}', 1)"),
    ("format_map", "eval", "'{a.__class__}'.format_map({'a': 1})"),
    ("str.format_map", "exec", "x = str.format_map('{a.real}', {'a': 1})"),
    ("format bound then called", "exec", "f = '{0.__class__}'.format\nx = f(1)"),
    ("format index into object", "eval", "'{0[__globals__]}'.format(now)"),
    ("format spec bomb", "eval", "'{0:{1}}'.format(1, '>999999999')"),
    ("f-string attribute", "eval", "f'{(1).__class__}'"),
    # builtins and namespaces
    ("__builtins__ name", "eval", "__builtins__"),
    ("__builtins__ item", "eval", "__builtins__['eval']('1')"),
    ("globals()", "eval", "globals()"),
    ("locals()", "eval", "locals()"),
    ("vars()", "eval", "vars()"),
    ("vars(module)", "eval", "vars(math)"),
    ("dir()", "eval", "dir()"),
    ("module __dict__", "eval", "math.__dict__"),
    ("module __loader__", "eval", "math.__loader__"),
    ("datetime.sys", "eval", "datetime.sys"),
    ("statistics.sys", "eval", "statistics.sys.modules"),
    ("function globals", "eval", "getattr(statistics.mean, '__glo' + 'bals__')"),
    ("func_globals", "exec", "f = lambda: 0\nx = getattr(f, 'func_' + 'globals')"),
    ("lambda code", "exec", "f = lambda: 0\nc = f.__code__"),
    ("closure", "eval", "(lambda: 0).__closure__"),
    ("reduce", "eval", "[1].__reduce_ex__(2)"),
    # types and classes
    ("type()", "eval", "type(1)"),
    ("type alias", "exec", "t = type\nx = t('X', (), {})"),
    ("class definition", "exec", "class A:\n    pass"),
    ("metaclass", "exec", "class M(type):\n    pass"),
    ("object", "eval", "object.__subclasses__()"),
    ("super", "eval", "super()"),
    ("decorator reaching globals", "exec",
     "def d(fn):\n    return getattr(fn, '__glo' + 'bals__')\n@d\ndef f():\n    pass"),
    ("decorator of builtin", "exec", "@getattr\ndef f():\n    pass"),
    # code execution builtins
    ("exec", "exec", "exec('import os')"),
    ("eval", "eval", "eval('__import__(\"os\")')"),
    ("compile", "eval", "compile('1', 'x', 'eval')"),
    ("open read", "exec", "x = open('/etc/passwd').read()"),
    ("open write", "exec", f"open('{CANARY}', 'w').write('x')"),
    ("with open", "exec", f"with open('{CANARY}', 'w') as fh:\n    fh.write('x')"),
    ("breakpoint", "eval", "breakpoint()"),
    ("help", "eval", "help()"),
    ("input", "eval", "input()"),
    ("exit", "eval", "exit()"),
    ("SystemExit", "exec", "raise SystemExit"),
    ("sys name", "eval", "sys.modules"),
    ("os name", "eval", "os.system('id')"),
    # bytes and buffers
    ("memoryview", "eval", "memoryview(b'abc')"),
    ("bytearray", "eval", "bytearray(b'x')"),
    ("bytes class", "eval", "b'x'.__class__"),
    ("bytes huge", "eval", "bytes(10 ** 9)"),
    # writing where it may not
    ("setattr", "eval", "setattr(math, 'pi', 3)"),
    ("module attribute assignment", "exec", "math.pi = 3"),
    ("attribute delete", "exec", "del math.pi"),
    ("object attribute assignment", "exec", "d = timedelta(days=1)\nd.days = 5"),
    ("class attribute", "exec", "x = [1]\nx.__class__ = dict"),
    ("decimal context", "exec", "decimal.getcontext().prec = 10 ** 9"),
]


@pytest.fixture(scope="module")
def env():
    with host_sandbox(time_limit=2.0, memory_limit_mb=128) as sandbox:
        yield sandbox


def _plain(value) -> bool:
    """JSON-like data: nothing that is a module, type, function, frame or code object."""
    if isinstance(value, (types.ModuleType, type, types.FunctionType, types.FrameType,
                          types.CodeType, types.BuiltinFunctionType, types.MethodType)):
        return False
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return isinstance(value, (type(None), bool, int, float, str))


@pytest.mark.parametrize("name, mode, source", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escape_is_refused_or_harmless(env, name, mode, source):
    if os.path.exists(CANARY):
        os.remove(CANARY)
    data: dict = {}
    try:
        if mode == "eval":
            result = env.evaluate(source, data)
            assert _plain(result), f"{name} handed back {result!r}"
        else:
            env.execute(source, data)
            assert _plain(data), f"{name} left {data!r}"
    except ScriptError as exc:
        assert str(exc), name
    assert not os.path.exists(CANARY)
    # the sandbox still answers on both paths
    assert env.evaluate("decision == 'accept'", {"decision": "accept"}) is True
    after = {"items": [1, 2, 3]}
    env.execute("total = 0\nfor n in items:\n    total += n", after)
    assert after["total"] == 6


def test_there_are_at_least_forty_escapes():
    assert len(ESCAPES) >= 40


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize("name", ["subclass walk", "traceback computed", "format globals",
                                  "getattr computed", "gi_frame computed", "open write",
                                  "function globals", "fullwidth __import__"])
def test_escapes_through_deploy_and_start(api, name):
    mode, source = next((m, s) for n, m, s in ESCAPES if n == name)
    script = source if mode == "exec" else f"x = {source}"
    r = api.deploy(files={"escape.bpmn": script_process(script, "escape")})
    if r.status_code == 422:            # refused at deploy, naming the script task
        problems = r.get_json()["errors"]["escape.bpmn"]
        assert problems[0]["element_id"] == "script"
        return
    assert r.status_code == 201, r.get_json()
    r = api.start("escape", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"})
    inst = api.instance(r.get_json()["id"])
    assert inst["state"] == "error" and inst["incidents"][0]["element_id"] == "script"
    assert not os.path.exists(CANARY)
