"""What every kind of import shares: reading an untrusted CSV or Excel file, matching its
Chinese headers to fields, checking each cell, and the result a person reads.

The files come from other systems and other hands: they are capped in size and rows, Excel is
read with openpyxl in read-only mode and refused when it holds formulas or macros (a formula's
cached value is whatever the last program that saved it computed), and every message is
Chinese with the row number a person sees in Excel.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable

from engine.errors import Invalid
from engine.i18n import _

MAX_BYTES = 20 * 1024 * 1024          # an upload through the page or the API
MAX_ROWS = 200_000
MAX_UNZIPPED = 200 * 1024 * 1024      # an xlsx is a zip: a small file may inflate enormously
MAX_CELL = 2000
ERRORS_KEPT = 10_000                   # per job; the report says when there were more


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_BYTES
    max_rows: int = MAX_ROWS


@dataclass(frozen=True)
class Field:
    """A column of a kind: its key, the header of the template, other headers districts use,
    and how a cell becomes a value."""
    name: str
    label: str
    required: bool = False
    type: str = "str"                  # str float date bool choice
    max_len: int = 200
    aliases: tuple[str, ...] = ()
    choices: dict[str, str] | None = None      # what a person writes -> stored value
    bounds: tuple[float, float] | None = None  # for floats
    hint: str = ""

    def choice_labels(self) -> list[str]:
        """One label per stored value (the first written), for messages and the template."""
        seen: dict[str, str] = {}
        for label, value in (self.choices or {}).items():
            seen.setdefault(value, label)
        return list(seen.values())

    def parse(self, raw: Any) -> Any:
        """The cell as a value; ValueError with a Chinese message when it is not one."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise ValueError(f"{self.label}不能为空")
            return None
        if self.type == "float":
            try:
                value = float(str(raw).strip()) if not isinstance(raw, (int, float)) else float(raw)
            except ValueError:
                raise ValueError(f"{self.label}应为数字, 实际为“{_short(raw)}”") from None
            if value != value or (self.bounds and not self.bounds[0] <= value <= self.bounds[1]):
                low, high = self.bounds or (0, 0)
                raise ValueError(f"{self.label}应在 {low} 至 {high} 之间, 实际为 {_short(raw)}")
            return value
        if self.type == "date":
            if isinstance(raw, datetime):
                return raw.date().isoformat()
            if isinstance(raw, date):
                return raw.isoformat()
            text = str(raw).strip().replace("/", "-").replace(".", "-")
            try:
                return date.fromisoformat("-".join(p.zfill(2) for p in text[:10].split("-"))
                                          ).isoformat()
            except ValueError:
                raise ValueError(f"{self.label}应为日期 (如 2026-12-31), 实际为“{_short(raw)}”") \
                    from None
        if self.type == "bool":
            text = str(raw).strip().lower()
            if text in ("是", "y", "yes", "true", "1", "有"):
                return True
            if text in ("否", "n", "no", "false", "0", "无"):
                return False
            raise ValueError(f"{self.label}应填“是”或“否”, 实际为“{_short(raw)}”")
        text = _text(raw)
        if len(text) > self.max_len:
            raise ValueError(f"{self.label}超过 {self.max_len} 个字符")
        if self.type == "choice":
            choices = self.choices or {}
            if text in choices:
                return choices[text]
            if text in choices.values():
                return text
            raise ValueError(f"{self.label}应为 {'、'.join(self.choice_labels())} 之一, "
                             f"实际为“{_short(raw)}”")
        return text


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)             # 2026001 read from Excel as 2026001.0
    return str(raw).strip()


def _short(raw: Any) -> str:
    text = str(raw)
    return text if len(text) <= 30 else text[:30] + "…"


@dataclass
class Row:
    line: int                       # the row number in the file (Excel's, header is 1)
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    outcome: str = ""               # created updated unchanged error

    @property
    def key(self) -> str:
        return str(self.values.get("__key") or "")


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]     # (line, cells)


# -- reading ------------------------------------------------------------------------------------

