"""Imports of SKP ratings and of agencies/units: strict, all or nothing, every problem named."""
from __future__ import annotations

import io

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Agency, AuditLog, ClusterChange, PerformanceRating, Unit
from assess.services import orgs, talent
from assess.services.tabular import ImportProblems
from tests.talent_helpers import add_skp, make_agency, make_participant


@pytest.fixture
def ctx(app):
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def people(ctx):
    agency = make_agency("KEMENA", 1)
    first, second = make_participant(agency), make_participant(agency)
    add_skp(first, "baik", year=2024)
    db.session.commit()
    return first, second


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ratings_state():
    return sorted(db.session.execute(select(PerformanceRating.user_id, PerformanceRating.year, PerformanceRating.predikat,
                                            PerformanceRating.score)).all())


SKP_BAD_ROWS = [
    ("nip,year\n{nip},2025\n", 1, "predikat", "The column predikat is missing."),
    ("nip,year,predikat\n{nip},2025,Baik\n,2025,Baik\n", 3, "nip", "The NIP is required."),
    ("nip,year,predikat\n{nip},2025,Baik\n12345,2025,Baik\n", 3, "nip", "NIP must be exactly 18 digits"),
    ("nip,year,predikat\n{nip},2025,Baik\n198513142010011003,2025,Baik\n", 3, "nip", "birth date in the NIP"),
    ("nip,year,predikat\n{nip},2025,Baik\n198001012005011999,2025,Baik\n", 3, "nip", "No participant has the NIP 198001012005011999"),
    ("nip,year,predikat\n{nip},2025,Baik\n{nip2},dua ribu,Baik\n", 3, "year", "The year must be a whole number"),
    ("nip,year,predikat\n{nip},2025,Baik\n{nip2},1999,Baik\n", 3, "year", "The year must be a whole number"),
    ("nip,year,predikat\n{nip},2025,Baik\n{nip2},2025,Luar Biasa\n", 3, "predikat", "Unknown predikat Luar Biasa"),
    ("nip,year,predikat,score\n{nip},2025,Baik,80\n{nip2},2025,Baik,120\n", 3, "score", "The score must be a number from 0 to 100."),
    ("nip,year,predikat,score\n{nip},2025,Baik,80\n{nip2},2025,Baik,tinggi\n", 3, "score", "The score must be a number from 0 to 100."),
    ("nip,year,predikat\n{nip},2025,Baik\n{nip},2025,Sangat Baik\n", 3, "year", "already has a rating for 2025 on row 2"),
    ("nip,year,predikat\n", None, None, "The file has no rows."),
]


@pytest.mark.parametrize("content, row, column, message", SKP_BAD_ROWS)
def test_each_bad_skp_row_is_refused_with_its_message_and_nothing_changes(people, content, row, column, message):
    first, second = people
    before = ratings_state()
    audits = db.session.scalar(select(func.count(AuditLog.id)))
    data = content.format(nip=first.nip, nip2=second.nip).encode("utf-8")
    with pytest.raises(ImportProblems) as error:
        talent.import_skp("skp.csv", data)
    db.session.rollback()
    problems = error.value.problems
    assert any(message in str(p.message) and p.row == row and p.column == column for p in problems), [str(p) for p in problems]
    assert ratings_state() == before
    assert db.session.scalar(select(func.count(AuditLog.id))) == audits


@pytest.mark.parametrize("name, data, message", [
    ("skp.csv", "nip,year,predikat\n".encode("utf-16"), "not UTF-8"),
    ("skp.pdf", b"%PDF", "Upload a .csv or .xlsx file."),
    ("skp.xlsx", b"PK\x03\x04 not really", "not a readable .xlsx workbook"),
])
def test_unreadable_skp_files_are_refused(people, name, data, message):
    before = ratings_state()
    with pytest.raises(ImportProblems) as error:
        talent.import_skp(name, data)
    assert message in str(error.value.problems[0].message)
    assert ratings_state() == before


def test_a_nip_stored_as_a_number_in_a_spreadsheet_is_refused(people):
    first, _ = people
    data = xlsx({"skp": [["nip", "year", "predikat"], [first.nip, 2025, "Baik"], [int(first.nip), 2025, "Baik"]]})
    with pytest.raises(ImportProblems) as error:
        talent.import_skp("skp.xlsx", data)
    [problem] = error.value.problems
    assert problem.row == 3 and problem.column == "nip" and "stored as a number" in str(problem.message)
    assert "sheet skp, row 3, column nip" in str(problem)


