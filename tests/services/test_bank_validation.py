"""Validation: every rule has a bad file; the message names file, item or row, field and reason;
and the database does not change (an import applies entirely or not at all)."""
from __future__ import annotations

import io
import zipfile

import pytest
from flask_babel import force_locale

from tests.services.test_bank_support import docs, import_dir, snapshot, write_bank


@pytest.fixture
def bank_loaded(app_ctx, tmp_path):
    """The small bank already imported: a bad file must leave it exactly as it is."""
    import_dir(write_bank(tmp_path / "good"))
    with force_locale("en"):
        yield snapshot()


def _item(files, code):
    for doc in files.values():
        for item in doc.get("items", []) if isinstance(doc, dict) else []:
            if item["id"] == code:
                return item
    raise KeyError(code)


def _set(code, path, value):
    def mutate(files):
        target = _item(files, code)
        *parents, last = path
        for key in parents:
            target = target[key]
        target[last] = value
    return mutate


def _no_key(files):
    for option in _item(files, "TA.01-001")["options"]:
        option.pop("key", None)


def _two_keys(files):
    _item(files, "TA.01-001")["options"][0]["key"] = True


def _duplicate(files):
    files["alpha/TA.02.yaml"]["items"].append(dict(_item(files, "TA.02-001")))


def _unknown_competency(files):
    files["alpha/XX.99.yaml"] = {"competency": "XX.99", "items": []}


def _likert_four(files):
    _item(files, "TB.01-002")["options"].pop()


def _big(files):
    files["alpha/TA.02.yaml"] = "competency: TA.02\n# " + "x" * (2 * 1024 * 1024) + "\nitems: []\n"


RULES = [
    # (name, mutation, file, item, field, message fragment)
    ("missing key", _no_key, "alpha/TA.01.yaml", "TA.01-001", "options", "no option is marked as the key"),
    ("two keys", _two_keys, "alpha/TA.01.yaml", "TA.01-001", "options", "2 options are marked as the key"),
    ("score above 5", _set("TA.02-001", ["options", 0, "score"], 6), "alpha/TA.02.yaml", "TA.02-001", "options",
     "every option score must be an integer from 1 to 5"),
    ("score below 1", _set("TA.02-001", ["options", 1, "score"], 0), "alpha/TA.02.yaml", "TA.02-001", "options",
     "every option score must be an integer from 1 to 5"),
    ("repeated score", _set("TA.02-001", ["options", 1, "score"], 5), "alpha/TA.02.yaml", "TA.02-001", "options",
     "option scores must be distinct"),
    ("unknown competency", _unknown_competency, "alpha/XX.99.yaml", None, "competency", "unknown competency 'XX.99'"),
    ("duplicate id", _duplicate, "alpha/TA.02.yaml", "TA.02-001", "id", "duplicate item id"),
    ("likert without 5 options", _likert_four, "beta/TB.01.yaml", "TB.01-002", "options",
     "a Likert item has exactly 5 options"),
    ("slope zero", _set("TA.01-001", ["irt", "a"], 0), "alpha/TA.01.yaml", "TA.01-001", "irt.a",
     "slope a must be a number above 0"),
    ("slope negative", _set("TA.02-001", ["irt", "a"], -0.4), "alpha/TA.02.yaml", "TA.02-001", "irt.a",
     "slope a must be a number above 0"),
    ("b above 6", _set("TA.01-001", ["irt", "b"], 6.5), "alpha/TA.01.yaml", "TA.01-001", "irt.b",
     "difficulty b must be a number between -6 and 6"),
    ("b below -6", _set("TA.01-002", ["irt", "b"], -7), "alpha/TA.01.yaml", "TA.01-002", "irt.b",
     "difficulty b must be a number between -6 and 6"),
    ("guessing too high", _set("TA.01-001", ["irt", "c"], 0.6), "alpha/TA.01.yaml", "TA.01-001", "irt.c",
     "guessing c must be at least 0 and below 0.5"),
    ("grm not increasing", _set("TA.02-001", ["irt", "thresholds"], [-1.0, 0.5, 0.2, 1.0]), "alpha/TA.02.yaml",
     "TA.02-001", "irt.thresholds", "GRM thresholds must be strictly increasing"),
    ("threshold count", _set("TB.01-001", ["irt", "thresholds"], [-1.0, 0.0, 1.0]), "beta/TB.01.yaml", "TB.01-001",
     "irt.thresholds", "5 categories need 4 thresholds, found 3"),
    ("script in stem", _set("TA.01-001", ["stem"], "Baca ini <script>alert(1)</script>"), "alpha/TA.01.yaml",
     "TA.01-001", "stem", "unsafe HTML in stem: <script>"),
    ("javascript link", _set("TA.02-001", ["options", 2, "text"], "[klik](javascript:alert(1))"),
     "alpha/TA.02.yaml", "TA.02-001", "options[3]", "unsafe HTML in options[3]: javascript:"),
    ("event handler", _set("TB.01-001", ["stem"], '<b onmouseover="x()">Saya</b> setuju'), "beta/TB.01.yaml",
     "TB.01-001", "stem", "<b onmouseover=…>"),
    ("file too large", _big, "alpha/TA.02.yaml", None, None, "the file is larger than 2097152 bytes"),
    ("model of another type", _set("TA.01-001", ["irt", "model"], "grm"), "alpha/TA.01.yaml", "TA.01-001",
     "irt.model", "model grm does not fit item type mc"),
    ("level out of range", _set("TA.02-002", ["level"], 6), "alpha/TA.02.yaml", "TA.02-002", "level",
     "level must be an integer from 1 to 5"),
    ("unknown stimulus", _set("TA.01-002", ["stimulus"], "TA.01-S09"), "alpha/TA.01.yaml", "TA.01-002",
     "stimulus", "unknown stimulus 'TA.01-S09'"),
]


