"""Agencies (K/L), their units and the five relocation clusters: edits, imports and the history of
cluster changes.

Rules:
- A unit's cluster is its own when set, its agency's otherwise (``Unit.effective_cluster``).
- Every change of an agency's or a unit's cluster leaves a :class:`ClusterChange` row (shown on the
  agency's page) and an audit row, whether it came from a form or an import.
- Strategic-role attributes (DOMAIN.md): the roles an agency or unit plays (importance to the state,
  competitiveness, economic independence; decision support, strategic enabler, defence and
  security), how closely and how urgently it works with the President, and a priority rank in its
  cluster (1 first) that orders relocation.
- Imports (CSV or XLSX) are all or nothing: every problem is reported with its row and column, and
  nothing is written unless the whole file is valid.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Agency, Cluster, ClusterChange, Unit, User
from assess.models.people import AGENCY_KINDS
from assess.services import audit
from assess.services.tabular import (
    ImportProblems, Problem, Table, parse_int, read_tables, require_columns, text,
)

CLUSTERS = (1, 2, 3, 4, 5)

# The published clusters (2022), as defaults until an admin renames them.
CLUSTER_DEFAULTS: dict[int, tuple[str, str]] = {
    1: ("Kepresidenan, lembaga tinggi negara, kementerian koordinator dan kementerian inti",
        "The Presidency, high state institutions, coordinating and core ministries"),
    2: ("Layanan dasar dan pembangunan kawasan IKN", "Basic services and IKN regional development"),
    3: ("Layanan dasar, pembangunan manusia, ekonomi dan sumber daya alam",
        "Basic services, human development, the economy and natural resources"),
    4: ("Lembaga pemerintah nonkementerian (LPNK)", "Non-ministerial agencies (LPNK)"),
    5: ("LPNK dan lembaga nonstruktural (LNS)", "Non-ministerial agencies and non-structural institutions (LNS)"),
}

STRATEGIC_ROLES: dict[str, Any] = {
    "importance": _l("Importance to the state"),
    "competitiveness": _l("Competitiveness"),
    "economic_independence": _l("Economic independence"),
    "decision_support": _l("Decision support"),
    "strategic_enabler": _l("Strategic enabler"),
    "defence_security": _l("Defence and security"),
}
GRADES: dict[str, Any] = {"high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}
KIND_LABELS: dict[str, Any] = {
    "lembaga_negara": _l("State institution"), "kementerian": _l("Ministry"),
    "lpnk": _l("Non-ministerial agency (LPNK)"), "lns": _l("Non-structural institution (LNS)"),
    "lainnya": _l("Other"),
}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")

AGENCY_COLUMNS = ("code", "name", "name_en", "kind", "cluster", "priority", "strategic_roles",
                  "proximity", "urgency")
UNIT_COLUMNS = ("agency_code", "code", "name", "echelon", "cluster", "priority", "parent_code",
                "strategic_roles", "proximity", "urgency")
HEADER_ALIASES = {"kode": "code", "nama": "name", "jenis": "kind", "klaster": "cluster",
                  "prioritas": "priority", "kode_instansi": "agency_code", "eselon": "echelon",
                  "peran_strategis": "strategic_roles", "kedekatan": "proximity", "urgensi": "urgency",
                  "kode_induk": "parent_code"}


class OrgError(Exception):
    """A refused change, with a translated message for the admin."""

    def __init__(self, message, field: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.field = field


class OrgErrors(OrgError):
    """Several field problems at once (field → message)."""

    def __init__(self, problems: dict):
        super().__init__(next(iter(problems.values())), next(iter(problems)))
        self.problems = problems


# --------------------------------------------------------------------------------- clusters
def cluster_names(locale: str = "id") -> dict[int, str]:
    """Each cluster's name in ``locale`` (an admin's renaming, else the published default)."""
    rows = {c.number: c for c in db.session.execute(select(Cluster)).scalars()}
    names = {}
    for n in CLUSTERS:
        row = rows.get(n)
        default_id, default_en = CLUSTER_DEFAULTS[n]
        if row is not None:
            names[n] = row.name_id if locale == "id" else row.name_en
        else:
            names[n] = default_id if locale == "id" else default_en
    return names


def get_cluster(number: int) -> Cluster:
    """The cluster's row, built from the defaults when it has never been edited (not added)."""
    if number not in CLUSTERS:
        raise OrgError(_l("There are five clusters, numbered 1 to 5."))
    row = db.session.get(Cluster, number)
    if row is None:
        name_id, name_en = CLUSTER_DEFAULTS[number]
        row = Cluster(number=number, name_id=name_id, name_en=name_en)
    return row


