"""Deploy-time checks of DMN decision tables: one decision with one table per file, a hit
policy SpiffWorkflow evaluates correctly, and cells that are Python it can run (not FEEL)."""
from __future__ import annotations

import ast
import copy
import keyword

from lxml import etree

from .lint import HIT_POLICIES, Problem, _Lint, local
from engine.i18n import _


def is_variable_label(label: str | None) -> bool:
    """Spiff reads an input column without inputExpression from the variable named by its
    label; the compiler turns such a label into the column's expression."""
    return bool(label) and label.isidentifier() and not keyword.iskeyword(label) \
        and not label.startswith("_")


def with_label_expressions(root):
    """A copy of a DMN document in which every input column without an inputExpression reads
    the variable its label names (what spiff does by evaluating the variable's repr)."""
    ns = etree.QName(root).namespace or ""
    q = lambda name: f"{{{ns}}}{name}"      # noqa: E731

    def unread(inp) -> bool:
        return not (inp.findtext(f"{q('inputExpression')}/{q('text')}") or "").strip() \
            and is_variable_label(inp.get("label"))
    if not any(unread(inp) for inp in root.iter(q("input"))):
        return root
    root = copy.deepcopy(root)
    for inp in [i for i in root.iter(q("input")) if unread(i)]:
        expression = inp.find(q("inputExpression"))
        if expression is None:
            expression = etree.Element(q("inputExpression"), id=f"{inp.get('id')}_label")
            inp.insert(0, expression)
        text = expression.find(q("text"))
        if text is None:
            text = etree.SubElement(expression, q("text"))
        text.text = inp.get("label")
    return root


def lint_dmn(root, file_name: str) -> list[Problem]:
    lint = _Lint(root, file_name)
    ns = etree.QName(root).namespace or ""
    if local(root) != "definitions" or "dmn" not in ns.lower():
        lint.add(root, _("根元素必须是 DMN definitions"))
        return lint.problems
    decisions = [d for d in root if local(d) == "decision"]
    if len(decisions) != 1:
        lint.add(root, _("每个 DMN 文件必须正好有一个决策, 这里有 {len_decisions} 个").format(
                           len_decisions=len(decisions)))
    for decision in decisions:
        if not decision.get("id"):
            lint.add(decision, _("决策缺少 id"), "")
        tables = [t for t in decision if local(t) == "decisionTable"]
        if len(tables) != 1:
            lint.add(decision, _("决策必须正好包含一个决策表"))
        for table in tables:
            _table(lint, ns, table)
    return sorted(lint.problems, key=lambda p: p.line or 0)


def _table(lint: _Lint, ns: str, table) -> None:
    q = lambda name: f"{{{ns}}}{name}"      # noqa: E731
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in HIT_POLICIES or (policy == "COLLECT" and table.get("aggregation")):
        lint.add(table, f"不支持的命中策略 {policy} {table.get('aggregation') or ''}".rstrip()
                 + " (hit policy not supported; use UNIQUE, FIRST, ANY or COLLECT without "
                   "aggregation)")
    for el in [table, *table.iter(q("input"), q("output"), q("rule"), q("inputEntry"),
                                  q("outputEntry"))]:
        if not el.get("id"):
            lint.add(el, _("元素 {local_el} 缺少 id").format(local_el=local(el)), "")
    inputs, outputs = table.findall(q("input")), table.findall(q("output"))
    for inp in inputs:
        text = inp.findtext(f"{q('inputExpression')}/{q('text')}")
        if (text or "").strip():
            lint.code(inp, text, "eval", _("输入表达式有误"))
        elif not is_variable_label(inp.get("label")):
            lint.add(inp, _("输入列没有输入表达式, 标签也不是变量名; 请填写输入表达式"))
    for rule in table.findall(q("rule")):
        ins, outs = rule.findall(q("inputEntry")), rule.findall(q("outputEntry"))
        if len(ins) != len(inputs) or len(outs) != len(outputs):
            lint.add(rule, _("规则的单元格数目与列数不符: {len_ins}, {len_outs}, {len_inputs}, {len_outputs}").format(
                               len_ins=len(ins), len_outs=len(outs), len_inputs=len(inputs),
                               len_outputs=len(outputs)))
        for entry in ins + outs:
            if entry.find(q("text")) is None:
                lint.add(entry, _("单元格缺少 text 元素: {local_entry}").format(local_entry=local(entry)), "")
        for entry in ins:
            _input_entry(lint, entry, entry.findtext(q("text")))
        for entry in outs:
            lint.code(entry, entry.findtext(q("text")), "eval", _("输出单元格有误"))


def _input_entry(lint: _Lint, el, text: str | None) -> None:
    """What spiff's DMN engine makes of a cell: '-' or empty (any), '?' replaced by the input
    value, an expression compared with ==, or an operator tail such as '>= 4'."""
    text = (text or "").strip()
    if not text or text == "-":
        return
    if "?" in text:
        candidate = _placeholders(text)
    else:
        candidate = None
        for attempt in (f"dmninputexpr == ({text})", f"dmninputexpr {text}"):
            try:
                ast.parse(attempt, mode="eval")
                candidate = attempt
                break
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                continue
        if candidate is None:
            lint.add(el, _("输入单元格无法解析: {text!r}; 单元格是 Python 表达式, 不是 FEEL").format(text=text))
            return
    lint.code(el, candidate, "eval", _("输入单元格有误"))


def _placeholders(text: str) -> str:
    """spiff's re.sub(r'(\\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)', 'dmninputexpr', cell): a '?'
    followed by an even number of quote characters. Spiff's regex is quadratic; this is not."""
    parts, quotes = [], 0
    for ch in reversed(text):
        if ch in "'\"":
            quotes += 1
        parts.append("dmninputexpr" if ch == "?" and quotes % 2 == 0 else ch)
    return "".join(reversed(parts))
