"""The talent and organisation pages and the talent API through the test client."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Agency, ApiToken, AuditLog, ClusterChange, PerformanceRating, TalentPlacement, TalentSettings
from assess.services import talent
from tests.talent_helpers import add_attempt, add_skp, good_scores, make_agency, make_bank, make_participant, make_wave


@pytest.fixture
def mapped(app):
    """Three participants on the talent map (boxes 9 and 5, one without SKP) and one pending."""
    with app.app_context():
        comp = make_bank()
        agency = make_agency("KEMENA", 1, priority=1)
        wave = make_wave()
        star = make_participant(agency, name="Ayu Bintang", job_level="pengawas")
        add_skp(star, "sangat_baik")
        add_attempt(star, wave, good_scores(level=3, theta=1.0), comp)
        middle = make_participant(agency, name="Budi Tengah", job_level="pengawas")
        add_skp(middle, "baik")
        add_attempt(middle, wave, good_scores(level=3, theta=0.0), comp)
        open_ = make_participant(agency, name="Citra Tanpa SKP", job_level="pengawas")
        add_attempt(open_, wave, good_scores(level=3, theta=0.0), comp)
        make_participant(agency, name="Dedi Belum")
        talent.compute()
        db.session.commit()
        return {"agency": agency.id, "wave": wave.id}


@pytest.fixture
def admin(make_user, login, client):
    user = make_user("admin")
    login(user)
    return user


def test_dashboard_shows_the_nine_box_counts_and_a_box_lists_its_people(client, mapped, admin):
    page = client.get("/admin/talent/?cluster=1").get_data(as_text=True)
    assert 'aria-label="Box 9: 1 people' in page or "Kotak 9: 1 orang" in page
    assert "nine-box-cell heat-" in page and "style=" not in page
    assert "KEMENA" in page  # the per-agency table of the cluster
    box = client.get("/admin/talent/box/9?cluster=1").get_data(as_text=True)
    assert "Ayu Bintang" in box and "Budi Tengah" not in box
    assert "Budi Tengah" in client.get("/admin/talent/box/5").get_data(as_text=True)
    assert "Citra Tanpa SKP" in client.get("/admin/talent/box/0").get_data(as_text=True)
    with client.application.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "talent.view_box")) == 3


def test_only_admins_can_export(client, app, mapped, make_user, login):
    anonymous = app.test_client().get("/admin/talent/export?format=csv")
    assert anonymous.status_code == 302 and "/auth/staff" in anonymous.location
    for role in ("participant", "assessor"):
        other = app.test_client()
        login(make_user(role), c=other)
        assert other.get("/admin/talent/export?format=csv").status_code == 403
        assert other.get("/admin/talent/export?format=xlsx").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "talent.export")) == 0


def test_admin_export_streams_a_workbook_and_is_audited(client, app, mapped, admin):
    response = client.get("/admin/talent/export?format=xlsx&cluster=1")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="talent-klaster1-v1-')
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert len(list(workbook.worksheets[-1].iter_rows())) == 1 + 3
    csv_response = client.get("/admin/talent/export?format=csv")
    assert csv_response.get_data().startswith(b"\xef\xbb\xbf")
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once, not twice
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(AuditLog.action == "talent.export")).scalars().all()
        assert [(r.actor_id, r.detail["format"], r.detail["rows"]) for r in rows] == [(admin.id, "xlsx", 3), (admin.id, "csv", 3)]


def test_compute_and_settings_pages_make_versions(client, app, mapped, admin):
    page = client.get("/admin/talent/settings")
    assert page.status_code == 200
    form = {"band_set": "mapping", "mapping_upper": "90", "mapping_lower": "78", "selection_upper": "80",
            "selection_lower": "68", "jpm_batteries": ["managerial", "sociocultural"], "potential_low": "-0,5",
            "potential_high": "0.5", "performance_low": "60", "performance_high": "80", "skp_year": "",
            "readiness_aggregate": "mean", "readiness_excluded_bands": ["kurang_optimal"], "note": "uji",
            "weight_managerial": "1", "weight_digital": "1", "weight_emerging": "2", "ready_digital": "3",
            "ready_berakhlak": "3", "predikat_sangat_baik": "90", "predikat_baik": "75",
            "predikat_butuh_perbaikan": "55", "predikat_kurang": "40", "predikat_sangat_kurang": "20",
            **{f"expected_{job}": str(level) for job, level in talent.DEFAULT_SETTINGS["expected_levels"].items()}}
    saved = client.post("/admin/talent/settings", data=form)
    assert saved.status_code == 302
    assert client.post("/admin/talent/settings", data=form).status_code == 200  # unchanged: refused, shown again
    with app.app_context():
        versions = db.session.execute(select(TalentSettings).order_by(TalentSettings.version)).scalars().all()
        assert [v.version for v in versions] == [1, 2] and versions[1].settings["potential_weights"]["emerging"] == 2.0
    assert client.post("/admin/talent/compute", data={"wave": ""}).status_code == 302
    with app.app_context():
        v2 = db.session.execute(select(TalentSettings).filter_by(version=2)).scalar_one()
        assert db.session.scalar(select(func.count(TalentPlacement.id)).where(TalentPlacement.settings_id == v2.id)) == 3


def test_skp_upload_with_a_bad_row_shows_every_problem_and_writes_nothing(client, app, mapped, admin):
    with app.app_context():
        nip = db.session.execute(select(TalentPlacement)).scalars().first()
        from assess.models import User

        nip = db.session.get(User, nip.user_id).nip
        before = db.session.scalar(select(func.count(PerformanceRating.id)))
    data = f"nip,year,predikat\n{nip},2026,Baik\n{nip},2026,Baik\n123,2026,Hebat\n".encode()
    response = client.post("/admin/talent/skp", data={"file": (io.BytesIO(data), "skp.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "baris 3" in text or "row 3" in text
    assert text.count("<li>") == 3  # duplicate on row 3; NIP and predikat on row 4
    with app.app_context():
        assert db.session.scalar(select(func.count(PerformanceRating.id))) == before
    good = client.post("/admin/talent/skp", data={"file": (io.BytesIO(f"nip,year,predikat\n{nip},2026,Baik\n".encode()), "skp.csv")},
                       content_type="multipart/form-data")
    assert good.status_code == 302


def test_agency_pages_edit_cluster_and_show_the_history(client, app, mapped, admin):
    agency_id = mapped["agency"]
    page = client.get(f"/admin/orgs/agencies/{agency_id}/edit")
    assert page.status_code == 200
    for upload_page in ("/admin/orgs/import", "/admin/talent/skp"):  # the shared upload form
        html = client.get(upload_page).get_data(as_text=True)
        assert 'enctype="multipart/form-data"' in html and 'name="dry_run"' in html and 'name="file"' in html
    response = client.post(f"/admin/orgs/agencies/{agency_id}/edit", data={
        "code": "KEMENA", "name": "Instansi KEMENA", "kind": "kementerian", "cluster": "2", "priority": "1",
        "strategic_roles": ["importance"], "proximity": "high", "urgency": "", "reason": "Keputusan 2026"})
    assert response.status_code == 302
    detail = client.get(f"/admin/orgs/agencies/{agency_id}").get_data(as_text=True)
    assert "Keputusan 2026" in detail
    created = client.post("/admin/orgs/agencies/new", data={
        "code": "BARU", "name": "Badan Baru", "kind": "lpnk", "cluster": "9"})
    assert created.status_code == 422  # cluster 9 is not a choice
    refused = client.post(f"/admin/orgs/agencies/{agency_id}/delete")
    assert refused.status_code == 302  # still has participants: refused with a message
    with app.app_context():
        assert db.session.get(Agency, agency_id).cluster == 2
        assert db.session.scalar(select(func.count(ClusterChange.id))) == 1


# ------------------------------------------------------------------------------ the API
def make_token(client) -> str:
    page = client.post("/admin/talent/tokens", data={"name": "SI-ASN", "days": "90"}).get_data(as_text=True)
    import re

    return re.search(r"(asx_[A-Za-z0-9_\-]+)", page).group(1)


def test_api_needs_a_bearer_token_not_the_session(client, app, mapped, admin):
    assert client.get("/api/talent/placements").status_code == 401  # signed in as admin: still 401
    token = make_token(client)
    with app.app_context():
        row = db.session.execute(select(ApiToken)).scalar_one()
        assert row.token_hash != token and token not in row.token_hash and row.prefix == token[:10]
    api = app.test_client()
    assert api.get("/api/talent/placements", headers={"Authorization": "Bearer asx_wrong"}).status_code == 401
    first = api.get("/api/talent/placements?limit=2", headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200
    body = first.get_json()
    assert body["total"] == 3 and len(body["data"]) == 2 and body["next_after"] == body["data"][-1]["id"]
    second = api.get(f"/api/talent/placements?limit=2&after={body['next_after']}",
                     headers={"Authorization": f"Bearer {token}"}).get_json()
    assert len(second["data"]) == 1 and second["next_after"] is None
    boxes = sorted((p["box"] or 0) for p in body["data"] + second["data"])
    assert boxes == [0, 5, 9]
    summary = api.get("/api/talent/summary", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert summary["total"]["assessed"] == 3 and summary["total"]["pending"] == 1 and summary["total"]["boxes"]["9"] == 1
    assert api.get("/api/talent/placements?limit=5000", headers={"Authorization": f"Bearer {token}"}).status_code == 400
    # A filter that cannot be read is refused, never dropped (which would hand out everyone).
    for query in ("placements?unit=abc", "placements?version=abc", "placements?limit=abc", "placements?after=abc",
                  "placements?after=-5", "summary?unit=abc", "placements?unit=99999999999999999999"):
        refused = api.get(f"/api/talent/{query}", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 400, query
    assert client.get("/admin/talent/export?format=csv&cluster=9").status_code == 400
    with app.app_context():
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "api.talent_placements")) == 2
    assert client.post(f"/admin/talent/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/talent/placements", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_openapi_description_is_json(client):
    doc = client.get("/api/talent/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and "/api/talent/placements" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