def test_valid_skp_file_imports_replaces_and_is_idempotent(people):
    first, second = people
    data = (f"NIP;Tahun;Predikat;Nilai\n{first.nip};2024;sangat baik;91,5\n{first.nip};2025;Baik;\n"
            f"{second.nip};2025;BUTUH_PERBAIKAN;\n").encode("utf-8-sig")
    result = talent.import_skp("skp.csv", data, dry_run=True)
    assert (result.created, result.updated) == (2, 1)
    assert ratings_state() == [(first.id, 2024, "baik", None)]  # a dry run writes nothing
    result = talent.import_skp("skp.csv", data)
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (2, 1, 0)
    assert ratings_state() == sorted([(first.id, 2024, "sangat_baik", 91.5), (first.id, 2025, "baik", None),
                                      (second.id, 2025, "butuh_perbaikan", None)])
    again = talent.import_skp("skp.csv", data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


# ------------------------------------------------------------------------------ agencies and units
AGENCY_HEADER = "code,name,name_en,kind,cluster,priority,strategic_roles,proximity,urgency\n"
ORG_BAD_ROWS = [
    ("code,name,cluster\nBARU,Badan Baru,4\n", "agencies.csv", 1, "kind", "The column kind is missing."),
    (AGENCY_HEADER + "BARU,Badan Baru,,lpnk,6,,,,\n", "agencies.csv", 2, "cluster", "Cluster must be a number from 1 to 5."),
    (AGENCY_HEADER + "BARU,Badan Baru,,badan,4,,,,\n", "agencies.csv", 2, "kind", "Kind must be one of"),
    (AGENCY_HEADER + "BARU,Badan Baru,,lpnk,4,,,,\nBARU,Badan Lain,,lpnk,4,,,,\n", "agencies.csv", 3, "code", "already on row 2"),
    (AGENCY_HEADER + "BADAN BARU,Badan Baru,,lpnk,4,,,,\n", "agencies.csv", 2, "code", "A code has up to 32"),
    (AGENCY_HEADER + "BARU,Instansi KEMENA,,lpnk,4,,,,\n", "agencies.csv", 2, "name", "Agency KEMENA already has this name."),
    (AGENCY_HEADER + "BARU,Badan Baru,,lpnk,4,,fame,,\n", "agencies.csv", 2, "strategic_roles", "Unknown strategic role fame"),
    (AGENCY_HEADER + "BARU,Badan Baru,,lpnk,4,0,,,\n", "agencies.csv", 2, "priority", "Priority must be a whole number"),
    (AGENCY_HEADER + "BARU,Badan Baru,,lpnk,4,,,very,\n", "agencies.csv", 2, "proximity", "Use high, medium or low"),
    ("agency_code,code,name\nNOPE,DJX,Ditjen X\n", "units.csv", 2, "agency_code", "No agency has the code NOPE"),
    ("agency_code,code,name,parent_code\nKEMENA,DJX,Ditjen X,DJZ\n", "units.csv", 2, "parent_code", "KEMENA has no unit DJZ."),
    ("agency_code,code,name,parent_code\nKEMENA,DJX,Ditjen X,DJX\n", "units.csv", 2, "parent_code", "cannot be its own parent"),
    ("agency_code,code,name,cluster\nKEMENA,DJX,Ditjen X,9\n", "units.csv", 2, "cluster", "Cluster must be a number from 1 to 5."),
]


def orgs_state():
    return (sorted(db.session.execute(select(Agency.code, Agency.name, Agency.cluster, Agency.priority)).all()),
            sorted(db.session.execute(select(Unit.agency_id, Unit.code, Unit.cluster, Unit.parent_id)).all()),
            db.session.scalar(select(func.count(ClusterChange.id))))


@pytest.mark.parametrize("content, name, row, column, message", ORG_BAD_ROWS)
def test_each_bad_org_row_is_refused_with_its_message_and_nothing_changes(ctx, content, name, row, column, message):
    make_agency("KEMENA", 1)
    db.session.commit()
    before = orgs_state()
    with pytest.raises(ImportProblems) as error:
        orgs.import_orgs(name, content.encode("utf-8"))
    db.session.rollback()
    problems = error.value.problems
    assert any(message in str(p.message) and p.row == row and p.column == column for p in problems), [str(p) for p in problems]
    assert orgs_state() == before


def test_an_unknown_sheet_is_refused(ctx):
    data = xlsx({"agencies": [list(orgs.AGENCY_COLUMNS)], "lain": [["a", "b"], [1, 2]]})
    with pytest.raises(ImportProblems) as error:
        orgs.import_orgs("orgs.xlsx", data)
    assert "neither agencies nor units" in str(error.value.problems[0].message)


def test_org_workbook_creates_updates_and_records_cluster_history(ctx):
    make_agency("KEMENA", 1, units=("SET",))
    db.session.commit()
    data = xlsx({
        "agencies": [list(orgs.AGENCY_COLUMNS),
                     ["KEMENA", "Instansi KEMENA", "Ministry A", "kementerian", 2, 3, "importance;decision_support", "high", "medium"],
                     ["BARU", "Badan Baru", None, "lpnk", 4, None, None, None, None]],
        "units": [list(orgs.UNIT_COLUMNS),
                  ["BARU", "SET", "Sekretariat Utama", "Eselon I", None, None, None, None, None, None],
                  ["BARU", "PUSDATIN", "Pusat Data", "Eselon II", 5, 1, "SET", "strategic_enabler", None, "high"]],
    })
    result = orgs.import_orgs("orgs.xlsx", data)
    db.session.commit()
    assert result.counts == {"agencies_updated": 1, "agencies_created": 1, "units_created": 2}
    kemena = db.session.execute(select(Agency).filter_by(code="KEMENA")).scalar_one()
    assert kemena.cluster == 2 and kemena.priority == 3
    assert kemena.strategic_role == {"roles": ["importance", "decision_support"], "proximity": "high", "urgency": "medium"}
    baru = db.session.execute(select(Agency).filter_by(code="BARU")).scalar_one()
    units = {u.code: u for u in baru.units}
    assert units["PUSDATIN"].cluster == 5 and units["PUSDATIN"].effective_cluster == 5
    assert units["SET"].cluster is None and units["SET"].effective_cluster == 4
    assert units["PUSDATIN"].parent_id == units["SET"].id
    history = [(c.old_cluster, c.new_cluster, c.unit_id, c.source) for c in orgs.cluster_history(kemena)]
    assert history == [(1, 2, None, "import")]
    assert [(c.old_cluster, c.new_cluster, c.source) for c in orgs.cluster_history(baru)] == [(None, 5, "import")]
    again = orgs.import_orgs("orgs.xlsx", data)
    assert again.counts == {"agencies_unchanged": 2, "units_unchanged": 2} and again.cluster_changes == 0


def test_cluster_change_by_form_is_recorded_with_reason(ctx):
    agency = make_agency("KEMENA", 1, units=("SET",))
    raw = {"code": "KEMENA", "name": agency.name, "kind": "kementerian", "cluster": "3", "priority": None,
           "strategic_roles": ["defence_security"], "proximity": "", "urgency": ""}
    orgs.save_agency(agency, raw, reason="Skenario 2024")
    unit = agency.units[0]
    orgs.save_unit(unit, agency, {"code": "SET", "name": unit.name, "cluster": "1"}, reason="tetap di klaster 1")
    history = [(c.unit_id, c.old_cluster, c.new_cluster, c.reason) for c in orgs.cluster_history(agency)]
    assert sorted(history, key=str) == sorted([(None, 1, 3, "Skenario 2024"), (unit.id, None, 1, "tetap di klaster 1")], key=str)
    assert unit.effective_cluster == 1 and agency.cluster == 3
    with pytest.raises(orgs.OrgError):
        orgs.save_agency(None, dict(raw, code="LAIN"))  # the same name twice


def test_re_importing_an_export_changes_nothing_even_with_roles_stored_out_of_order(ctx):
    agency = make_agency("BSSNX", 2)
    roles = list(orgs.STRATEGIC_ROLES)
    agency.strategic_role = {"roles": [roles[2], roles[0]], "proximity": "high"}
    db.session.flush()
    result = orgs.import_orgs("orgs.xlsx", orgs.export_orgs_xlsx(), dry_run=True)
    assert result.counts.get("agencies_updated", 0) == 0 and result.counts["agencies_unchanged"] == 1