def read_table(filename: str, data: bytes, limits: Limits = Limits()) -> Table:
    """The header row and data rows of a CSV or xlsx file; Invalid (422) when it cannot be
    read safely."""
    name = (filename or "").lower()
    if not data:
        raise Invalid(_("文件为空"), {"file": ["文件为空"]})
    if len(data) > limits.max_bytes:
        raise Invalid(_("文件超过 {value} MB 上限").format(value=limits.max_bytes // (1024 * 1024)),
                      {"file": ["文件过大, 请分批导入"]})
    if name.endswith((".xlsm", ".xls", ".xlsb")):
        raise Invalid(_("只接受 .xlsx 或 .csv 文件; 含宏或旧格式的工作簿请另存为 .xlsx"),
                      {"file": ["不支持的文件类型"]})
    if name.endswith(".xlsx") or data[:2] == b"PK":
        table = _read_xlsx(data, limits)
    elif name.endswith((".csv", ".txt")) or not name:
        table = _read_csv(data, limits)
    else:
        raise Invalid(_("只接受 .xlsx 或 .csv 文件"), {"file": ["不支持的文件类型"]})
    if not any(table.headers):
        raise Invalid(_("第 1 行应为表头 (列名), 文件没有表头"), {"file": ["缺少表头"]})
    return table


def _decode(data: bytes) -> str:
    # district systems export UTF-8 (with or without BOM) or GBK (Excel's default in China)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid(_("无法识别文件编码, 请另存为 UTF-8 或 GBK 编码的 CSV"),
                  {"file": ["编码无法识别"]})


def _read_csv(data: bytes, limits: Limits) -> Table:
    if b"\x00" in data[:4096]:
        raise Invalid(_("文件不是文本格式的 CSV"), {"file": ["不是 CSV 文件"]})
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = [h.strip() for h in next(reader, [])]
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= limits.max_rows:
                raise _too_many(limits)
            rows.append((number, [_csv_cell(c, number) for c in cells]))
    except csv.Error as exc:
        raise Invalid(_("CSV 格式错误: {exc}").format(exc=exc), {"file": [str(exc)]}) from None
    return Table(headers, rows)


def _csv_cell(cell: str, line: int) -> str:
    if len(cell) > MAX_CELL:
        raise Invalid(_("第 {line} 行有超过 {MAX_CELL} 个字符的单元格").format(line=line, MAX_CELL=MAX_CELL),
                      {"file": ["单元格过长"]})
    # "=HYPERLINK(...)" in a CSV becomes a live formula when the report is opened in Excel
    if cell.startswith(("=", "@")):
        raise Invalid(_("第 {line} 行含有公式 (以 = 或 @ 开头), 请只导入数值").format(line=line),
                      {"file": [f"第 {line} 行含有公式"]})
    return cell


def _too_many(limits: Limits) -> Invalid:
    return Invalid(_("数据超过 {max_rows} 行上限, 请分批导入").format(max_rows=limits.max_rows),
                   {"file": ["行数过多"]})


def _read_xlsx(data: bytes, limits: Limits) -> Table:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        inflated = sum(i.file_size for i in archive.infolist())
    except zipfile.BadZipFile:
        raise Invalid(_("文件不是有效的 Excel 工作簿"),
                      {"file": ["无法打开工作簿"]}) from None
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Invalid(_("工作簿含有宏, 不予导入; 请另存为不含宏的 .xlsx"),
                      {"file": ["含有宏"]})
    if inflated > MAX_UNZIPPED:
        raise Invalid(_("工作簿解压后过大"), {"file": ["文件过大"]})
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:     # openpyxl raises many kinds for a damaged file
        raise Invalid(_("无法读取 Excel 工作簿, 文件可能已损坏"),
                      {"file": [type(exc).__name__]}) from None
    try:
        sheet = book.worksheets[0]
        rows_iter = sheet.iter_rows(values_only=True)
        headers = [_text(v) if v is not None else "" for v in next(rows_iter, ())]
        rows = []
        for number, values in enumerate(rows_iter, start=2):
            for value in values:
                # not data_only: a formula cell reads as its text "=..." and is refused (its
                # cached value is whatever the program that last saved it computed)
                if isinstance(value, str) and (value.startswith("=") or len(value) > MAX_CELL):
                    if len(value) > MAX_CELL:
                        raise Invalid(_("第 {number} 行有超过 {MAX_CELL} 个字符的单元格").format(
                                          number=number, MAX_CELL=MAX_CELL), {"file": ["单元格过长"]})
                    raise Invalid(_("第 {number} 行含有公式, 请复制后“选择性粘贴为数值”再导入").format(number=number), {"file": [f"第 {number} 行含有公式"]})
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if len(rows) >= limits.max_rows:
                raise _too_many(limits)
            rows.append((number, list(values)))
    finally:
        book.close()
    return Table(headers, rows)