@pytest.mark.parametrize("name,mutate,fname,item,field,fragment", RULES, ids=[r[0] for r in RULES])
def test_bad_bank_file_is_refused_and_changes_nothing(bank_loaded, tmp_path, name, mutate, fname, item,
                                                      field, fragment):
    from assess.services import bank

    files = docs()
    mutate(files)
    write_bank(tmp_path / "bad", files)
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_bank(tmp_path / "bad", actor=None)
    problems = error.value.problems
    matching = [p for p in problems if p.file == fname and p.item == item and p.field == field]
    assert matching, [str(p) for p in problems]
    assert fragment in str(matching[0].message), str(matching[0])
    assert str(matching[0]).startswith(fname)
    assert snapshot() == bank_loaded


def test_every_problem_is_reported_at_once(bank_loaded, tmp_path):
    from assess.services import bank

    files = docs()
    _no_key(files)
    _set("TA.02-001", ["options", 0, "score"], 9)(files)
    _set("TB.01-001", ["irt", "a"], 0)(files)
    _set("TB.01-001", ["stem"], "")(files)
    write_bank(tmp_path / "bad", files)
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_bank(tmp_path / "bad", actor=None, dry_run=True)
    where = {(p.file, p.item, p.field) for p in error.value.problems}
    assert where == {("alpha/TA.01.yaml", "TA.01-001", "options"), ("alpha/TA.02.yaml", "TA.02-001", "options"),
                     ("beta/TB.01.yaml", "TB.01-001", "irt.a"), ("beta/TB.01.yaml", "TB.01-001", "stem")}
    assert snapshot() == bank_loaded


def test_messages_are_in_indonesian_too(bank_loaded, tmp_path):
    from assess.services import bank

    files = docs()
    _two_keys(files)
    write_bank(tmp_path / "bad", files)
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_bank(tmp_path / "bad", actor=None)
    with force_locale("id"):
        text = str(error.value.problems[0])
    assert text.startswith("alpha/TA.01.yaml, butir TA.01-001, kolom options:")
    assert "2 opsi ditandai sebagai kunci" in text


def _export(fmt):
    from assess.services import bank

    data, _name, _mime = bank.export_bytes(fmt)
    return data


def test_csv_problems_name_the_row_and_column(bank_loaded):
    import csv

    from assess.services import bank

    rows = list(csv.reader(io.StringIO(_export("csv").decode("utf-8-sig"), newline="")))
    header = rows[0]
    assert rows[2][header.index("id")] == "TA.01-002"  # row 3 of the sheet
    rows[2][header.index("a")] = "0"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_upload("items.csv", buffer.getvalue().encode("utf-8"), actor=None)
    problem = error.value.problems[0]
    assert (problem.file, problem.row, problem.item, problem.field) == ("items.csv", 3, "TA.01-002", "a")
    assert str(problem).startswith("items.csv, row 3, item TA.01-002, field a: slope a must be")
    assert snapshot() == bank_loaded


def test_csv_with_unknown_or_missing_columns(bank_loaded):
    from assess.services import bank

    with pytest.raises(bank.BankValidationError) as error:
        bank.import_upload("items.csv", b"competency,id,type,optoin_1\r\nTA.01,TA.01-001,mc,x\r\n", actor=None)
    messages = {str(p.message) for p in error.value.problems}
    assert "unknown columns (expected the columns of the bank template)" in messages
    assert "required columns are missing" in messages
    assert snapshot() == bank_loaded


