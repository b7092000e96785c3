"""Bank formats: export then import gives an identical bank (native YAML, CSV, XLSX, QTI); the demo
bank loads cleanly and covers every competency; foreign QTI items import as drafts."""
from __future__ import annotations

import io
import zipfile
from collections import Counter

import pytest
import yaml

from tests.services.test_bank_support import DEMO_BANK, content_of, import_dir, snapshot, wipe_items, write_bank

FORMATS = ["yaml", "csv", "xlsx", "qti"]


def _roundtrip(fmt: str, into_empty: bool = True) -> None:
    from assess.extensions import db
    from assess.services import bank

    before = snapshot()
    data, name, _mime = bank.export_bytes(fmt)
    # Importing the export into the same bank changes nothing at all (every field compared) ...
    result = bank.import_upload(name, data, actor=None, dry_run=True)
    assert result.changes == [], f"{fmt}: {result.changes[:5]}"
    if not into_empty:
        return
    # ... and into an empty bank gives the same bank again.
    wipe_items()
    bank.import_upload(name, data, actor=None)
    db.session.commit()
    assert content_of(snapshot()) == content_of(before), fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_small_bank_round_trips_exactly(fmt, app_ctx, tmp_path):
    import_dir(write_bank(tmp_path / "bank"))
    _roundtrip(fmt)


def test_demo_bank_round_trips_in_every_format(app_ctx, tmp_path):
    from assess.services import bank

    import_dir(DEMO_BANK)
    for fmt in FORMATS:  # the small bank above goes through the empty-bank import in every format
        _roundtrip(fmt, into_empty=fmt == "qti")
    # The native export is a fixed point: exporting what was imported from an export is byte-equal.
    first = bank.native_files(bank.export_content())
    wipe_items()
    import_dir(write_bank(tmp_path / "fixed", first))
    assert bank.native_files(bank.export_content()) == first


def test_native_export_keeps_the_authors_layout(app_ctx, tmp_path):
    """The exporter writes the layout of item_bank/README.md, so a file written that way comes
    back byte for byte, and the demo files read back to the same data."""
    from assess.services import bank

    import_dir(DEMO_BANK)
    files = bank.native_files(bank.export_content())
    sample = files["managerial/M.01.yaml"]
    assert sample.startswith("competency: M.01\nitems:\n  - id: M.01-001\n    type: sjt\n")
    assert "    stem: |\n" in sample and "      - text: \"" in sample and "      thresholds: [" in sample
    for path in sorted(DEMO_BANK.glob("*/*.yaml")):
        rel = str(path.relative_to(DEMO_BANK))
        original = yaml.safe_load(path.read_text(encoding="utf-8"))
        exported = yaml.safe_load(files[rel])
        assert [i["id"] for i in exported["items"]] == [i["id"] for i in original["items"]], rel
        for a, b in zip(original["items"], exported["items"]):
            assert bank.version_fields(a) == bank.version_fields(b), a["id"]
            assert a.get("status", "draft") == b["status"]
    # Written canonically, a file survives import and export unchanged.
    write_bank(tmp_path / "canon", {"catalog.yaml": files["catalog.yaml"], "managerial/M.01.yaml": sample})
    wipe_items()
    import_dir(tmp_path / "canon")
    assert bank.native_files(bank.export_content(["M.01"]))["managerial/M.01.yaml"] == sample


def test_demo_bank_loads_cleanly_and_covers_every_competency(app_ctx):
    from assess.extensions import db
    from assess.models import Competency, Item
    from assess.services import bank

    catalog, files, problems = bank.read_bank_dir(DEMO_BANK)
    assert problems == [], "\n".join(str(p) for p in problems)
    result = import_dir(DEMO_BANK)
    codes = [c["code"] for b in catalog for c in b["competencies"]]
    assert len(codes) == 25 and result.counts["competencies"] == 25
    assert {d.competency for d in files} == set(codes), "every competency has its file"
    operational = Counter(db.session.execute(
        db.select(Competency.code).join(Item, Item.competency_id == Competency.id)
        .where(Item.status == "operational")).scalars())
    assert operational == {code: 12 for code in codes}
    # Every item's type and model fit its competency's scale, and no two items share a stem.
    comps = {c.code: c for c in db.session.execute(db.select(Competency)).scalars()}
    stems: dict[str, str] = {}
    for item in db.session.execute(db.select(Item)).scalars():
        version, comp = item.current, comps[item.competency.code]
        assert version.item_type == comp.item_type and version.irt_model == comp.irt_model, item.code
        key = " ".join(version.stem.lower().split())
        assert key not in stems, f"{item.code} repeats the stem of {stems.get(key)}"
        stems[key] = item.code
    assert len(stems) == result.counts["items"]


