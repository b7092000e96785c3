"""Talent-map exports: an XLSX workbook and a CSV file, both streamed.

- Rows come from one ordered query read in batches (``yield_per``), never all at once.
- XLSX uses openpyxl's write_only mode (each sheet goes to a temporary file as it is written), so
  memory stays flat for 180,000 people: a summary sheet per cluster, a sheet per agency, and the
  person sheet (frozen header, filters, number formats). The 9-box is drawn as a table of counts.
- CSV is UTF-8 with a byte-order mark (Excel then reads it as UTF-8); a text cell that begins with
  = + - @ (or a tab or carriage return) gets a leading apostrophe, so a spreadsheet never runs it as
  a formula. XLSX cells are typed: text is always stored as text.
- Every export is audit-logged by the caller through :func:`record_export` (UU PDP 27/2022).
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from flask_babel import gettext as _
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Agency, Battery, Competency, Score, TalentPlacement, TalentSettings, Unit, User
from assess.services import talent
from assess.services.talent_reports import CLUSTER_OF_PERSON, Filters, Tally, people_scope, placements_scope

TP = TalentPlacement
BATCH = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (and so XLSX) cannot hold.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"


def escape_formula(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


# ------------------------------------------------------------------------------ person rows
def competency_codes() -> list[str]:
    """Competencies with any score, in bank order: the level columns of the person sheet."""
    scored = select(Score.id).where(Score.competency_id == Competency.id).exists()
    return list(db.session.execute(
        select(Competency.code).join(Battery, Competency.battery_id == Battery.id).where(scored)
        .order_by(Battery.position, Competency.position, Competency.code)).scalars())


@dataclass
class Labels:
    """Translated labels, looked up once per export rather than once per cell."""

    band: dict
    potential: dict
    performance: dict
    job: dict
    ready: dict
    missing: dict

    @classmethod
    def current(cls, band_set: str = "mapping") -> "Labels":
        return cls(
            band={k: str(v) for k, v in talent.BAND_LABELS.get(band_set, talent.BAND_LABELS["mapping"]).items()},
            potential={k: str(v) for k, v in talent.POTENTIAL_LABELS.items()},
            performance={k: str(v) for k, v in talent.PERFORMANCE_LABELS.items()},
            job={k: str(v) for k, v in talent.JOB_LEVEL_LABELS.items()},
            ready={True: _("Yes"), False: _("No"), None: _("Unknown")},
            missing={k: str(v) for k, v in talent.MISSING_LABELS.items()},
        )

    def note(self, note: Optional[str]) -> Optional[str]:
        if not note:
            return None
        return "; ".join(self.missing.get(code, code) for code in note.split(","))


def person_header(codes: list[str]) -> list[str]:
    return [_("NIP"), _("Name"), _("Agency code"), _("Unit"), _("Cluster"), _("Job level"), _("Position"),
            *[_("Level %(code)s", code=code) for code in codes], _("JPM (%)"), _("Band"), _("Potential index (θ)"),
            _("Potential"), _("Performance (SKP)"), _("Box"), _("Ready for IKN"), _("Data incomplete")]


# Columns before the levels, and positions of the numeric columns after them (number formats).
FIXED_COLUMNS = 7
JPM_OFFSET, POTENTIAL_INDEX_OFFSET = 0, 2
TEXT_COLUMNS = (0, 1, 2, 3, 6)  # free text from the database: NIP, name, agency code, unit, position


def person_query(filters: Filters, settings_id: Optional[int]):
    return (placements_scope(filters, settings_id, User.nip, User.name, Agency.code, Unit.name, TP.cluster,
                             User.job_level, User.position, TP.levels, TP.jpm, TP.band, TP.potential_index,
                             TP.potential, TP.performance, TP.box, TP.ready, TP.note)
            .order_by(TP.cluster, Agency.code, Unit.code, User.name, User.nip))


def count_people(filters: Filters, settings_id: Optional[int]) -> int:
    return db.session.scalar(placements_scope(filters, settings_id, func.count(TP.id))) or 0


def person_rows(filters: Filters, settings: Optional[TalentSettings], codes: list[str],
                labels: Optional[Labels] = None) -> Iterator[list]:
    """The person rows as Python values in header order, read from the database in batches."""
    settings_id = settings.id if settings is not None else None
    band_set = talent.with_defaults(settings.settings)["band_set"] if settings is not None else "mapping"
    labels = labels or Labels.current(band_set)
    result = db.session.execute(person_query(filters, settings_id).execution_options(yield_per=BATCH))
    for (nip, name, agency_code, unit_name, cluster, job_level, position, levels, jpm, band,
         potential_index, potential, performance, box, ready, note) in result:
        levels = levels or {}
        yield [nip, name, agency_code, unit_name, cluster, labels.job.get(job_level, job_level), position,
               *[levels.get(code) for code in codes],
               None if jpm is None else round(jpm, 2), labels.band.get(band), potential_index,
               labels.potential.get(potential), labels.performance.get(performance), box,
               labels.ready[ready], labels.note(note)]


# ------------------------------------------------------------------------------ CSV
def csv_chunks(filters: Filters, settings: Optional[TalentSettings], *,
               progress: Optional[Callable[[int], None]] = None, chunk_rows: int = 1000) -> Iterator[bytes]:
    """The CSV file in chunks of bytes: BOM, header, rows (formula-escaped text)."""
    codes = competency_codes()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_formula(h) for h in person_header(codes)])
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    n = 0
    for row in person_rows(filters, settings, codes):
        writer.writerow([escape_formula(v) for v in row])
        n += 1
        if n % chunk_rows == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            if progress is not None:
                progress(chunk_rows)
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
    if progress is not None and n % chunk_rows:
        progress(n % chunk_rows)


# ------------------------------------------------------------------------------ XLSX
def _sheet_title(text: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\']", "-", text).strip() or "Sheet"
    title = title[:31]
    base, n = title, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title.lower())
    return title


class _Styles:
    def __init__(self):
        from openpyxl.styles import Alignment, Font, PatternFill

        self.bold = Font(bold=True)
        self.title = Font(bold=True, size=13)
        self.pool = PatternFill("solid", fgColor="C6EFCE")
        self.header_fill = PatternFill("solid", fgColor="DDEBF7")
        self.wrap = Alignment(wrap_text=True, vertical="top")


def _cell(ws, value, *, font=None, fill=None, number_format=None):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _text(ws, value):
    """Text from the database for a sheet: a cell typed as text when it looks like a formula."""
    if isinstance(value, str) and value.startswith("="):
        return _cell(ws, value)
    return value


@dataclass
class Node:
    """A group of the summary (cluster, agency or unit) with its tally and children."""

    key: Any
    code: Optional[str]
    name: Optional[str]
    tally: Tally
    children: dict


def summary_tree(filters: Filters, settings_id: Optional[int]) -> dict[int, Node]:
    """{cluster: Node(children {agency id: Node(children {unit id: Node})})} from one grouped query."""
    keys = (CLUSTER_OF_PERSON, Agency.id, Agency.code, Agency.name, Unit.id, Unit.code, Unit.name)
    query = people_scope(filters, settings_id, *keys, TP.box, TP.band, TP.ready, func.count(User.id), func.count(TP.id))
    query = query.group_by(*keys, TP.box, TP.band, TP.ready)
    tree: dict[int, Node] = {}
    for cluster, agency_id, agency_code, agency_name, unit_id, unit_code, unit_name, box, band, ready, people, placed in db.session.execute(query):
        c = tree.setdefault(cluster, Node(cluster, str(cluster), None, Tally(), {}))
        a = c.children.setdefault(agency_id, Node(agency_id, agency_code, agency_name, Tally(), {}))
        u = a.children.setdefault(unit_id, Node(unit_id, unit_code, unit_name, Tally(), {}))
        for node in (c, a, u):
            node.tally.add(box, band, ready, people, placed)
    return tree


def _write_summary(ws, styles: _Styles, labels: Labels, title: str, subtitle: str, tally: Tally,
                   child_label: str, children: list[Node], code_label: str) -> None:
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 36
    for col in "CDEFGHIJKL":
        ws.column_dimensions[col].width = 14
    _use_fast_rows(ws)
    ws.append([_cell(ws, title, font=styles.title)])
    ws.append([subtitle])
    ws.append([])
    heads = [_("Participants"), _("Assessed"), _("Pending"), _("Ready for IKN"), _("Talent pool (boxes 7-9)"),
             _("No box (data incomplete)")]
    ws.append([_cell(ws, h, font=styles.bold, fill=styles.header_fill) for h in heads])
    ws.append([tally.people, tally.placed, tally.pending, tally.ready.get(True, 0), tally.pool, tally.no_box])
    ws.append([])
    axis = [_cell(ws, _("Performance \\ potential"), font=styles.bold, fill=styles.header_fill)] + [
        _cell(ws, labels.potential[p], font=styles.bold, fill=styles.header_fill) for p in talent.GRID_COLUMNS]
    ws.append([_cell(ws, _("9-box: number of people"), font=styles.bold), None, None, None, None,
               _cell(ws, _("Box numbers (KemenPANRB)"), font=styles.bold), None, None, None, None,
               _cell(ws, _("Share of people with a box (%)"), font=styles.bold)])
    ws.append(axis + [None] + axis + [None] + [_cell(ws, labels.potential[p], font=styles.bold, fill=styles.header_fill)
                                              for p in talent.GRID_COLUMNS])
    for r, performance in enumerate(talent.GRID_ROWS):
        row_label = labels.performance[performance]
        counts = [_cell(ws, tally.boxes.get(box, 0), fill=styles.pool if box in talent.TALENT_POOL else None)
                  for box in talent.GRID[r]]
        numbers = [_cell(ws, box, font=styles.bold, fill=styles.pool if box in talent.TALENT_POOL else None)
                   for box in talent.GRID[r]]
        shares = [_cell(ws, round(tally.box_share(box), 1), number_format="0.0") for box in talent.GRID[r]]
        ws.append([_cell(ws, row_label, font=styles.bold)] + counts + [None, _cell(ws, row_label, font=styles.bold)]
                  + numbers + [None] + shares)
    ws.append([])
    ws.append([_cell(ws, h, font=styles.bold, fill=styles.header_fill) for h in (_("Band"), _("People"), _("%"))])
    for band in talent.BANDS:
        ws.append([labels.band[band], tally.bands.get(band, 0), _cell(ws, round(tally.band_share(band), 1), number_format="0.0")])
    ws.append([_("No band (no JPM)"), tally.bands.get(None, 0), _cell(ws, round(tally.band_share(None), 1), number_format="0.0")])
    ws.append([])
    ws.append([_cell(ws, h, font=styles.bold, fill=styles.header_fill) for h in (_("IKN readiness"), _("People"))])
    for value in (True, False, None):
        ws.append([labels.ready[value], tally.ready.get(value, 0)])
    ws.append([])
    ws.append([_cell(ws, h, font=styles.bold, fill=styles.header_fill) for h in (
        code_label, child_label, _("Participants"), _("Assessed"), _("Pending"), labels.band["optimal"],
        labels.band["cukup_optimal"], labels.band["kurang_optimal"], _("Ready for IKN"), _("Talent pool (boxes 7-9)"),
        _("No box (data incomplete)"))])
    for child in children:
        t = child.tally
        ws.append([_text(ws, child.code), _text(ws, child.name), t.people, t.placed, t.pending,
                   t.bands.get("optimal", 0), t.bands.get("cukup_optimal", 0), t.bands.get("kurang_optimal", 0),
                   t.ready.get(True, 0), t.pool, t.no_box])


XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _use_fast_rows(ws, column_styles: Optional[dict[int, int]] = None) -> bool:
    """Give a write-only sheet a row writer that builds each row in C (lxml), when lxml is there.

    openpyxl turns every value into a cell object and serialises it through several Python calls;
    for 180,000 rows that is most of an export's time. With this writer a row's values go straight
    to XML: text as inline strings (never formulas: nothing is evaluated), numbers, booleans, and
    cells made with :func:`_cell` (styles) as they are; ``column_styles`` gives a style id to the
    values of some columns (number formats). The XML is the same as openpyxl's. Must be called
    before the sheet's first row; without lxml it returns False and openpyxl's writer stays.
    """
    from openpyxl import LXML

    if not LXML or ws._writer is not None:
        return False
    from lxml.etree import Element, SubElement
    from openpyxl.cell.cell import Cell
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._writer import WorksheetWriter

    letters = [get_column_letter(i) for i in range(1, 200)]
    styles = {k: str(v) for k, v in (column_styles or {}).items()}
    illegal = ILLEGAL_XML.search

    class FastRowWriter(WorksheetWriter):
        def write_row(self, xf, row, row_idx):
            r = str(row_idx)
            row_el = Element("row", r=r)
            for index, value in enumerate(row):
                if value is None:
                    continue
                attrs = {"r": letters[index] + r}
                if isinstance(value, Cell):
                    if value.has_style:
                        attrs["s"] = str(value.style_id)
                    kind, value = value.data_type, value._value
                    if value is None:
                        SubElement(row_el, "c", attrs)
                        continue
                    if kind == "f":
                        kind = "s"
                elif isinstance(value, str):
                    kind = "s"
                elif isinstance(value, bool):
                    kind = "b"
                elif isinstance(value, (int, float)):
                    kind = "n"
                else:
                    raise TypeError(f"unexpected value {value!r} in an export row")
                style = styles.get(index)
                if style is not None and "s" not in attrs:
                    attrs["s"] = style
                if kind == "s":
                    attrs["t"] = "inlineStr"
                    if illegal(value):
                        value = ILLEGAL_XML.sub("", value)
                    t = SubElement(SubElement(SubElement(row_el, "c", attrs), "is"), "t")
                    t.text = value
                    if value != value.strip():
                        t.set(XML_SPACE, "preserve")
                else:
                    attrs["t"] = kind
                    SubElement(SubElement(row_el, "c", attrs), "v").text = "%.16g" % value
            xf.write(row_el)

    ws._writer = FastRowWriter(ws)
    ws._writer.write_top()
    ws._values_to_row = lambda values, row_idx: values  # the writer takes the values as they are
    return True


def write_xlsx(target, filters: Filters, settings: Optional[TalentSettings], *,
               progress: Optional[Callable[[int], None]] = None, cluster_names: Optional[dict] = None) -> int:
    """Write the workbook to ``target`` (a path or a binary file); returns the number of people."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    settings_id = settings.id if settings is not None else None
    band_set = talent.with_defaults(settings.settings)["band_set"] if settings is not None else "mapping"
    labels = Labels.current(band_set)
    styles = _Styles()
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    version = settings.version if settings is not None else "—"
    from assess.models import utcnow

    stamp = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    subtitle = _("Talent map, settings version %(v)s, exported %(at)s", v=version, at=stamp)
    tree = summary_tree(filters, settings_id)
    names = cluster_names or {}
    for cluster in sorted(k for k in tree if k is not None):
        node = tree[cluster]
        ws = workbook.create_sheet(_sheet_title(_("Cluster %(n)s", n=cluster), used))
        agencies = sorted(node.children.values(), key=lambda n: str(n.code or ""))
        title = _("Cluster %(n)s", n=cluster) + (f" · {names[cluster]}" if cluster in names else "")
        _write_summary(ws, styles, labels, title, subtitle, node.tally, _("Agency"), agencies, _("Agency code"))
    agencies_all = sorted(((a, c) for c, node in tree.items() for a in node.children.values()),
                          key=lambda pair: str(pair[0].code or ""))
    for agency, cluster in agencies_all:
        if agency.key is None:
            continue
        ws = workbook.create_sheet(_sheet_title(agency.code or str(agency.key), used))
        units = sorted(agency.children.values(), key=lambda n: str(n.code or ""))
        _write_summary(ws, styles, labels, f"{agency.code} · {agency.name} ({_('Cluster %(n)s', n=cluster)})",
                       subtitle, agency.tally, _("Unit"), units, _("Unit code"))
    codes = competency_codes()
    header = person_header(codes)
    ws = workbook.create_sheet(_sheet_title(_("Persons"), used))
    ws.freeze_panes = "A2"
    widths = [20, 30, 14, 34, 8, 16, 30] + [8] * len(codes) + [9, 16, 10, 18, 22, 6, 10, 30]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    jpm_col = FIXED_COLUMNS + len(codes) + JPM_OFFSET
    index_col = FIXED_COLUMNS + len(codes) + POTENTIAL_INDEX_OFFSET
    jpm_cell = _cell(ws, None, number_format="0.00")
    index_cell = _cell(ws, None, number_format="0.000")
    fast = _use_fast_rows(ws, {jpm_col: jpm_cell.style_id, index_col: index_cell.style_id})
    ws.append([_cell(ws, h, font=styles.bold, fill=styles.header_fill) for h in header])
    n = 0
    for row in person_rows(filters, settings, codes, labels):
        if not fast:  # openpyxl's own writer: clean text, keep it text, format the numbers
            for i in TEXT_COLUMNS:
                value = row[i]
                if isinstance(value, str):
                    if ILLEGAL_XML.search(value):
                        value = row[i] = ILLEGAL_XML.sub("", value)
                    if value.startswith("="):
                        row[i] = _cell(ws, value)
            for col, template in ((jpm_col, jpm_cell), (index_col, index_cell)):
                if row[col] is not None:
                    template.value = row[col]
                    row[col] = template
        ws.append(row)
        n += 1
        if progress is not None and n % 1000 == 0:
            progress(1000)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{n + 1}"
    if progress is not None and n % 1000:
        progress(n % 1000)
    workbook.save(target)
    return n


