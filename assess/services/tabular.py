"""Reading uploaded tables (CSV or XLSX) for the all-or-nothing imports of orgs and SKP ratings.

A table is a header row and data rows; every row keeps its number in the file (the header is row
1) so that a problem can name the row and the column. Headers are normalised (lower case, spaces to
underscores) and may have aliases (``tahun`` for ``year``).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Optional

from flask_babel import lazy_gettext as _l

MAX_ROWS = 500_000


@dataclass(frozen=True)
class Problem:
    """One problem of an import: where (sheet, row, column) and what, in words for the admin."""

    row: Optional[int]
    column: Optional[str]
    message: Any  # a (lazy) translated string
    sheet: Optional[str] = None

    def __str__(self) -> str:
        from flask_babel import gettext as _

        where = []
        if self.sheet:
            where.append(_("sheet %(name)s", name=self.sheet))
        if self.row is not None:
            where.append(_("row %(n)d", n=self.row))
        if self.column:
            where.append(_("column %(name)s", name=self.column))
        return (", ".join(where) + ": " if where else "") + str(self.message)


class ImportProblems(Exception):
    """The import was refused; nothing was written. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class Table:
    name: str
    header: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def normalise_header(value: Any, aliases: dict[str, str] | None = None) -> str:
    key = str(value or "").strip().lower().replace(" ", "_").replace("-", "_")
    return (aliases or {}).get(key, key)


def text(value: Any) -> str:
    """A cell as stripped text ('' for empty); whole floats from spreadsheets lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_tables(filename: str, data: bytes, aliases: dict[str, str] | None = None) -> list[Table]:
    """Read a .csv (one table) or .xlsx (one table per sheet); raise ImportProblems if unreadable."""
    name = (filename or "").lower()
    if name.endswith(".csv") or name.endswith(".txt"):
        return [_read_csv(data, aliases)]
    if name.endswith(".xlsx"):
        return _read_xlsx(data, aliases)
    raise ImportProblems([Problem(None, None, _l("Upload a .csv or .xlsx file."))])


def _read_csv(data: bytes, aliases) -> Table:
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblems([Problem(None, None, _l("The CSV file is not UTF-8 text. Save it as \"CSV UTF-8\" and try again."))]) from None
    first = content.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    try:
        records = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ImportProblems([Problem(None, None, _l("The CSV file could not be read: %(error)s", error=str(error)))]) from None
    return _table("csv", records, aliases)


def _read_xlsx(data: bytes, aliases) -> list[Table]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise ImportProblems([Problem(None, None, _l("The file is not a readable .xlsx workbook."))]) from None
    try:
        return [_table(ws.title, ws.iter_rows(values_only=True), aliases) for ws in workbook.worksheets]
    finally:
        workbook.close()


def _table(name: str, records, aliases) -> Table:
    iterator = iter(records)
    header_row = next(iterator, None)
    if header_row is None:
        return Table(name, [])
    header = [normalise_header(h, aliases) for h in header_row]
    table = Table(name, header)
    for number, record in enumerate(iterator, start=2):
        if number > MAX_ROWS + 1:
            raise ImportProblems([Problem(number, None, _l("The file has more than %(n)d rows; split it.", n=MAX_ROWS), name)])
        values = list(record) + [None] * (len(header) - len(record))
        if all(text(v) == "" for v in values):
            continue
        table.rows.append((number, {h: v for h, v in zip(header, values) if h}))
    return table


def require_columns(table: Table, required: tuple[str, ...], sheet: Optional[str] = None) -> list[Problem]:
    return [Problem(1, column, _l("The column %(name)s is missing.", name=column), sheet)
            for column in required if column not in table.header]


def parse_int(value: Any) -> Optional[int]:
    """An integer cell ('3', 3, 3.0) or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    raw = text(value)
    if raw.lstrip("+-").isdigit():
        return int(raw)
    return None


MAX_ID = 2**31 - 1  # the largest id or count a query may carry (PostgreSQL integer)


def whole_number(value: Any, low: int = 1, high: int = MAX_ID) -> Optional[int]:
    """A whole number in [low, high] from a form or query-string value; None for anything else
    (absent, 'abc', '-1', 10**20), so that no hand-made request reaches the database as one."""
    number = parse_int(value)
    return number if number is not None and low <= number <= high else None


def parse_float(value: Any) -> Optional[float]:
    """A number cell; a decimal comma is accepted ('87,5'). None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    raw = text(value).replace(",", ".")
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None