def test_demo_parameters_sit_at_their_levels(app_ctx):
    """item_bank/README.md: an item for level L sits near b = L - 3 (within one level band)."""
    from assess.services import bank

    _catalog, files, problems = bank.read_bank_dir(DEMO_BANK)
    assert not problems
    for doc in files:
        for raw in doc.items:
            irt = raw["irt"]
            location = irt.get("b", None)
            if location is None:
                location = sum(irt["thresholds"]) / len(irt["thresholds"])
            assert abs(location - (raw["level"] - 3)) <= 1.0, raw["id"]


def test_csv_neutralises_formulas_and_reads_spreadsheet_conventions(app_ctx, tmp_path):
    from assess.services import bank
    from assess.services.bank_table import COLUMNS, read_csv

    import_dir(write_bank(tmp_path / "bank"))
    data, _name, _mime = bank.export_bytes("csv", ["TA.01"])
    text = data.decode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    assert "'=SUM(C2:C31)" in text and "'-COUNT" in text and "'+C2+C31" in text and "'@C2" in text
    assert "''=tetap teks" in text
    # Excel in Indonesian writes semicolons and decimal commas: both are read.
    row = dict.fromkeys(COLUMNS, "")
    row.update(competency="TA.01", id="TA.01-009", type="mc", level="2", status="draft", stem="Soal baru",
               option_1="A", option_2="B", option_3="C", key="3", model="2pl", a="1,25", b="-0,5")
    semicolon = ";".join(COLUMNS) + "\r\n" + ";".join(row[c] for c in COLUMNS) + "\r\n"
    content = read_csv(semicolon.encode("utf-8"), "items.csv")
    assert not bank.validate_content(content)
    raw = content.docs[0].items[0]
    assert raw["irt"] == {"model": "2pl", "a": 1.25, "b": -0.5}
    assert [o.get("key", False) for o in raw["options"]] == [False, False, True]