def save_cluster(number: int, *, name_id: str, name_en: str, description: Optional[str]) -> Cluster:
    row = get_cluster(number)
    name_id, name_en = (name_id or "").strip(), (name_en or "").strip()
    if not name_id or not name_en:
        raise OrgError(_l("Give the cluster a name in both languages."))
    row.name_id, row.name_en = name_id[:200], name_en[:200]
    row.description = (description or "").strip() or None
    if row not in db.session:
        db.session.add(row)
    db.session.flush()
    return row


def cluster_overview() -> list[dict]:
    """Per cluster: agencies, units placed there and participants (by their unit's cluster)."""
    agencies = dict(db.session.execute(select(Agency.cluster, func.count(Agency.id)).group_by(Agency.cluster)).all())
    effective = func.coalesce(Unit.cluster, Agency.cluster)
    units = dict(db.session.execute(
        select(effective, func.count(Unit.id)).join(Agency, Unit.agency_id == Agency.id).group_by(effective)).all())
    people_cluster = func.coalesce(Unit.cluster, Agency.cluster)
    people = dict(db.session.execute(
        select(people_cluster, func.count(User.id)).select_from(User)
        .join(Agency, User.agency_id == Agency.id).outerjoin(Unit, User.unit_id == Unit.id)
        .where(User.role == "participant").group_by(people_cluster)).all())
    return [{"number": n, "agencies": agencies.get(n, 0), "units": units.get(n, 0), "participants": people.get(n, 0)}
            for n in CLUSTERS]


# --------------------------------------------------------------------------------- fields
@dataclass
class Fields:
    """Cleaned values of an agency or unit, or the problems found (field name → message)."""

    values: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)