def xlsx_chunks(filters: Filters, settings: Optional[TalentSettings], *, chunk_size: int = 1 << 16,
                cluster_names: Optional[dict] = None) -> Iterator[bytes]:
    """Build the workbook in a temporary file and stream it out in chunks."""
    with tempfile.TemporaryFile(suffix=".xlsx") as handle:
        write_xlsx(handle, filters, settings, cluster_names=cluster_names)
        handle.seek(0)
        while True:
            chunk = handle.read(chunk_size)
            if not chunk:
                break
            yield chunk


def filename(fmt: str, filters: Filters, settings: Optional[TalentSettings]) -> str:
    from assess.models import utcnow

    parts = ["talent"]
    if filters.cluster:
        parts.append(f"klaster{filters.cluster}")
    if filters.agency_id:
        code = db.session.scalar(select(Agency.code).where(Agency.id == filters.agency_id))
        parts.append(re.sub(r"[^A-Za-z0-9._-]", "-", code or str(filters.agency_id)))
    if settings is not None:
        parts.append(f"v{settings.version}")
    parts.append(utcnow().strftime("%Y%m%d-%H%M"))
    return "-".join(parts) + "." + fmt


def record_export(fmt: str, filters: Filters, settings: Optional[TalentSettings], rows: int, *,
                  actor: Optional[User] = None, actor_label: Optional[str] = None, channel: str = "web",
                  extra: Optional[dict] = None) -> None:
    """Audit an export of personal data: who, what format, which filters, how many people."""
    from assess.services import audit

    detail = {"format": fmt, "filters": filters.describe(), "rows": rows, "channel": channel,
              "settings_version": settings.version if settings is not None else None}
    detail.update(extra or {})
    audit.record("talent.export", actor=actor, actor_label=actor_label, target_type="talent_placements",
                 detail=detail)


__all__ = ["CSV_MIME", "XLSX_MIME", "Labels", "competency_codes", "count_people", "csv_chunks", "escape_formula",
           "filename", "person_header", "person_rows", "record_export", "summary_tree", "write_xlsx", "xlsx_chunks"]
