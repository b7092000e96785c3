"""The item bank as a table: CSV and XLSX, one row per item, options in columns.

For people who author in a spreadsheet. Both formats share the columns of :data:`COLUMNS`
(documented in item_bank/README.md). A stimulus shared by several items is written on every row
that uses it (``stimulus``, ``stimulus_title``, ``stimulus_body``); on import its body may also
be given once and left empty on the other rows.

Spreadsheet hazards are refused or neutralised: XLSX formula cells are reported as errors (the
bank holds text, and a formula's cached value is not what its author sees), files that are not
spreadsheets are reported, ZIP bombs are refused unread, and CSV text that a spreadsheet would
run as a formula (``=``, ``+``, ``-``, ``@`` first) is written with a leading apostrophe, which
import removes again.
"""
from __future__ import annotations

import csv
import io
import math
import re
from typing import Any, Optional

from flask_babel import lazy_gettext as _l

from assess.services.bank import (
    MAX_UPLOAD_BYTES, NOT_A_ZIP, BankContent, BankDoc, BankProblem, safe_zip,
)

OPTION_COLUMNS = [f"option_{n}" for n in range(1, 6)]
SCORE_COLUMNS = [f"score_{n}" for n in range(1, 6)]
THRESHOLD_COLUMNS = [f"b{n}" for n in range(1, 5)]
COLUMNS = (
    ["competency", "id", "type", "level", "subdomain", "status", "stimulus", "stimulus_title",
     "stimulus_body", "stem"]
    + OPTION_COLUMNS + SCORE_COLUMNS
    + ["key", "reverse", "model", "a", "b", "c"] + THRESHOLD_COLUMNS + ["calibrated"]
)
REQUIRED_COLUMNS = ("competency", "id", "type", "level", "stem", "model")
TEXT_COLUMNS = frozenset(["subdomain", "stimulus_title", "stimulus_body", "stem"] + OPTION_COLUMNS)
# Messages about YAML fields name the spreadsheet columns instead.
FIELD_NAMES = {
    "options": "option_1..option_5", "irt": "model", "irt.model": "model", "irt.a": "a",
    "irt.b": "b", "irt.c": "c", "irt.thresholds": "b1..b4", "irt.calibrated": "calibrated",
    "stimulus.id": "stimulus", "stimulus.title": "stimulus_title", "stimulus.body": "stimulus_body",
    **{f"options[{n}]": f"option_{n}" for n in range(1, 6)},
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TRUE = {"true", "yes", "ya", "y", "1", "benar", "x"}
FALSE = {"false", "no", "tidak", "n", "0", "salah", ""}
SHEET = "items"


# ----------------------------------------------------------------------------- write
def _rows(content: BankContent) -> list[dict[str, Any]]:
    rows = []
    for doc in content.docs:
        stimuli = {s["id"]: s for s in doc.stimuli}
        for raw in doc.items:
            row: dict[str, Any] = {c: None for c in COLUMNS}
            row.update(competency=doc.competency, id=raw["id"], type=raw["type"], level=raw["level"],
                       subdomain=raw.get("subdomain"), status=raw.get("status", "draft"), stem=raw["stem"])
            if raw.get("stimulus"):
                s = stimuli[raw["stimulus"]]
                row.update(stimulus=s["id"], stimulus_title=s.get("title"), stimulus_body=s["body"])
            for n, option in enumerate(raw.get("options") or [], start=1):
                row[f"option_{n}"] = option["text"]
                if "score" in option:
                    row[f"score_{n}"] = option["score"]
                if option.get("key"):
                    row["key"] = n
            if raw["type"] == "likert":
                row["reverse"] = bool(raw.get("reverse", False))
            irt = raw["irt"]
            row.update(model=irt["model"], a=irt.get("a"), b=irt.get("b"), c=irt.get("c"))
            for n, t in enumerate(irt.get("thresholds") or [], start=1):
                row[f"b{n}"] = t
            row["calibrated"] = bool(irt.get("calibrated", False))
            rows.append(row)
    return rows


def _csv_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if column in TEXT_COLUMNS and text.startswith(FORMULA_START + ("'",)):
        return "'" + text
    return text


def write_csv(content: BankContent) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheets read the accents right), comma separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in _rows(content):
        writer.writerow([_csv_cell(c, row[c]) for c in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(content: BankContent) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(_rows(content), start=2):
        for col, column in enumerate(COLUMNS, start=1):
            value = row[column]
            if value is None:
                continue
            cell = sheet.cell(row=r, column=col)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text, even when it starts with "=": never a formula
                if column in TEXT_COLUMNS:
                    cell.alignment = wrap
    sheet.freeze_panes = "C2"
    widths = {"stem": 60, "stimulus_body": 40, "subdomain": 24, **{c: 36 for c in OPTION_COLUMNS}}
    from openpyxl.utils import get_column_letter

    for col, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = widths.get(column, max(8, len(column) + 2))
    last = max(2, sheet.max_row)
    for column, values in (("type", "mc,sjt,likert"), ("status", "draft,review,pilot,operational,retired"),
                           ("model", "rasch,2pl,3pl,grm,gpcm"), ("level", "1,2,3,4,5")):
        letter = get_column_letter(COLUMNS.index(column) + 1)
        check = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True)
        check.add(f"{letter}2:{letter}{last + 500}")
        sheet.add_data_validation(check)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- read
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def _number(value: Any) -> Any:
    """A number from a cell; text that is not a number stays text (the validator names it)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    if text == "":
        return None
    if _DECIMAL_COMMA.match(text):  # Indonesian spreadsheets write 1,25
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def _integer(value: Any) -> Any:
    number = _number(value)
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def _flag(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):
        return bool(value) if value in (0, 1) else value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    return value


def _text(value: Any, csv_source: bool) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if csv_source and text.startswith("'") and text[1:].startswith(FORMULA_START + ("'",)):
        text = text[1:]
    text = text.replace("\r\n", "\n").strip()
    return text or None


def _row_to_item(cells: dict[str, Any], csv_source: bool) -> dict[str, Any]:
    def text(column):
        return _text(cells.get(column), csv_source)

    itype = (text("type") or "").lower() or None
    raw: dict[str, Any] = {"id": text("id"), "type": itype, "level": _integer(cells.get("level"))}
    if text("subdomain"):
        raw["subdomain"] = text("subdomain")
    raw["status"] = (text("status") or "draft").lower()
    if text("stimulus"):
        raw["stimulus"] = text("stimulus")
    raw["stem"] = text("stem")
    options = []
    last = max([n for n in range(1, 6) if text(f"option_{n}") or cells.get(f"score_{n}") not in (None, "")] or [0])
    key = _integer(cells.get("key"))
    for n in range(1, last + 1):
        option: dict[str, Any] = {"text": text(f"option_{n}")}
        score = _integer(cells.get(f"score_{n}"))
        if score is not None:
            option["score"] = score
        if itype == "mc" and key == n:
            option["key"] = True
        options.append(option)
    if options:
        raw["options"] = options
    if itype == "mc" and key is not None and not (isinstance(key, int) and 1 <= key <= max(last, 1)):
        raw["_bad_key"] = key
    if itype == "likert" or cells.get("reverse") not in (None, ""):
        raw["reverse"] = _flag(cells.get("reverse"))
    model = (text("model") or "").lower() or None
    irt: dict[str, Any] = {"model": model}
    for column in ("a", "b", "c"):
        value = _number(cells.get(column))
        if value is not None:
            irt[column] = value
    thresholds = [_number(cells.get(c)) for c in THRESHOLD_COLUMNS]
    while thresholds and thresholds[-1] is None:
        thresholds.pop()
    if thresholds:
        irt["thresholds"] = thresholds
    calibrated = _flag(cells.get("calibrated"))
    if calibrated is not False:
        irt["calibrated"] = calibrated
    raw["irt"] = irt
    return raw


def _content_from_rows(header: list, rows: list[tuple[int, list]], label: str, csv_source: bool) -> BankContent:
    content = BankContent()
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    unknown = [h for h in names if h and h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if unknown:
        content.problems.append(BankProblem(label, None, ", ".join(unknown), _l(
            "unknown columns (expected the columns of the bank template)"), 1))
    if missing:
        content.problems.append(BankProblem(label, None, ", ".join(missing), _l("required columns are missing"), 1))
    if missing:
        return content
    docs: dict[str, BankDoc] = {}
    stimulus_seen: dict[str, tuple[int, Optional[str], Optional[str]]] = {}
    for rownum, values in rows:
        cells = {names[i]: v for i, v in enumerate(values) if i < len(names) and names[i]}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells.values()):
            continue
        comp = _text(cells.get("competency"), csv_source)
        if not comp:
            content.problems.append(BankProblem(label, _text(cells.get("id"), csv_source), "competency",
                                                _l("the competency is empty"), rownum))
            continue
        doc = docs.get(comp)
        if doc is None:
            doc = docs[comp] = BankDoc(file=label, competency=comp, field_names=FIELD_NAMES)
        raw = _row_to_item(cells, csv_source)
        bad_key = raw.pop("_bad_key", None)
        if bad_key is not None:
            content.problems.append(BankProblem(label, raw.get("id"), "key", _l(
                "the key must be the number of a filled option (1 to 5)"), rownum))
        sid = raw.get("stimulus")
        if sid:
            title, body = _text(cells.get("stimulus_title"), csv_source), _text(cells.get("stimulus_body"), csv_source)
            if sid not in stimulus_seen:
                stimulus_seen[sid] = (rownum, title, body)
                if body is not None:
                    doc.stimuli.append({"id": sid, **({"title": title} if title else {}), "body": body})
                    doc.stimulus_rows[sid] = rownum
            else:
                first_row, first_title, first_body = stimulus_seen[sid]
                if first_body is None and body is not None:
                    stimulus_seen[sid] = (rownum, title, body)
                    doc.stimuli.append({"id": sid, **({"title": title} if title else {}), "body": body})
                    doc.stimulus_rows[sid] = rownum
                elif body is not None and (body, title) != (first_body, first_title):
                    content.problems.append(BankProblem(label, raw.get("id"), "stimulus_body", _l(
                        "stimulus %(s)s differs from its text on row %(r)d", s=sid, r=first_row), rownum))
        doc.rows[len(doc.items)] = rownum
        doc.items.append(raw)
    content.docs = list(docs.values())
    return content


def read_csv(data: bytes, label: str) -> BankContent:
    if len(data) > MAX_UPLOAD_BYTES:
        return BankContent(problems=[BankProblem(label, None, None, _l(
            "the file is larger than %(n)d bytes", n=MAX_UPLOAD_BYTES))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return BankContent(problems=[BankProblem(label, None, None, _l(
            "the file is not UTF-8 text (save it as CSV UTF-8)"))])
    if "\x00" in text:
        return BankContent(problems=[BankProblem(label, None, None, _l("the file is not a CSV text file"))])
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        return BankContent(problems=[BankProblem(label, None, None, _l("not a valid CSV file: %(e)s", e=str(error)))])
    if not records:
        return BankContent(problems=[BankProblem(label, None, None, _l("the file is empty"))])
    header, body = records[0], records[1:]
    rows = [(n, [v if v != "" else None for v in values]) for n, values in enumerate(body, start=2)]
    return _content_from_rows(header, rows, label, csv_source=True)


def read_xlsx(data: bytes, label: str) -> BankContent:
    if len(data) > MAX_UPLOAD_BYTES:
        return BankContent(problems=[BankProblem(label, None, None, _l(
            "the file is larger than %(n)d bytes", n=MAX_UPLOAD_BYTES))])
    not_a_sheet = BankContent(problems=[BankProblem(label, None, None, _l(
        "the file is not an XLSX spreadsheet (save it from your spreadsheet program as .xlsx)"))])
    archive, problems = safe_zip(data, label)
    if archive is None:
        return not_a_sheet if problems and problems[0].message is NOT_A_ZIP else BankContent(problems=problems)
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        return not_a_sheet
    if "xl/vbaProject.bin" in names:
        return BankContent(problems=[BankProblem(label, None, None, _l("the workbook contains macros; save it as a plain .xlsx"))])
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        return not_a_sheet
    try:
        sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        content_problems: list[BankProblem] = []
        rows: list[tuple[int, list]] = []
        header: Optional[list] = None
        for rownum, cells in enumerate(sheet.iter_rows(), start=1):
            values = []
            for cell in cells:
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f":
                    column = header[cell.column - 1] if header and cell.column - 1 < len(header) else cell.column_letter
                    content_problems.append(BankProblem(label, None, str(column), _l(
                        "formula cells are not allowed; paste the values instead"), rownum))
                    value = None
                values.append(value)
            if header is None:
                header = values
            else:
                rows.append((rownum, values))
    finally:
        workbook.close()
    if header is None:
        return BankContent(problems=[BankProblem(label, None, None, _l("the file is empty"))])
    content = _content_from_rows(header, rows, label, csv_source=False)
    content.problems = content_problems + content.problems
    return content
