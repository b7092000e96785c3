"""Exports: the XLSX person sheet matches the database row for row; CSV is safe for Excel."""
from __future__ import annotations

import csv
import io

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import select

from assess.extensions import db
from assess.models import Agency, AuditLog, TalentPlacement, Unit, User
from assess.services import exports, talent
from assess.services.talent_reports import Filters
from tests.talent_helpers import add_attempt, add_skp, good_scores, make_agency, make_bank, make_participant, make_wave

NASTY = ["=HYPERLINK(\"http://x\")", "+62 811", "-1+1", "@SUM(A1)", "\tTab", "Biasa Saja"]


@pytest.fixture
def mapped(app):
    """Six placed participants in two clusters (names that look like formulas), one without SKP."""
    with app.test_request_context(), force_locale("en"):
        comp = make_bank()
        a1, a2 = make_agency("KEMENA", 1), make_agency("LPNKB", 4)
        wave = make_wave()
        for i, name in enumerate(NASTY):
            user = make_participant(a1 if i % 2 else a2, name=name, job_level="pengawas")
            if i != 5:
                add_skp(user, ("sangat_baik", "baik", "butuh_perbaikan")[i % 3])
            add_attempt(user, wave, good_scores(level=1 + i % 4, theta=-1.0 + 0.4 * i), comp)
        talent.compute()
        db.session.commit()
        yield


def db_rows():
    """The placements as the person sheet must show them, in its order."""
    rows = db.session.execute(
        select(User.nip, User.name, TalentPlacement).join(TalentPlacement, TalentPlacement.user_id == User.id)
        .join(Agency, User.agency_id == Agency.id).join(Unit, User.unit_id == Unit.id)
        .order_by(TalentPlacement.cluster, Agency.code, Unit.code, User.name, User.nip)).all()
    return rows


def test_the_xlsx_opens_and_its_person_sheet_matches_the_database_row_for_row(mapped):
    buffer = io.BytesIO()
    settings = talent.latest_settings()
    n = exports.write_xlsx(buffer, Filters(), settings)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    assert workbook.sheetnames[:2] == ["Cluster 1", "Cluster 4"] and workbook.sheetnames[-1] == "Persons"
    assert {"KEMENA", "LPNKB"} <= set(workbook.sheetnames)
    sheet = workbook["Persons"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    expected = db_rows()
    assert n == len(body) == len(expected) == 6
    col = {name: header.index(name) for name in header}
    labels = exports.Labels.current()
    for got, (nip, name, tp) in zip(body, expected):
        assert got[col["NIP"]] == nip and got[col["Name"]] == name
        assert got[col["JPM (%)"]] == pytest.approx(round(tp.jpm, 2))
        assert got[col["Band"]] == labels.band[tp.band]
        assert got[col["Box"]] == tp.box
        assert got[col["Ready for IKN"]] == labels.ready[tp.ready]
        assert got[col["Cluster"]] == tp.cluster
        for code, level in tp.levels.items():
            assert got[col[f"Level {code}"]] == level
    assert sheet.cell(row=2, column=col["JPM (%)"] + 1).number_format == "0.00"
    formula_cell = next(c for row in sheet.iter_rows(min_row=2) for c in row if c.value == NASTY[0])
    assert formula_cell.data_type == "s"  # stored as text, never run as a formula
    cluster = workbook["Cluster 1"]
    grid_rows = [r for r in cluster.iter_rows(values_only=True) if r[0] in ("Above expectations", "Meets expectations", "Below expectations")]
    assert [r[6:9] for r in grid_rows] == [(4, 7, 9), (2, 5, 8), (1, 3, 6)]  # the box numbers table


def test_csv_has_a_bom_and_escapes_formulas(mapped):
    body = b"".join(exports.csv_chunks(Filters(), talent.latest_settings()))
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    names = {row[1] for row in rows[1:]}
    assert names == {"'=HYPERLINK(\"http://x\")", "'+62 811", "'-1+1", "'@SUM(A1)", "'\tTab", "Biasa Saja"}
    index = rows[0].index("Potential index (θ)")
    negative = [row[index] for row in rows[1:] if row[index].startswith("-")]
    assert negative and all(float(v) < 0 for v in negative)  # numbers are data, not escaped
    assert len(rows) == 7


@pytest.mark.parametrize("value, escaped", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"),
                                            ("a=b", "a=b"), (-1.5, -1.5), (None, None)])
def test_escape_formula(value, escaped):
    assert exports.escape_formula(value) == escaped


def test_cli_export_writes_both_formats_and_is_audited(mapped, app, runner, tmp_path):
    out_csv, out_xlsx = tmp_path / "k1.csv", tmp_path / "k1.xlsx"
    result = runner.invoke(args=["talent", "export", "--cluster", "1", "--format", "csv", str(out_csv), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert len(list(csv.reader(io.StringIO(out_csv.read_text("utf-8-sig"))))) == 1 + 3
    result = runner.invoke(args=["talent", "export", "--cluster", "1", str(out_xlsx)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out_xlsx).sheetnames[0] == "Klaster 1"
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(AuditLog.action == "talent.export")).scalars().all()
        assert [(r.detail["format"], r.detail["rows"], r.detail["channel"]) for r in rows] == [("csv", 3, "cli"), ("xlsx", 3, "cli")]