def _split_roles(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        return [str(r).strip() for r in raw if str(r).strip()]
    return [part.strip() for part in re.split(r"[;,|]", text(raw)) if part.strip()]


def _stored(agency: Agency, key: str) -> Any:
    """An agency's stored value as an import would write it (strategic roles in their canonical
    order), so that re-importing an export changes nothing."""
    value = getattr(agency, key)
    if key == "strategic_role" and value and value.get("roles"):
        value = {**value, "roles": [c for c in STRATEGIC_ROLES if c in value["roles"]]}
    return value


def strategic_role(roles: Any, proximity: Any, urgency: Any, fields: Fields) -> Optional[dict]:
    """The strategic-role document, or None when nothing is set; problems go to ``fields``."""
    codes = _split_roles(roles)
    unknown = [c for c in codes if c not in STRATEGIC_ROLES]
    if unknown:
        fields.problems["strategic_roles"] = _l(
            "Unknown strategic role %(value)s; use: %(codes)s.", value=", ".join(unknown),
            codes=", ".join(STRATEGIC_ROLES))
    doc: dict[str, Any] = {}
    if codes and not unknown:
        doc["roles"] = [c for c in STRATEGIC_ROLES if c in codes]
    for name, value in (("proximity", proximity), ("urgency", urgency)):
        value = text(value).lower()
        if value and value not in GRADES:
            fields.problems[name] = _l("Use high, medium or low (or leave it empty).")
        elif value:
            doc[name] = value
    return doc or None


def _priority(raw: Any, fields: Fields) -> Optional[int]:
    if text(raw) == "":
        return None
    value = parse_int(raw)
    if value is None or value < 1:
        fields.problems["priority"] = _l("Priority must be a whole number of at least 1 (1 moves first).")
    return value


def _cluster(raw: Any, fields: Fields, *, optional: bool = False) -> Optional[int]:
    if optional and text(raw) == "":
        return None
    value = parse_int(raw)
    if value not in CLUSTERS:
        fields.problems["cluster"] = _l("Cluster must be a number from 1 to 5.")
        return None
    return value


def _code(raw: Any, fields: Fields) -> str:
    code = text(raw)
    if not code:
        fields.problems["code"] = _l("A code is required.")
    elif not CODE_RE.match(code):
        fields.problems["code"] = _l("A code has up to 32 letters, digits, dots, dashes or underscores.")
    return code


def _name(raw: Any, fields: Fields, key: str = "name", required: bool = True) -> Optional[str]:
    name = " ".join(text(raw).split())
    if not name and required:
        fields.problems[key] = _l("A name is required.")
    elif len(name) > 200:
        fields.problems[key] = _l("A name has at most 200 characters.")
    return name or None


def agency_fields(raw: dict) -> Fields:
    """Clean the fields of an agency (from a form or an import row)."""
    f = Fields()
    f.values["code"] = _code(raw.get("code"), f)
    f.values["name"] = _name(raw.get("name"), f)
    f.values["name_en"] = _name(raw.get("name_en"), f, "name_en", required=False)
    kind = text(raw.get("kind")).lower()
    if kind not in AGENCY_KINDS:
        f.problems["kind"] = _l("Kind must be one of: %(kinds)s.", kinds=", ".join(AGENCY_KINDS))
    f.values["kind"] = kind
    f.values["cluster"] = _cluster(raw.get("cluster"), f)
    f.values["priority"] = _priority(raw.get("priority"), f)
    f.values["strategic_role"] = strategic_role(raw.get("strategic_roles"), raw.get("proximity"), raw.get("urgency"), f)
    return f


def unit_fields(raw: dict) -> Fields:
    """Clean the fields of a unit; an empty cluster means "inherits the agency's"."""
    f = Fields()
    f.values["code"] = _code(raw.get("code"), f)
    f.values["name"] = _name(raw.get("name"), f)
    echelon = text(raw.get("echelon"))
    if len(echelon) > 20:
        f.problems["echelon"] = _l("The echelon has at most 20 characters (e.g. Eselon I).")
    f.values["echelon"] = echelon or None
    f.values["cluster"] = _cluster(raw.get("cluster"), f, optional=True)
    f.values["priority"] = _priority(raw.get("priority"), f)
    f.values["strategic_role"] = strategic_role(raw.get("strategic_roles"), raw.get("proximity"), raw.get("urgency"), f)
    return f


# --------------------------------------------------------------------------------- history
def _record_change(agency: Agency, unit: Optional[Unit], old: Optional[int], new: Optional[int], *,
                   actor: Optional[User], reason: Optional[str], source: str) -> ClusterChange:
    change = ClusterChange(agency_id=agency.id, unit_id=unit.id if unit is not None else None,
                           unit_label=f"{unit.code} · {unit.name}"[:240] if unit is not None else None,
                           old_cluster=old, new_cluster=new, reason=(reason or "").strip() or None,
                           source=source, actor_id=actor.id if actor is not None else None)
    db.session.add(change)
    audit.record("orgs.cluster_change", actor=actor, target=unit if unit is not None else agency,
                 detail={"agency": agency.code, "unit": unit.code if unit is not None else None,
                         "old": old, "new": new, "source": source})
    return change


def cluster_history(agency: Agency) -> list[ClusterChange]:
    """Every cluster change of the agency and its units, newest first."""
    return list(db.session.execute(
        select(ClusterChange).where(ClusterChange.agency_id == agency.id)
        .order_by(ClusterChange.at.desc(), ClusterChange.id.desc())).scalars())


# --------------------------------------------------------------------------------- agencies
def _check_agency_unique(values: dict, agency: Optional[Agency]) -> dict:
    problems = {}
    other = db.session.execute(select(Agency).where(Agency.code == values["code"])).scalar_one_or_none()
    if other is not None and other is not agency:
        problems["code"] = _l("Another agency already has the code %(code)s.", code=values["code"])
    other = db.session.execute(select(Agency).where(Agency.name == values["name"])).scalar_one_or_none()
    if other is not None and other is not agency:
        problems["name"] = _l("Another agency already has this name.")
    return problems


def save_agency(agency: Optional[Agency], raw: dict, *, actor: Optional[User] = None,
                reason: Optional[str] = None, source: str = "form") -> Agency:
    """Create (agency None) or update an agency; a cluster change is recorded. Raises OrgError."""
    f = agency_fields(raw)
    if not f.problems:
        f.problems.update(_check_agency_unique(f.values, agency))
    if f.problems:
        raise OrgErrors(f.problems)
    created = agency is None
    old_cluster = None if created else agency.cluster
    if created:
        agency = Agency(**f.values)
        db.session.add(agency)
    else:
        for key, value in f.values.items():
            setattr(agency, key, value)
    db.session.flush()
    if not created and old_cluster != agency.cluster:
        _record_change(agency, None, old_cluster, agency.cluster, actor=actor, reason=reason, source=source)
    audit.record("orgs.agency_create" if created else "orgs.agency_update", actor=actor, target=agency,
                 detail={"code": agency.code})
    db.session.flush()
    return agency


def delete_agency(agency: Agency, *, actor: Optional[User] = None) -> None:
    people = db.session.scalar(select(func.count(User.id)).where(User.agency_id == agency.id))
    if people:
        raise OrgError(_l("%(code)s still has %(n)d account(s); move or remove them first.", code=agency.code, n=people))
    audit.record("orgs.agency_delete", actor=actor, target=agency, detail={"code": agency.code, "name": agency.name})
    db.session.delete(agency)
    db.session.flush()


# --------------------------------------------------------------------------------- units
def save_unit(unit: Optional[Unit], agency: Agency, raw: dict, *, parent_id: Optional[int] = None,
              actor: Optional[User] = None, reason: Optional[str] = None, source: str = "form") -> Unit:
    """Create (unit None) or update a unit of ``agency``; a cluster change is recorded."""
    f = unit_fields(raw)
    other = db.session.execute(select(Unit).where(Unit.agency_id == agency.id, Unit.code == f.values["code"])).scalar_one_or_none()
    if other is not None and other is not unit:
        f.problems["code"] = _l("%(agency)s already has a unit with the code %(code)s.", agency=agency.code, code=f.values["code"])
    if parent_id is not None:
        parent = db.session.get(Unit, parent_id)
        if parent is None or parent.agency_id != agency.id or (unit is not None and _is_descendant(parent, unit)):
            f.problems["parent"] = _l("The parent must be another unit of the same agency, not one below this unit.")
    if f.problems:
        raise OrgErrors(f.problems)
    created = unit is None
    old_cluster = None if created else unit.cluster
    if created:
        unit = Unit(agency_id=agency.id, **f.values)
        db.session.add(unit)
    else:
        for key, value in f.values.items():
            setattr(unit, key, value)
    unit.parent_id = parent_id
    db.session.flush()
    if (created and unit.cluster is not None) or (not created and old_cluster != unit.cluster):
        _record_change(agency, unit, old_cluster, unit.cluster, actor=actor, reason=reason, source=source)
    audit.record("orgs.unit_create" if created else "orgs.unit_update", actor=actor, target=unit,
                 detail={"agency": agency.code, "code": unit.code})
    db.session.flush()
    return unit


def _is_descendant(candidate: Unit, unit: Unit) -> bool:
    """True when ``candidate`` is ``unit`` or sits below it (a parent there would make a loop)."""
    seen = set()
    node: Optional[Unit] = candidate
    while node is not None and node.id not in seen:
        if node.id == unit.id:
            return True
        seen.add(node.id)
        node = db.session.get(Unit, node.parent_id) if node.parent_id else None
    return False


def delete_unit(unit: Unit, *, actor: Optional[User] = None) -> None:
    people = db.session.scalar(select(func.count(User.id)).where(User.unit_id == unit.id))
    if people:
        raise OrgError(_l("The unit still has %(n)d account(s); move them first.", n=people))
    audit.record("orgs.unit_delete", actor=actor, target=unit, detail={"code": unit.code, "name": unit.name})
    db.session.delete(unit)
    db.session.flush()


def agency_rows(cluster: Optional[int] = None, q: str = "") -> list[tuple[Agency, int, int]]:
    """Agencies (optionally of one cluster or matching ``q``) with their unit and participant counts."""
    units = select(Unit.agency_id, func.count(Unit.id).label("n")).group_by(Unit.agency_id).subquery()
    people = (select(User.agency_id, func.count(User.id).label("n"))
              .where(User.role == "participant").group_by(User.agency_id).subquery())
    query = (select(Agency, func.coalesce(units.c.n, 0), func.coalesce(people.c.n, 0))
             .outerjoin(units, units.c.agency_id == Agency.id).outerjoin(people, people.c.agency_id == Agency.id)
             .order_by(Agency.cluster, Agency.priority.nulls_last(), Agency.code))
    if cluster:
        query = query.where(Agency.cluster == cluster)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(Agency.code).like(like) | func.lower(Agency.name).like(like))
    return [tuple(row) for row in db.session.execute(query).all()]