# -- headers → fields ---------------------------------------------------------------------------

def _norm(header: str) -> str:
    text = re.sub(r"[\s*＊:：]", "", str(header or "")).lower()
    return re.sub(r"[（(].*?[）)]", "", text) or text


def propose_mapping(fields: Iterable[Field], headers: list[str]) -> dict[str, str | None]:
    """Each header's field, matched by the template's label, a known alias or the field's
    key, ignoring spaces, the required star and a bracketed unit: 经度(°) is 经度."""
    names: dict[str, str] = {}
    for f in fields:
        for label in (f.label, f.name, *f.aliases):
            names.setdefault(_norm(label), f.name)
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for header in headers:
        target = names.get(_norm(header))
        if header and target and target not in taken:
            mapping[header] = target
            taken.add(target)
        elif header:
            mapping[header] = None
    return mapping


def check_mapping(fields: tuple[Field, ...], headers: list[str],
                  mapping: dict[str, str | None]) -> dict[str, int]:
    """The column index of each mapped field; Invalid when a header or field is unknown, a
    field is mapped twice, or a required one is missing."""
    known = {f.name: f for f in fields}
    index: dict[str, int] = {}
    problems: list[str] = []
    for header, target in mapping.items():
        if not target:
            continue
        if header not in headers:
            problems.append(f"文件中没有“{header}”列")
        elif target not in known:
            problems.append(f"“{header}”对应的字段 {target} 不存在")
        elif target in index:
            problems.append(f"字段“{known[target].label}”被多列对应")
        else:
            index[target] = headers.index(header)
    missing = [f.label for f in fields if f.required and f.name not in index]
    if missing:
        problems.append(f"缺少必填列: {'、'.join(missing)}")
    if problems:
        raise Invalid(_("列对应关系有误"), {"mapping": problems})
    return index


def parse_rows(fields: tuple[Field, ...], key: str, table: Table, index: dict[str, int],
               progress: Callable[[int], None] | None = None) -> list[Row]:
    """Each data row as values, or with its errors; a natural key seen twice is an error on
    the later row (which of the two is right is the person's call)."""
    parsed: list[Row] = []
    seen: dict[str, int] = {}
    by_name = {f.name: f for f in fields}
    for count, (line, cells) in enumerate(table.rows, start=1):
        row = Row(line)
        for name, col in index.items():
            raw = cells[col] if col < len(cells) else None
            try:
                row.values[name] = by_name[name].parse(raw)
            except ValueError as exc:
                row.errors.append(str(exc))
        value = row.values.get(key)
        row.values["__key"] = value
        if value and not row.errors:
            if value in seen:
                row.errors.append(f"{by_name[key].label} {value} 与第 {seen[value]} 行重复")
            else:
                seen[value] = line
        parsed.append(row)
        if progress and count % 1000 == 0:
            progress(1000)
    if progress:
        progress(len(parsed) % 1000)
    return parsed


def chunks(items: list, size: int = 1000) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def changes(row: Row, current: dict, fields: Iterable[str]) -> dict:
    """The mapped values that differ from the stored record (blank cells leave it as it is)."""
    return {name: row.values[name] for name in fields
            if name in row.values and row.values[name] is not None
            and row.values[name] != current.get(name)}
