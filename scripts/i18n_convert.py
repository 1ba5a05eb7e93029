"""Rewrite hard-coded bilingual literals, "中文 (English)", to `_("中文")` and put the English in
translations/en/LC_MESSAGES/messages.po.

    .venv/bin/python scripts/i18n_convert.py [--check] [paths...]   (default: the code folders)

f-strings become named format fields: f"元素 {name} 缺少 id (missing id)" →
_("元素 {name} 缺少 id").format(name=name). Implicit concatenation across lines is one literal.
Idempotent: converted code has no "(English)" left and the .po only gains missing msgids, so
re-running after a merge converts only what the merge brought. --check lists what is left and
exits 1 if anything is (tests/test_i18n.py uses `find` for the same).
Left alone: docstrings, OpenAPI descriptions (description=/summary=), log calls.
"""
from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("engine", "processes", "web", "integrations", "forms")
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
IMPORT = "from engine.i18n import _"
WIDTH = 100
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
# " (English …)" with no CJK inside; its text has at least one Latin letter.
ENGLISH = re.compile(r"\s*\(([^()\u3400-\u9fff]*[A-Za-z][^()\u3400-\u9fff]*)\)")
EXEMPT_KEYWORDS = {"description", "summary"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


@dataclass
class Hit:
    path: Path
    node: ast.expr
    msgid: str
    english: str
    fields: dict[str, str] = field(default_factory=dict)  # name → source expression

    @property
    def line(self) -> int:
        return self.node.lineno

    def replacement(self, column: int = 0) -> str:
        """One line if it fits in WIDTH; else the msgid continues on aligned lines and the
        format arguments go on their own line, so no other line of the statement moves."""
        args = [f"{k}={v}" for k, v in self.fields.items()]
        fmt = f".format({', '.join(args)})" if args else ""
        one = f"_({quote(self.msgid)}){fmt}"
        if column + len(one) <= WIDTH:
            return one
        indent = column + 2
        lines = [quote(c) for c in wrap(self.msgid, WIDTH - indent - 3)]
        code = "_(" + ("\n" + " " * indent).join(lines) + ")"
        if not args or indent + len(lines[-1]) + 1 + len(fmt) <= WIDTH:
            return code + fmt
        code += ".format("
        pad = " " * (column + 4)
        line = pad
        for i, arg in enumerate(args):
            piece = arg + ("," if i < len(args) - 1 else ")")
            if line.strip() and len(line) + 1 + len(piece) > WIDTH:
                code += "\n" + line.rstrip()
                line = pad
            line += ("" if not line.strip() else " ") + piece
        return code + "\n" + line.rstrip()


def wrap(text: str, width: int) -> list[str]:
    """Pieces of at most `width` characters, cut after a space or punctuation where possible
    and never inside a {placeholder}."""
    width = max(width, 20)
    pieces: list[str] = []
    while len(text) > width:
        cut, depth = 0, 0
        for i, ch in enumerate(text[:width]):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0 and ch in " ,;:，；。、)":
                cut = i + 1
        if cut == 0:
            cut = width
            while cut < len(text) and text[:cut].count("{") > text[:cut].count("}"):
                cut += 1
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return [p for p in pieces if p]


def quote(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _exempt_ids(tree: ast.AST) -> set[int]:
    """Nodes never converted: docstrings, description=/summary= keywords, metadata
    descriptions, log calls and text already inside `_()`."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "_":
                skip.update(id(a) for a in node.args)
            if isinstance(func, ast.Attribute) and func.attr in LOG_METHODS and \
                    isinstance(func.value, ast.Name) and \
                    func.value.id in ("log", "logger", "logging"):
                skip.update(id(n) for a in node.args for n in ast.walk(a))
            for kw in node.keywords:
                if kw.arg in EXEMPT_KEYWORDS:
                    skip.update(id(n) for n in ast.walk(kw.value))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value in EXEMPT_KEYWORDS:
                    skip.update(id(n) for n in ast.walk(value))
    return skip


def _field_name(expr: ast.expr, taken: dict[str, str]) -> str:
    source = ast.unparse(expr)
    if isinstance(expr, ast.Name):
        base = expr.id
    elif isinstance(expr, ast.Attribute):
        base = expr.attr
    elif isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and \
            isinstance(expr.slice.value, str):
        base = expr.slice.value
    elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.args:
        base = expr.func.id + "_" + _field_name(expr.args[0], {})
    else:
        base = "value"
    base = re.sub(r"\W+", "_", base).strip("_") or "value"
    if base[0].isdigit() or base.startswith("_"):
        base = "v" + base
    name, n = base, 2
    while name in taken and taken[name] != source:
        name, n = f"{base}{n}", n + 1
    return name


def _template(node: ast.expr) -> tuple[str, dict[str, str]] | None:
    """(format template, fields) of a str constant or an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, {}
    if not isinstance(node, ast.JoinedStr):
        return None
    parts, fields = [], {}
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(value.value.replace("{", "{{").replace("}", "}}"))
            continue
        name = _field_name(value.value, fields)
        fields[name] = ast.unparse(value.value)
        conversion = "" if value.conversion == -1 else "!" + chr(value.conversion)
        spec = ""
        if value.format_spec is not None:
            inner = _template(value.format_spec)
            if inner is None or inner[1]:
                return None  # nested fields in a format spec: hand work
            spec = ":" + inner[0].replace("{{", "{").replace("}}", "}")
        parts.append("{" + name + conversion + spec + "}")
    return "".join(parts), fields


PLACEHOLDER = re.compile(r"(?<!\{)\{[^{}]*\}(?!\})")
SEPARATORS = re.compile(r"(; |: |, |，|；|。)")


def _is_english(inner: str) -> bool:
    """'missing id', 'KeyError: {exc}' yes; '{what}', '20 mm' no (data, not a translation)."""
    words = PLACEHOLDER.sub("", inner).strip(" ,;:")
    return bool(words) and (words[0].isascii() and words[0].isalpha() or words[0] in "'\"$.")


def _name(token: str) -> str:
    return re.split(r"[!:.\[]", token.strip("{}"), maxsplit=1)[0]


def split(template: str) -> tuple[str, str] | None:
    """'中文 (English): rest' → ('中文: rest', 'English: rest'); None if not bilingual.

    Several pairs: '甲 (A): {x}; 乙 (B)' → ('甲: {x}; 乙', 'A: {x}; B'): each English replaces
    the Chinese clause before it (back to the previous ';', ':' or ',').
    """
    if not CJK.search(template):
        return None
    matches = [m for m in ENGLISH.finditer(template)
               if _is_english(m.group(1)) and CJK.search(template[:m.start()])]
    if not matches:
        return None
    outside = template
    for m in reversed(matches):
        outside = outside[:m.start()] + outside[m.end():]
    shown = {_name(t) for t in PLACEHOLDER.findall(outside)}
    msgid, english, prev = [], [], 0
    for i, m in enumerate(matches):
        between = template[prev:m.start()]
        if i == 0:
            lead = len(between) - len(between.lstrip(" ;:,"))
            english.append(between[:lead])
        else:
            first_cjk = CJK.search(between)
            lead = 0
            for sep in SEPARATORS.finditer(between):
                if first_cjk and sep.end() <= first_cjk.start():
                    lead = sep.end()
            english.append(between[:lead])
        english.append(m.group(1).strip())
        msgid.append(between.rstrip() if between.strip() else between)
        # Data only the English showed (an id, an exception) stays visible in Chinese too.
        hidden = [t for t in PLACEHOLDER.findall(m.group(1)) if _name(t) not in shown]
        if hidden:
            msgid.append(": " + ", ".join(dict.fromkeys(hidden)))
            shown.update(_name(t) for t in hidden)
        prev = m.end()
    post = template[prev:]
    msgid.append(post)
    english.append(post)
    return "".join(msgid).strip(), "".join(english).strip()


def find(path: Path) -> list[Hit]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    skip = _exempt_ids(tree)
    hits: list[Hit] = []
    inside: set[int] = set()  # Constants that are parts of an f-string already considered
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside:
            continue
        if isinstance(node, ast.JoinedStr):
            inside.update(id(n) for n in ast.walk(node))
        made = _template(node) if isinstance(node, (ast.Constant, ast.JoinedStr)) else None
        if made is None:
            continue
        template, fields = made
        pair = split(template)
        if pair is None:
            continue
        hits.append(Hit(path, node, pair[0], pair[1], fields))
    return hits


def _offsets(source: str) -> list[int]:
    starts, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line.encode("utf-8"))
        starts.append(total)
    return starts


def rewrite(path: Path, hits: list[Hit]) -> None:
    data = path.read_bytes()
    starts = _offsets(data.decode("utf-8"))
    for hit in sorted(hits, key=lambda h: (h.node.lineno, h.node.col_offset), reverse=True):
        n = hit.node
        begin = starts[n.lineno - 1] + n.col_offset
        end = starts[n.end_lineno - 1] + n.end_col_offset
        line_start = starts[n.lineno - 1]
        column = len(data[line_start:begin].decode("utf-8"))
        new = hit.replacement(column).encode("utf-8")
        data = data[:begin] + new + data[end:]
    text = data.decode("utf-8")
    if IMPORT not in text:
        text = _add_import(text)
    path.write_text(text, encoding="utf-8")


def _add_import(text: str) -> str:
    """After the module's leading imports, on a line of its own (merges stay one-line)."""
    tree = ast.parse(text)
    last = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node.end_lineno
        elif last and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    if not last:  # no imports: after the docstring
        first = tree.body[0] if tree.body else None
        last = first.end_lineno if first is not None and isinstance(first, ast.Expr) else 0
    lines = text.splitlines(keepends=True)
    lines.insert(last, IMPORT + "\n")
    return "".join(lines)


def shadowing(path: Path) -> list[int]:
    """Lines binding `_` locally in a function that also calls `_()`: hand work."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        nodes = list(ast.walk(func))
        calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_"
                    for n in nodes)
        binds = [n.lineno for n in nodes if isinstance(n, ast.Name) and n.id == "_"
                 and isinstance(n.ctx, ast.Store)]
        if calls and binds:
            bad.extend(binds)
    return bad


def update_po(hits: list[Hit], po: Path = PO) -> int:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    if po.is_file():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale="en")
    else:
        po.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale="en", domain="messages", project="Jianguan",
                          msgid_bugs_address="", fuzzy=False)
    added = 0
    for hit in hits:
        existing = catalog.get(hit.msgid)
        if existing is not None and existing.string:
            if existing.string != hit.english:
                print(f"  keep: {hit.msgid!r} is already {existing.string!r} "
                      f"(code says {hit.english!r})", file=sys.stderr)
            continue
        catalog.add(hit.msgid, hit.english)
        added += 1
    with po.open("wb") as fh:
        write_po(fh, catalog, width=0, no_location=True, omit_header=False,
                 include_previous=False)
    return added


def code_files(args: list[str]) -> list[Path]:
    roots = [ROOT / a for a in args] if args else [ROOT / f for f in FOLDERS]
    files: list[Path] = []
    for root in roots:
        files.extend([root] if root.is_file() else sorted(root.rglob("*.py")))
    return [f for f in files if f.name != "i18n.py"]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = code_files([a for a in argv if not a.startswith("--")])
    found = {path: find(path) for path in files}
    found = {path: hits for path, hits in found.items() if hits}
    if check:
        for path, hits in found.items():
            for hit in hits:
                print(f"{path.relative_to(ROOT)}:{hit.line}: {hit.msgid} ({hit.english})")
        return 1 if found else 0
    all_hits = [h for hits in found.values() for h in hits]
    for path, hits in found.items():
        rewrite(path, hits)
        for line in shadowing(path):
            print(f"{path.relative_to(ROOT)}:{line}: binds `_` where `_()` is called: rename it",
                  file=sys.stderr)
        print(f"{path.relative_to(ROOT)}: {len(hits)} converted")
    added = update_po(all_hits)
    print(f"{len(all_hits)} literals converted, {added} English entries added to "
          f"{PO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
