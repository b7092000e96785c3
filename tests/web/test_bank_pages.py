"""The admin's item bank pages: browse and filter, preview, create and edit, the workflow, charts,
export and import through the browser, calibration progress and acceptance."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from tests.services.test_bank_support import content_of, snapshot, wipe_items, write_bank


@pytest.fixture
def bank_app(app, tmp_path):
    from assess.extensions import db
    from assess.services import bank

    with app.app_context():
        bank.import_bank(write_bank(tmp_path / "bank"), actor=None)
        db.session.commit()
    return app


@pytest.fixture
def admin(make_user, login, client):
    user = make_user("admin")
    login(user)
    client.get("/lang/en")
    return user


def _id(app, code):
    from assess.extensions import db
    from assess.models import Item

    with app.app_context():
        return db.session.execute(select(Item.id).filter_by(code=code)).scalar_one()


def _page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    html = response.get_data(as_text=True)
    assert "style=" not in html and "<script>" not in html and "onclick" not in html, url
    return html


def test_browse_and_filter(bank_app, client, admin):
    html = _page(client, "/admin/bank/")
    assert "7 items" in html and "TA.01-001" in html and "TB.01-002" in html
    html = _page(client, "/admin/bank/?competency=TA.02")
    assert "2 items" in html and "TA.01-001" not in html
    assert "1 item" in _page(client, "/admin/bank/?battery=alpha&level=4")
    assert "TA.02-002" in _page(client, "/admin/bank/?battery=alpha&level=4")
    html = _page(client, "/admin/bank/?status=operational&type=likert")
    assert "TB.01-001" in html and "1 item" in html
    html = _page(client, "/admin/bank/?q=DAFTAR+hadir")
    assert "TA.02-001" in html and "1 item" in html
    assert "0 items" in _page(client, "/admin/bank/?q=%25_")  # LIKE wildcards are literal


def test_item_page_previews_like_the_participant_page(bank_app, client, admin):
    html = _page(client, f"/admin/bank/items/{_id(bank_app, 'TA.01-001')}")
    assert "<strong>terbanyak</strong>" in html  # Markdown rendered
    assert "<table>" in html and "Tabel layanan" in html  # the shared stimulus
    assert html.count('type="radio" name="preview-') == 4
    assert "<svg" in html and "Category response curves of TA.01-001" in html
    likert = _page(client, f"/admin/bank/items/{_id(bank_app, 'TB.01-001')}")
    assert "Strongly disagree" in likert and "reverse-keyed" in likert
    custom = _page(client, f"/admin/bank/items/{_id(bank_app, 'TB.01-002')}")
    assert "Tidak pernah" in custom and "Selalu" in custom


def test_unsafe_markdown_never_reaches_the_page(bank_app, client, admin):
    from assess.extensions import db
    from assess.models import Item, ItemVersion

    with bank_app.app_context():  # written past the validator, straight into the table
        item = db.session.execute(select(Item).filter_by(code="TA.01-003")).scalar_one()
        item.current_version = 2
        item.versions.append(ItemVersion(version=2, item_type="mc", level=1, irt_model="rasch", a=1.0, b=0.0, c=0.0,
                                         stem='Soal <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror="y">',
                                         options=[{"text": "<b onclick=\"z\">A</b>", "score": 1}, {"text": "B", "score": 0},
                                                  {"text": "C", "score": 0}]))
        db.session.commit()
    html = client.get(f"/admin/bank/items/{_id(bank_app, 'TA.01-003')}").get_data(as_text=True)
    # Rendered content is sanitised; the revision diff shows the source as escaped text.
    assert "<script>alert" not in html and 'href="javascript:' not in html
    assert 'onerror="' not in html and 'onclick="' not in html and "&lt;script&gt;" in html


def test_create_edit_and_move_an_item_through_the_workflow(bank_app, client, admin, make_user, login):
    from assess.extensions import db
    from assess.models import AuditLog, Item

    form = {"competency": "TA.02", "type": "sjt", "level": "2", "subdomain": "Kerja sama", "stimulus": "",
            "stem": "Rekan baru kesulitan memakai e-office. Anda ...", "model": "grm", "a": "1,1",
            "thresholds": "-2.5; -1.5; -0.5; 0.5", "note": "butir baru"}
    for n, (text, score) in enumerate([("Membantu", "5"), ("Membiarkan", "1"), ("Melapor", "3"), ("Mengajari", "4"),
                                       ("Menunda", "2")], start=1):
        form[f"option_{n}"], form[f"score_{n}"] = text, score
    bad = client.post("/admin/bank/items/new", data={**form, "score_2": "5"})
    assert bad.status_code == 422 and "option scores must be distinct" in bad.get_data(as_text=True)
    created = client.post("/admin/bank/items/new", data=form)
    assert created.status_code == 302
    item_id = int(created.location.rstrip("/").rsplit("/", 1)[1])
    html = _page(client, f"/admin/bank/items/{item_id}")
    assert "TA.02-003" in html and "Draft" in html
    edit = _page(client, f"/admin/bank/items/{item_id}/edit")
    assert "Rekan baru kesulitan" in edit and 'value="1.1"' in edit
    saved = client.post(f"/admin/bank/items/{item_id}/edit", data={**form, "stem": "Rekan baru kesulitan memakai e-office dan SIASN. Anda ...", "note": "lebih jelas"})
    assert saved.status_code == 302
    html = _page(client, f"/admin/bank/items/{item_id}")
    assert "version 2 of 2" in html, html
    assert "dan SIASN.</ins>" in html, html[html.find("Revisions"):]
    # Submit, then try to approve one's own item, then a second admin approves.
    assert client.post(f"/admin/bank/items/{item_id}/status", data={"to_status": "review"}).status_code == 302
    client.post(f"/admin/bank/items/{item_id}/status", data={"to_status": "pilot"})
    refused = _page(client, f"/admin/bank/items/{item_id}")
    assert "another admin must approve it" in refused
    other = make_user("admin")
    second = bank_app.test_client()
    login(other, c=second)
    second.get("/lang/en")
    second.post(f"/admin/bank/items/{item_id}/status", data={"to_status": "pilot", "reason": "ditelaah"})
    assert "is now Pilot" in second.get(f"/admin/bank/items/{item_id}").get_data(as_text=True)
    second.post(f"/admin/bank/items/{item_id}/status", data={"to_status": "retired"})  # no reason
    with bank_app.app_context():
        item = db.session.get(Item, item_id)
        assert (item.status, item.current_version, item.reviewer_id) == ("pilot", 2, other.id)
        actions = db.session.execute(select(AuditLog.action).where(AuditLog.target_id == str(item_id))).scalars().all()
        assert {"bank.item_create", "bank.item_edit", "bank.item_status"} <= set(actions)


def test_competency_page_draws_both_charts(bank_app, client, admin):
    from assess.extensions import db
    from assess.models import Competency

    with bank_app.app_context():
        comp_id = db.session.execute(select(Competency.id).filter_by(code="TA.02")).scalar_one()
    html = _page(client, f"/admin/bank/competencies/{comp_id}")
    assert html.count("<svg") == 2
    assert "Item locations of TA.02 against the level cut scores" in html
    assert "Test information of the operational items of TA.02" in html
    # The competency's own cut scores (-1, -0.25, 0.25, 1) are drawn: five level labels.
    assert len(re.findall(r">Level [1-5]</text>", html)) == 10  # five per chart


@pytest.mark.parametrize("fmt,name", [("xlsx", "bank.xlsx"), ("qti", "bank.zip"), ("csv", "bank.csv"),
                                      ("yaml", "bank.zip")])
def test_export_and_import_back_through_the_browser(bank_app, client, admin, fmt, name):
    with bank_app.app_context():
        before = snapshot()
    export = client.get(f"/admin/bank/export?format={fmt}")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    dry = client.post("/admin/bank/import", data={"file": (io.BytesIO(export.data), name), "dry_run": "y"},
                      content_type="multipart/form-data")
    assert dry.status_code == 200 and "the bank already holds exactly this" in dry.get_data(as_text=True)
    with bank_app.app_context():
        wipe_items()
    done = client.post("/admin/bank/import", data={"file": (io.BytesIO(export.data), name)},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    with bank_app.app_context():
        assert content_of(snapshot()) == content_of(before)


def test_import_problems_are_listed_and_nothing_changes(bank_app, client, admin):
    with bank_app.app_context():
        before = snapshot()
    bad = b"competency,id,type,level,stem,option_1,option_2,option_3,key,model,a,b\r\n" \
          b"TA.01,TA.01-001,mc,2,Soal,A,B,C,,2pl,0,9\r\nXX.01,XX.01-001,mc,2,Soal,A,B,C,1,2pl,1,0\r\n"
    response = client.post("/admin/bank/import", data={"file": (io.BytesIO(bad), "items.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was imported" in html
    assert "no option is marked as the key" in html and "slope a must be" in html
    assert "difficulty b must be" in html and "unknown competency" in html
    client.get("/lang/id")
    html = client.post("/admin/bank/import", data={"file": (io.BytesIO(bad), "items.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "tidak ada yang diimpor" in html
    with bank_app.app_context():
        assert snapshot() == before


def test_calibration_from_the_browser(bank_app, client, admin):
    from assess.extensions import db
    from assess.models import CalibrationRun, Competency

    with bank_app.app_context():
        comp_id = db.session.execute(select(Competency.id).filter_by(code="TA.01")).scalar_one()
    started = client.post(f"/admin/bank/competencies/{comp_id}/calibrate", data={"min_responses": "20"})
    assert started.status_code == 302
    run_id = int(started.location.rsplit("/", 1)[1])
    html = _page(client, f"/admin/bank/calibration/{run_id}")
    assert "The calibration failed" in html and "No pilot item of TA.01 has responses" in html
    status = client.get(f"/admin/bank/calibration/{run_id}/status", headers={"Accept": "application/json"})
    assert status.is_json and status.get_json()["status"] == "failed"
    with bank_app.app_context():
        run = db.session.get(CalibrationRun, run_id)
        run.status, run.progress, run.error = "running", {"stage": "calibrating", "iteration": 7, "loglik": -123.4}, None
        db.session.commit()
    html = _page(client, f"/admin/bank/calibration/{run_id}")
    assert 'id="calibration-progress"' in html and "js/bank.js" in html and "<progress" in html
    assert client.get(f"/admin/bank/calibration/{run_id}/status").get_json()["iteration"] == 7
    refused = client.post(f"/admin/bank/calibration/{run_id}/accept", data={"items": ["TA.01-002"]})
    assert refused.status_code == 302
    assert "Only a finished calibration can be accepted" in client.get(refused.location).get_data(as_text=True)