# --------------------------------------------------------------------------------- import
@dataclass
class ImportResult:
    counts: dict = field(default_factory=dict)
    cluster_changes: int = 0
    dry_run: bool = False

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _classify(tables: list[Table]) -> tuple[Optional[Table], Optional[Table], list[Problem]]:
    agencies = units = None
    problems: list[Problem] = []
    for table in tables:
        if not table.header and not table.rows:
            continue
        name = table.name.lower()
        is_units = "agency_code" in table.header or name in ("units", "unit", "unit_organisasi")
        if is_units:
            units = table
        elif name in ("agencies", "agency", "instansi", "csv") or "kind" in table.header:
            agencies = table
        else:
            problems.append(Problem(None, None, _l("Sheet %(name)s is neither agencies nor units; name the sheets agencies and units.", name=table.name), table.name))
    if agencies is None and units is None and not problems:
        problems.append(Problem(None, None, _l("The file has no rows.")))
    return agencies, units, problems


def import_orgs(filename: str, data: bytes, *, actor: Optional[User] = None, dry_run: bool = False) -> ImportResult:
    """Create or update agencies and units from a CSV or XLSX file, all or nothing.

    An XLSX workbook may hold a sheet ``agencies`` (columns AGENCY_COLUMNS) and a sheet ``units``
    (UNIT_COLUMNS); a CSV holds one of them (a units file has an ``agency_code`` column). Rows
    are matched by code (agency code; agency code + unit code): existing ones are updated, new ones
    created. Raises :class:`ImportProblems` listing every problem; nothing is written then.
    """
    tables = read_tables(filename, data, HEADER_ALIASES)
    agencies_t, units_t, problems = _classify(tables)
    agency_rows_ok: list[tuple[int, dict, dict]] = []
    unit_rows_ok: list[tuple[int, dict, dict, str, Optional[str]]] = []
    existing = {a.code: a for a in db.session.execute(select(Agency)).scalars()}
    names = {a.name: a.code for a in existing.values()}
    file_codes: dict[str, int] = {}
    if agencies_t is not None:
        sheet = agencies_t.name if agencies_t.name != "csv" else None
        header_problems = require_columns(agencies_t, ("code", "name", "kind", "cluster"), sheet)
        problems += header_problems
        if not header_problems:
            for number, raw in agencies_t.rows:
                f = agency_fields(raw)
                code, name = f.values["code"], f.values["name"]
                if code and code in file_codes:
                    f.problems["code"] = _l("The code %(code)s is already on row %(row)d.", code=code, row=file_codes[code])
                if name and names.get(name) not in (None, code):
                    f.problems["name"] = _l("Agency %(code)s already has this name.", code=names[name])
                problems += [Problem(number, column, message, sheet) for column, message in f.problems.items()]
                if not f.problems:
                    file_codes[code] = number
                    names[name] = code
                    agency_rows_ok.append((number, raw, f.values))
    if units_t is not None:
        sheet = units_t.name if units_t.name != "csv" else None
        header_problems = require_columns(units_t, ("agency_code", "code", "name"), sheet)
        problems += header_problems
        if not header_problems:
            known_units = {(a.code, u.code) for a in existing.values() for u in a.units}
            seen: dict[tuple[str, str], int] = {}
            for number, raw in units_t.rows:
                f = unit_fields(raw)
                agency_code = text(raw.get("agency_code"))
                if not agency_code:
                    f.problems["agency_code"] = _l("The agency code is required.")
                elif agency_code not in existing and agency_code not in file_codes:
                    f.problems["agency_code"] = _l("No agency has the code %(code)s (in the database or this file).", code=agency_code)
                key = (agency_code, f.values["code"])
                if f.values["code"] and key in seen:
                    f.problems["code"] = _l("The unit %(code)s of %(agency)s is already on row %(row)d.",
                                            code=f.values["code"], agency=agency_code, row=seen[key])
                problems += [Problem(number, column, message, sheet) for column, message in f.problems.items()]
                if not f.problems:
                    seen[key] = number
                    parent = text(raw.get("parent_code")) or None
                    unit_rows_ok.append((number, raw, f.values, agency_code, parent))
            for number, _raw, values, agency_code, parent in unit_rows_ok:
                if parent is None:
                    continue
                if parent == values["code"]:
                    problems.append(Problem(number, "parent_code", _l("A unit cannot be its own parent."), sheet))
                elif (agency_code, parent) not in seen and (agency_code, parent) not in known_units:
                    problems.append(Problem(number, "parent_code", _l("%(agency)s has no unit %(code)s.", agency=agency_code, code=parent), sheet))
    if problems:
        raise ImportProblems(problems)

    result = ImportResult(dry_run=dry_run)
    source_reason = f"import {filename}"
    for number, raw, values in agency_rows_ok:
        agency = existing.get(values["code"])
        changed = agency is None or any(_stored(agency, k) != v for k, v in values.items())
        if agency is not None and agency.cluster != values["cluster"]:
            result.cluster_changes += 1
        result.bump("agencies_created" if agency is None else "agencies_updated" if changed else "agencies_unchanged")
        if dry_run or not changed:
            continue
        existing[values["code"]] = save_agency(agency, raw, actor=actor, reason=source_reason, source="import")
    pending_parents = []
    for number, raw, values, agency_code, parent in unit_rows_ok:
        agency = existing.get(agency_code)
        unit = None
        if agency is not None and agency.id is not None:
            unit = next((u for u in agency.units if u.code == values["code"]), None)
        changed = unit is None or any(getattr(unit, k) != v for k, v in values.items())
        if unit is not None and unit.cluster != values["cluster"]:
            result.cluster_changes += 1
        elif unit is None and values["cluster"] is not None:
            result.cluster_changes += 1
        result.bump("units_created" if unit is None else "units_updated" if changed else "units_unchanged")
        if dry_run:
            continue
        if changed:
            unit = save_unit(unit, agency, raw, parent_id=unit.parent_id if unit is not None else None,
                             actor=actor, reason=source_reason, source="import")
        pending_parents.append((unit, agency, parent))
    if not dry_run:
        db.session.flush()
        for unit, agency, parent in pending_parents:
            parent_id = None
            if parent is not None:
                parent_id = db.session.execute(select(Unit.id).where(Unit.agency_id == agency.id, Unit.code == parent)).scalar_one()
            if unit.parent_id != parent_id:
                unit.parent_id = parent_id
        db.session.flush()
        audit.record("orgs.import", actor=actor, detail={"file": filename, "counts": result.counts})
    return result


def export_orgs_xlsx() -> bytes:
    """All agencies and units in the import format (a template to edit and import again)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "agencies"
    sheet.append(list(AGENCY_COLUMNS))
    units_sheet = workbook.create_sheet("units")
    units_sheet.append(list(UNIT_COLUMNS))
    agencies = db.session.execute(select(Agency).order_by(Agency.cluster, Agency.priority.nulls_last(), Agency.code)).scalars()
    for agency in agencies:
        doc = agency.strategic_role or {}
        sheet.append([agency.code, agency.name, agency.name_en, agency.kind, agency.cluster, agency.priority,
                      ";".join(doc.get("roles") or []) or None, doc.get("proximity"), doc.get("urgency")])
        codes = {u.id: u.code for u in agency.units}
        for unit in agency.units:
            udoc = unit.strategic_role or {}
            units_sheet.append([agency.code, unit.code, unit.name, unit.echelon, unit.cluster, unit.priority,
                                codes.get(unit.parent_id), ";".join(udoc.get("roles") or []) or None,
                                udoc.get("proximity"), udoc.get("urgency")])
    for ws in (sheet, units_sheet):
        ws.freeze_panes = "A2"
        for cell in ws[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
