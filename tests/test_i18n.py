"""Languages: every message in code is Chinese marked with `_()`, its English is in the
catalogue, and no hard-coded "中文 (English)" literal is left."""
from __future__ import annotations

import importlib.util
import json
import pickle
import re
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from engine import i18n
from engine.i18n import _

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
FOLDERS = ("engine", "processes", "web", "integrations", "forms")


def _converter():
    spec = importlib.util.spec_from_file_location("i18n_convert",
                                                  ROOT / "scripts" / "i18n_convert.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("i18n_convert", module)   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _msgids() -> dict[str, str]:
    found = {}
    for folder in FOLDERS:
        for filename, lineno, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map=[("**.py", "python")], keywords={"_": None}):
            found.setdefault(message, f"{folder}/{filename}:{lineno}")
    return found


def test_every_marked_message_has_an_english_entry():
    english = i18n.catalogue("en")
    missing = {msgid: where for msgid, where in _msgids().items() if msgid not in english}
    assert not missing, ("no English in translations/en/LC_MESSAGES/messages.po for "
                         f"(run scripts/i18n_convert.py or add them): {missing}")


def test_english_entries_use_only_the_placeholders_the_code_gives():
    """A msgstr naming a field the msgid lacks would fall back to Chinese at run time."""
    import string

    english = i18n.catalogue("en")
    formatter = string.Formatter()
    for msgid in _msgids():
        if msgid not in english:
            continue
        ours = {f for _, f, _, _ in formatter.parse(msgid) if f}
        theirs = {f for _, f, _, _ in formatter.parse(english[msgid]) if f}
        assert theirs <= ours | _extra_fields(msgid), (msgid, english[msgid])


# What marshmallow passes to its messages' format() (web/localize.py sets those messages).
MARSHMALLOW_FIELDS = {"input", "obj_type", "min", "max", "min_op", "max_op", "equal", "choices",
                      "labels"}


def _extra_fields(msgid: str) -> set[str]:
    # Fields the code passes that the Chinese does not show (see the converted call sites).
    return _CALL_FIELDS.get(msgid, set()) | MARSHMALLOW_FIELDS


def _call_fields() -> dict[str, set[str]]:
    import ast

    fields: dict[str, set[str]] = {}
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "format" and isinstance(node.func.value, ast.Call) \
                        and isinstance(node.func.value.func, ast.Name) \
                        and node.func.value.func.id == "_" and node.func.value.args \
                        and isinstance(node.func.value.args[0], ast.Constant):
                    key = node.func.value.args[0].value
                    fields.setdefault(key, set()).update(k.arg for k in node.keywords if k.arg)
    return fields


_CALL_FIELDS = _call_fields()


def test_no_hard_coded_bilingual_literal_is_left():
    convert = _converter()
    left = [f"{hit.path.relative_to(ROOT)}:{hit.line}: {hit.msgid} ({hit.english})"
            for path in convert.code_files([]) for hit in convert.find(path)]
    assert not left, "hard-coded '中文 (English)' literals; run scripts/i18n_convert.py:\n" + \
        "\n".join(left)


def test_the_converter_rewrites_f_strings_and_concatenations(tmp_path, monkeypatch):
    convert = _converter()
    source = tmp_path / "sample.py"
    source.write_text(
        'from __future__ import annotations\n\n'
        'def check(name, n):\n'
        '    """文档 (docs stay)"""\n'
        '    a = f"元素 {name} 缺少 id (missing id)"\n'
        '    b = ("第一部分, "\n'
        '         f"共 {len(n)} 项 (part one, {len(n)} items)")\n'
        '    return a, b\n', encoding="utf-8")
    monkeypatch.setattr(convert, "ROOT", tmp_path)
    hits = convert.find(source)
    assert [(h.msgid, h.english) for h in hits] == [
        ("元素 {name} 缺少 id", "missing id"),
        ("第一部分, 共 {len_n} 项", "part one, {len_n} items")]
    convert.rewrite(source, hits)
    po = tmp_path / "messages.po"
    assert convert.update_po(hits, po) == 2
    text = source.read_text(encoding="utf-8")
    assert 'a = _("元素 {name} 缺少 id").format(name=name)' in text
    assert '_("第一部分, 共 {len_n} 项").format(len_n=len(n))' in text
    assert "from engine.i18n import _" in text and '"""文档 (docs stay)"""' in text
    namespace: dict = {}
    exec(compile(text, str(source), "exec"), namespace)
    a, b = namespace["check"]("x", [1, 2])
    assert (a, b) == ("元素 x 缺少 id", "第一部分, 共 2 项")
    # Idempotent: nothing more to convert, the catalogue gains nothing.
    before = po.read_bytes()
    assert convert.find(source) == []
    assert convert.update_po([], po) == 0
    assert po.read_bytes() == before


def test_messages_render_in_the_context_language():
    msgid = next(iter(i18n.catalogue("en")))
    message = _(msgid)
    assert message == msgid and str(message) == msgid          # Chinese by default
    token = i18n.set_locale("en-US")
    try:
        assert str(message) == i18n.catalogue("en")[msgid]
        assert f"{message}" == i18n.catalogue("en")[msgid]
        assert message == msgid                                 # the stored text stays Chinese
        assert json.dumps(message, ensure_ascii=False) == json.dumps(msgid, ensure_ascii=False)
    finally:
        i18n.reset_locale(token)


def test_format_stays_lazy_across_two_rounds_like_marshmallow(monkeypatch):
    monkeypatch.setitem(i18n._catalogues, "en", {"不能小于 {{min}}": "must be {min_op} {{min}}"})
    message = _("不能小于 {{min}}").format(min_op=">=").format(input=1, min=5, max=None)
    assert message == "不能小于 5"
    assert message.resolve("en") == "must be >= 5"
    joined = "字段: " + message
    assert joined == "字段: 不能小于 5" and joined.resolve("en") == "字段: must be >= 5"
    assert pickle.loads(pickle.dumps(message)) == "不能小于 5"


def test_a_translation_with_unknown_fields_falls_back_to_chinese(monkeypatch):
    monkeypatch.setitem(i18n._catalogues, "en", {"元素 {name}": "element {nom}"})
    assert _("元素 {name}").format(name="x").resolve("en") == "元素 x"


@pytest.mark.parametrize("header,english", [("en", True), ("en-US,en;q=0.9", True),
                                            ("zh-CN,zh;q=0.9,en;q=0.8", False), (None, False)])
def test_the_api_answers_in_the_language_the_request_asks(sqlite_app, header, english):
    """Without a token: the 401 message, Chinese unless Accept-Language prefers English."""
    client = sqlite_app.test_client()
    headers = {"Accept-Language": header} if header else {}
    message = client.get("/api/v1/tasks", headers=headers).get_json()["message"]
    assert bool(CJK.search(message)) is not english, message
    assert client.get("/api/v1/tasks?lang=en").get_json()["message"] == \
        client.get("/api/v1/tasks", headers={"Accept-Language": "en"}).get_json()["message"]
