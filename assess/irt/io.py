"""CSV files of the engine's command line: reading, validation and atomic writing.

The only module of ``assess.irt`` besides ``__main__`` that touches files. Formats
(DESIGN.md, "Contracts"):

* RESPONSES.csv  ``person_id,<item_id>...``; a cell is an integer category or empty when
  the item was not administered.
* PARAMS.csv     ``item_id,model,a,b,c,b1,b2,...``; dichotomous items fill a, b, c
  (c = 0 for rasch and 2pl); GRM and GPCM items fill a and b1..b(K-1), leaving b and c
  empty.
* THETA.csv      ``person_id,theta,se``.

Every problem is reported as an :class:`InputError` naming the file, the row and the
column. Rows are counted as lines of the file, the header being row 1; columns from 1.
Writers replace the target atomically, so a failure never leaves a partial file.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from assess.irt.models import DICHOTOMOUS_MODELS, MODELS, POLYTOMOUS_MODELS, ItemBank

__all__ = [
    "InputError",
    "ResponseTable",
    "read_responses",
    "check_categories",
    "read_params",
    "write_responses",
    "write_params",
    "write_theta",
]

PARAM_FIELDS: tuple[str, ...] = ("item_id", "model", "a", "b", "c")


class InputError(ValueError):
    """Bad content in an input file; the message names file, row and column."""


@dataclass(frozen=True, eq=False)
class ResponseTable:
    """A parsed RESPONSES.csv.

    Attributes
    ----------
    person_ids : tuple of str, length N
    item_ids : tuple of str, length J
    responses : (N, J) ndarray of int
        Categories; -1 where the cell was empty (not administered).
    path : str
    """

    person_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    responses: NDArray[np.int64]
    path: str

    def where(self, i: int, j: int) -> str:
        """'FILE, row R (person P), column C (item I)' of the cell (i, j)."""
        return (f"{self.path}, row {i + 2} (person {self.person_ids[i]!r}), column {j + 2} "
                f"(item {self.item_ids[j]!r})")


def _read_rows(path: str | os.PathLike[str]) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.reader(f))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from None


def read_responses(path: str | os.PathLike[str]) -> ResponseTable:
    """Read and validate RESPONSES.csv.

    Checks the header (``person_id`` first, then non-empty unique item ids), that every
    row has as many fields as the header, that person ids are non-empty and unique, and
    that every non-empty cell is a non-negative integer. Category ranges depend on the
    items and are checked by :func:`check_categories`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ResponseTable

    Raises
    ------
    InputError
    """
    name = str(path)
    rows = _read_rows(path)
    if not rows:
        raise InputError(f"{name}, row 1: empty file, expected a header person_id,<item_id>...")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2 or header[0] != "person_id":
        raise InputError(f"{name}, row 1, column 1: malformed header: expected "
                         f"'person_id,<item_id>...', got {','.join(rows[0])!r}")
    seen: dict[str, int] = {}
    for c, h in enumerate(header[1:], start=2):
        if not h:
            raise InputError(f"{name}, row 1, column {c}: malformed header: empty item id")
        if h in seen:
            raise InputError(f"{name}, row 1, column {c}: malformed header: duplicate item id "
                             f"{h!r} (also column {seen[h]})")
        seen[h] = c
    width = len(header)
    data = rows[1:]
    # a trailing blank line is not a row
    while data and not any(cell.strip() for cell in data[-1]):
        data.pop()
    persons: dict[str, int] = {}
    for r, row in enumerate(data, start=2):
        if len(row) != width:
            raise InputError(f"{name}, row {r}: has {len(row)} fields, the header has {width}")
        pid = row[0].strip()
        if not pid:
            raise InputError(f"{name}, row {r}, column 1: empty person id")
        if pid in persons:
            raise InputError(f"{name}, row {r}, column 1: duplicate person id {pid!r} "
                             f"(first in row {persons[pid]})")
        persons[pid] = r
    N, J = len(data), width - 1
    if N == 0:
        raise InputError(f"{name}: no response rows after the header")
    cells = np.char.strip(np.array([row[1:] for row in data], dtype=np.str_).reshape(N, J))
    empty = cells == ""
    try:
        values = np.where(empty, "0", cells).astype(np.int64)
        bad_mask = ~empty & ~np.char.isdigit(np.char.lstrip(cells, "+-"))
    except ValueError:
        bad_mask = None
        values = np.zeros((N, J), dtype=np.int64)
    if bad_mask is None or bad_mask.any():
        for i in range(N):
            for j in range(J):
                s = str(cells[i, j])
                if s and not _is_int(s):
                    raise InputError(f"{name}, row {i + 2} (person {data[i][0].strip()!r}), "
                                     f"column {j + 2} (item {header[j + 1]!r}): {s!r} is not "
                                     "an integer category")
    responses = np.where(empty, -1, values)
    negative = ~empty & (values < 0)
    table = ResponseTable(tuple(persons), tuple(header[1:]), responses, name)
    if negative.any():
        i, j = np.argwhere(negative)[0]
        raise InputError(f"{table.where(i, j)}: category {values[i, j]} is negative "
                         "(leave the cell empty for an item not administered)")
    return table


def _is_int(s: str) -> bool:
    body = s[1:] if s[:1] in "+-" else s
    return body.isdigit()


def check_categories(table: ResponseTable, items: ItemBank) -> None:
    """Check every response against the categories of its item.

    Parameters
    ----------
    table : ResponseTable
        Its item ids must be those of ``items``, in the same order.
    items : ItemBank

    Raises
    ------
    InputError
        ``FILE, row R (person P), column C (item I): category 3 is outside 0..1 of this
        2pl item``.
    """
    k = items.n_categories
    bad = table.responses >= k[None, :]
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(f"{table.where(i, j)}: category {table.responses[i, j]} is outside "
                         f"0..{k[j] - 1} of this {items.model[j]} item")


def read_params(path: str | os.PathLike[str]) -> ItemBank:
    """Read and validate PARAMS.csv.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ItemBank
        Items in file order.

    Raises
    ------
    InputError
        Malformed header, unknown model, a number that does not parse, fields filled or
        left empty against the model, invalid parameter values, duplicate item ids.
    """
    name = str(path)
    rows = _read_rows(path)
    if not rows:
        raise InputError(f"{name}, row 1: empty file, expected a header "
                         "item_id,model,a,b,c,b1,b2,...")
    header = [h.strip() for h in rows[0]]
    expected = list(PARAM_FIELDS) + [f"b{k}" for k in range(1, len(header) - 4)]
    if len(header) < 5 or header != expected:
        col = next((c for c, (h, e) in enumerate(zip(header, expected), start=1) if h != e),
                   min(len(header), len(expected)) + 1)
        raise InputError(f"{name}, row 1, column {col}: malformed header: expected "
                         f"'item_id,model,a,b,c,b1,b2,...', got {','.join(rows[0])!r}")
    width = len(header)
    records = []
    seen: dict[str, int] = {}
    data = rows[1:]
    while data and not any(cell.strip() for cell in data[-1]):
        data.pop()
    if not data:
        raise InputError(f"{name}: no item rows after the header")
    for r, row in enumerate(data, start=2):
        if len(row) != width:
            raise InputError(f"{name}, row {r}: has {len(row)} fields, the header has {width}")
        cells = [c.strip() for c in row]
        item_id, model = cells[0], cells[1].lower()
        where = f"{name}, row {r}"
        if not item_id:
            raise InputError(f"{where}, column 1: empty item id")
        if item_id in seen:
            raise InputError(f"{where}, column 1: duplicate item id {item_id!r} "
                             f"(first in row {seen[item_id]})")
        seen[item_id] = r
        if model not in MODELS:
            raise InputError(f"{where}, column 2 (model): unknown model {cells[1]!r}; "
                             f"expected one of {', '.join(MODELS)}")

        def number(c: int, *, required: bool) -> float | None:
            s = cells[c]
            if not s:
                if required:
                    raise InputError(f"{where}, column {c + 1} ({header[c]}): empty, but a "
                                     f"{model} item needs {header[c]}")
                return None
            try:
                v = float(s)
            except ValueError:
                raise InputError(f"{where}, column {c + 1} ({header[c]}): {s!r} is not a "
                                 "number") from None
            if not math.isfinite(v):
                raise InputError(f"{where}, column {c + 1} ({header[c]}): {s!r} is not finite")
            return v

        a = number(2, required=True)
        rec: dict[str, object] = {"item_id": item_id, "model": model, "a": a}
        if model in DICHOTOMOUS_MODELS:
            rec["b"] = number(3, required=True)
            c = number(4, required=model == "3pl")
            rec["c"] = 0.0 if c is None else c
            for t in range(5, width):
                if cells[t]:
                    raise InputError(f"{where}, column {t + 1} ({header[t]}): a {model} item "
                                     "leaves b1, b2, ... empty")
        else:
            for t in (3, 4):
                if cells[t]:
                    raise InputError(f"{where}, column {t + 1} ({header[t]}): a {model} item "
                                     "leaves b and c empty")
            filled = [t for t in range(5, width) if cells[t]]
            if not filled:
                raise InputError(f"{where}, column 6 (b1): a {model} item needs thresholds "
                                 "b1..b(K-1)")
            last = filled[-1]
            for t in range(5, last + 1):
                if not cells[t]:
                    raise InputError(f"{where}, column {t + 1} ({header[t]}): empty, but "
                                     f"{header[last]} is filled")
            rec["thresholds"] = [number(t, required=True) for t in range(5, last + 1)]
        try:
            ItemBank.from_records([rec])
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        records.append(rec)
    return ItemBank.from_records(records)


# ----------------------------------------------------------------------------- writing

def _atomic_write(path: str | os.PathLike[str], rows: Sequence[Sequence[object]]) -> None:
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fmt(v: float) -> str:
    return "" if v is None or not math.isfinite(v) else repr(float(v))


def write_responses(path: str | os.PathLike[str], person_ids: Sequence[str],
                    item_ids: Sequence[str], responses: NDArray[np.int64]) -> None:
    """Write RESPONSES.csv (-1 becomes an empty cell)."""
    text = np.where(responses < 0, "", responses.astype(str))
    rows: list[Sequence[object]] = [["person_id", *item_ids]]
    rows.extend([pid, *cells] for pid, cells in zip(person_ids, text.tolist()))
    _atomic_write(path, rows)


def write_params(path: str | os.PathLike[str], items: ItemBank) -> None:
    """Write PARAMS.csv with as many b1, b2, ... columns as the largest item needs."""
    n_t = max(0, items.max_categories - 1) if any(
        m in POLYTOMOUS_MODELS for m in items.model) else 0
    rows: list[Sequence[object]] = [[*PARAM_FIELDS, *(f"b{k}" for k in range(1, n_t + 1))]]
    for rec in items.to_records():
        t = rec["thresholds"]
        rows.append([rec["item_id"], rec["model"], _fmt(rec["a"]),
                     _fmt(rec["b"]) if rec["b"] is not None else "",
                     _fmt(rec["c"]) if rec["c"] is not None else "",
                     *[_fmt(v) for v in t], *[""] * (n_t - len(t))])
    _atomic_write(path, rows)


def write_theta(path: str | os.PathLike[str], person_ids: Sequence[str],
                theta: NDArray[np.float64], se: NDArray[np.float64]) -> None:
    """Write THETA.csv (NaN becomes an empty cell)."""
    rows: list[Sequence[object]] = [["person_id", "theta", "se"]]
    rows.extend([pid, _fmt(t), _fmt(s)] for pid, t, s in zip(person_ids, theta.tolist(),
                                                            se.tolist()))
    _atomic_write(path, rows)