def test_xlsx_keeps_text_that_looks_like_a_formula_as_text(app_ctx, tmp_path):
    from openpyxl import load_workbook

    from assess.services import bank

    import_dir(write_bank(tmp_path / "bank"))
    data, _name, _mime = bank.export_bytes("xlsx", ["TA.01"])
    sheet = load_workbook(io.BytesIO(data))["items"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=SUM(C2:C31)"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_qti_package_is_qti_3(app_ctx, tmp_path):
    from xml.etree import ElementTree as ET

    from assess.services import bank
    from assess.services.bank_qti import CP, QTI

    import_dir(write_bank(tmp_path / "bank"))
    data, _name, _mime = bank.export_bytes("qti")
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = ET.fromstring(archive.read("imsmanifest.xml"))
    assert manifest.tag == f"{{{CP}}}manifest"
    types = Counter(r.get("type") for r in manifest.iter(f"{{{CP}}}resource"))
    assert types == {"imsqti_item_xmlv3p0": 7, "imsqti_stimulus_xmlv3p0": 1}
    mc = ET.fromstring(archive.read("items/TA.01-001.xml"))
    assert mc.tag == f"{{{QTI}}}qti-assessment-item" and mc.get("identifier") == "TA.01-001"
    assert mc.find(f"{{{QTI}}}qti-response-processing").get("template").endswith("/match_correct.xml")
    correct = mc.find(f".//{{{QTI}}}qti-correct-response/{{{QTI}}}qti-value").text
    choices = mc.findall(f".//{{{QTI}}}qti-simple-choice")
    assert [c.get("identifier") for c in choices].index(correct) == 1
    assert mc.find(f"{{{QTI}}}qti-assessment-stimulus-ref").get("href") == "../stimuli/TA.01-S01.xml"
    assert mc.find(f".//{{{QTI}}}strong").text == "terbanyak"  # Markdown travels as XHTML
    sjt = ET.fromstring(archive.read("items/TA.02-001.xml"))
    assert sjt.find(f"{{{QTI}}}qti-response-processing").get("template").endswith("/map_response.xml")
    entries = {e.get("map-key"): e.get("mapped-value") for e in sjt.iter(f"{{{QTI}}}qti-map-entry")}
    assert entries == {"choice_1": "5", "choice_2": "1", "choice_3": "4", "choice_4": "2", "choice_5": "3"}
    likert = ET.fromstring(archive.read("items/TB.01-001.xml"))
    values = [e.get("mapped-value") for e in likert.iter(f"{{{QTI}}}qti-map-entry")]
    assert values == ["5", "4", "3", "2", "1"]  # reverse-keyed
    assert b"<!DOCTYPE" not in archive.read("items/TA.01-001.xml")


QTI2_ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p2" identifier="i1596" title="Phishing"
    adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
    <correctResponse><value>choice_b</value></correctResponse>
  </responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <itemBody>
    <p>Anda menerima surel dari domain <strong>bkn-update.com</strong>. Tindakan paling tepat adalah ...</p>
    <choiceInteraction responseIdentifier="RESPONSE" shuffle="true" maxChoices="1">
      <simpleChoice identifier="choice_a">Mengeklik tautan</simpleChoice>
      <simpleChoice identifier="choice_b">Melaporkannya ke tim keamanan <em>tanpa</em> mengeklik</simpleChoice>
      <simpleChoice identifier="choice_c">Meneruskannya ke rekan</simpleChoice>
    </choiceInteraction>
  </itemBody>
  <responseProcessing template="http://www.imsglobal.org/question/qti_v2p2/rptemplates/match_correct"/>
</assessmentItem>
"""
QTI2_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="tao-export">
  <resources>
    <resource identifier="i1596" type="imsqti_item_xmlv2p2" href="i1596/qti.xml"><file href="i1596/qti.xml"/></resource>
  </resources>
</manifest>
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_qti_items_from_other_tools_import_as_drafts(app_ctx, tmp_path):
    from assess.extensions import db
    from assess.models import Item
    from assess.services import bank

    import_dir(write_bank(tmp_path / "bank"))
    package = _zip({"imsmanifest.xml": QTI2_MANIFEST, "i1596/qti.xml": QTI2_ITEM})
    with pytest.raises(bank.BankValidationError) as error:
        bank.import_upload("tao.zip", package, actor=None)
    assert error.value.problems[0].field == "competency"
    result = bank.import_upload("tao.zip", package, actor=None, default_competency="TA.01")
    db.session.commit()
    assert [c.code for c in result.changes] == ["TA.01-004"]  # a new id in that competency
    item = db.session.execute(db.select(Item).filter_by(code="TA.01-004")).scalar_one()
    version = item.current
    assert item.status == "draft" and version.item_type == "mc" and version.level == 3
    assert version.stem == "Anda menerima surel dari domain **bkn-update.com**. Tindakan paling tepat adalah ..."
    assert [o["score"] for o in version.options] == [0, 1, 0]
    assert version.options[1]["text"] == "Melaporkannya ke tim keamanan *tanpa* mengeklik"
    assert version.irt_model == "3pl" and not version.calibrated  # the competency's model, provisional


def test_synthetic_bank_is_marked_and_idempotent(app, runner, tmp_path):
    from assess.extensions import db
    from assess.models import Battery, Competency, Item

    first = runner.invoke(args=["bank", "synth", "--items", "60", "--competencies", "5"])
    assert first.exit_code == 0, first.output
    assert "60 items" in first.output
    again = runner.invoke(args=["bank", "synth", "--items", "60", "--competencies", "5"])
    assert again.exit_code == 0 and "no changes" in again.output
    with app.app_context():
        battery = db.session.execute(db.select(Battery).filter_by(code="synthetic")).scalar_one()
        codes = [c.code for c in db.session.execute(db.select(Competency).filter_by(battery_id=battery.id)).scalars()]
        assert codes == ["SYN.01", "SYN.02", "SYN.03", "SYN.04", "SYN.05"]
        items = db.session.execute(db.select(Item)).scalars().all()
        assert len(items) == 60 and all(i.status == "operational" for i in items)
        assert all(i.current.stem.startswith("[SINTETIS]") for i in items)
        assert {i.current.irt_model for i in items} == {"3pl", "grm", "gpcm", "2pl"}
    out = runner.invoke(args=["bank", "synth", "--items", "10", "--out", str(tmp_path / "syn")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "syn" / "catalog.yaml").is_file() and (tmp_path / "syn" / "synthetic" / "SYN.01.yaml").is_file()
    check = runner.invoke(args=["bank", "import", str(tmp_path / "syn"), "--dry-run"])
    assert check.exit_code == 0, check.output


def test_cli_export_and_import_round_trip(app, runner, tmp_path):
    write_bank(tmp_path / "bank")
    assert runner.invoke(args=["bank", "import", str(tmp_path / "bank")]).exit_code == 0
    for target in ("out", "bank.csv", "bank.xlsx", "bank-qti.zip"):
        result = runner.invoke(args=["bank", "export", str(tmp_path / target)])
        assert result.exit_code == 0, result.output
        check = runner.invoke(args=["bank", "import", str(tmp_path / target), "--dry-run"])
        assert check.exit_code == 0 and "would import no changes" in check.output, (target, check.output)
    refused = runner.invoke(args=["bank", "export", str(tmp_path / "out")])
    assert refused.exit_code != 0 and "not empty" in refused.output
    # A folder with a one-file format (as the README writes it): the file goes inside, named for it.
    (tmp_path / "existing").mkdir()
    for folder, fmt, name in (("existing", "csv", "bank.csv"), ("new/", "xlsx", "bank.xlsx"), ("q", "qti", "bank.zip")):
        result = runner.invoke(args=["bank", "export", str(tmp_path / folder), "--format", fmt])
        assert result.exit_code == 0, result.output
        written = tmp_path / folder.rstrip("/") / name
        check = runner.invoke(args=["bank", "import", str(written), "--dry-run"])
        assert check.exit_code == 0 and "would import no changes" in check.output, (folder, check.output)