def test_xlsx_that_is_not_a_spreadsheet(bank_loaded):
    from assess.services import bank

    for data in (b"competency,id\nTA.01,TA.01-001\n", _zip({"word/document.xml": "<w/>"})):
        with pytest.raises(bank.BankValidationError) as error:
            bank.import_upload("items.xlsx", data, actor=None)
        assert "the file is not an XLSX spreadsheet" in str(error.value.problems[0].message)
    assert snapshot() == bank_loaded


def test_xlsx_formula_cells_are_refused(bank_loaded):
    from openpyxl import load_workbook

    from assess.services import bank

    workbook = load_workbook(io.BytesIO(_export("xlsx")))
    sheet = workbook["items"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("a") + 1, value="=1+0.2")
    sheet.cell(row=4, column=header.index("stem") + 1, value='=HYPERLINK("http://x","klik")')
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_upload("items.xlsx", buffer.getvalue(), actor=None)
    formula = [p for p in error.value.problems if "formula cells are not allowed" in str(p.message)]
    assert {(p.row, p.field) for p in formula} == {(2, "a"), (4, "stem")}
    assert snapshot() == bank_loaded


def test_uploads_over_the_size_limit(bank_loaded):
    from assess.services import bank

    big = b"x" * (bank.MAX_UPLOAD_BYTES + 1)
    for name in ("items.csv", "items.xlsx", "package.zip"):
        with pytest.raises(bank.BankValidationError) as error:
            bank.import_upload(name, big, actor=None)
        assert "the file is larger than 10485760 bytes" in str(error.value.problems[0].message)
    assert snapshot() == bank_loaded


def _zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_bombs_and_xml_entities_are_refused(bank_loaded):
    from assess.services import bank

    bomb = _zip({"imsmanifest.xml": "<manifest/>", "big.bin": b"\0" * (bank.MAX_UNPACKED_BYTES + 1)})
    assert len(bomb) < bank.MAX_UPLOAD_BYTES
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_upload("package.zip", bomb, actor=None)
    assert "the archive unpacks to more than" in str(error.value.problems[0].message)
    entities = _zip({"imsmanifest.xml": '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa">]><manifest>&a;</manifest>'})
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_upload("package.zip", entities, actor=None)
    assert "DOCTYPE" in str(error.value.problems[0].message)
    assert snapshot() == bank_loaded


def test_item_ids_belong_to_their_competency(bank_loaded, tmp_path):
    from assess.services import bank

    files = docs()
    _item(files, "TA.02-002")["id"] = "TA.01-002"  # an id of another competency
    write_bank(tmp_path / "bad", files)
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_bank(tmp_path / "bad", actor=None)
    assert any("item ids are the competency code" in str(p.message) for p in error.value.problems)
    assert snapshot() == bank_loaded


def test_dry_run_reports_the_changes_and_writes_nothing(bank_loaded, tmp_path, runner):
    from assess.services import bank

    files = docs()
    _set("TA.02-001", ["irt", "a"], 1.5)(files)
    _set("TA.01-002", ["status"], "operational")(files)
    files["alpha/TA.02.yaml"]["items"].append({
        "id": "TA.02-003", "type": "sjt", "level": 1, "stem": "Situasi baru.",
        "options": [{"text": t, "score": s} for t, s in (("a", 1), ("b", 2), ("c", 3), ("d", 4))],
        "irt": {"model": "grm", "a": 1.0, "thresholds": [-3.0, -2.0, -1.0]}})
    write_bank(tmp_path / "changed", files)
    result = bank.import_bank(tmp_path / "changed", actor=None, dry_run=True)
    changes = {(c.kind, c.code, c.detail) for c in result.changes}
    assert changes == {("version", "TA.02-001", "v2: irt.a"), ("status", "TA.01-002", "pilot → operational"),
                       ("item", "TA.02-003", "draft")}
    assert snapshot() == bank_loaded
    out = runner.invoke(args=["bank", "import", str(tmp_path / "changed"), "--dry-run", "--lang", "en"])
    assert out.exit_code == 0 and "TA.02-001" in out.output and "Dry run: would import" in out.output
    assert snapshot() == bank_loaded


def test_cli_lists_every_problem(bank_loaded, tmp_path, runner):
    files = docs()
    _two_keys(files)
    _set("TA.01-001", ["irt", "b"], 9)(files)
    write_bank(tmp_path / "bad", files)
    out = runner.invoke(args=["bank", "import", str(tmp_path / "bad"), "--lang", "en"])
    assert out.exit_code != 0
    assert "alpha/TA.01.yaml, item TA.01-001, field options: 2 options are marked as the key" in out.output
    assert "field irt.b: difficulty b must be a number between -6 and 6" in out.output
    assert "2 problem(s) found; nothing was imported" in out.output
    out = runner.invoke(args=["bank", "import", str(tmp_path / "bad"), "--lang", "id"])
    assert "butir TA.01-001" in out.output
    assert snapshot() == bank_loaded
