"""Security headers, health check, error pages in both languages, audit log, i18n catalogs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parents[2]


def test_security_headers_on_every_kind_of_response(client):
    for path in ("/", "/auth/login", "/healthz", "/does-not-exist", "/static/css/app.css"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_carry_no_inline_script_or_style(client, make_user, login):
    pages = ["/", "/auth/login", "/auth/staff", "/nope"]
    login(make_user("admin"))
    pages += ["/admin/", "/admin/audit", "/admin/participants"]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and "onclick" not in html, path


def test_healthz_reports_the_database(client, monkeypatch):
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.get_json()["database"] == "ok"

    from assess.extensions import db

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken)
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.get_json() == {"status": "error", "database": "unreachable"}


def test_error_pages_in_both_languages(client):
    assert "Halaman tidak ditemukan" in client.get("/nope").get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/nope")
    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)


def test_language_switch_defaults_to_indonesian(client):
    assert 'lang="id"' in client.get("/").get_data(as_text=True)
    assert "Masuk sebagai peserta" in client.get("/auth/login").get_data(as_text=True)
    response = client.get("/lang/en?next=/auth/login")
    assert response.status_code == 302 and response.location == "/auth/login"
    english = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="en"' in english and "Participant sign-in" in english
    assert client.get("/lang/fr").status_code == 404


def test_server_error_rolls_back_and_leaks_no_traceback(app):
    from assess import create_app
    from config import TestingConfig

    class Config(TestingConfig):
        PROPAGATE_EXCEPTIONS = False

    other = create_app(Config)

    @other.route("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    response = other.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Terjadi kesalahan pada sistem kami" in body
    assert "secret internal detail" not in body and "Traceback" not in body
    api = other.test_client().get("/api/nowhere")
    assert api.status_code == 404 and api.is_json


def test_audit_rows_for_sign_in_and_admin_pages(app, client, make_user, login):
    from assess.extensions import db
    from assess.models import AuditLog

    admin = make_user("admin")
    client.post("/auth/staff", data={"username": admin.username, "password": "wrong"},
                environ_base={"REMOTE_ADDR": "10.9.8.7"})
    login(admin)
    client.get("/admin/participants")
    with app.app_context():
        rows = db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
    assert [r.action for r in rows] == ["auth.login_failed", "auth.login", "admin.view_personal_data"]
    failed, success, viewed = rows
    assert failed.ip == "10.9.8.7" and failed.actor_id is None and failed.target_id == str(admin.id)
    assert success.actor_id == admin.id and success.target_type == "users"
    assert viewed.actor_id == admin.id
    assert all(r.at.tzinfo is not None for r in rows)


def test_audit_log_rows_cannot_be_changed(app, make_user):
    from assess.extensions import db
    from assess.models import AuditLog, AuditLogIsAppendOnly
    from assess.services import audit

    with app.app_context():
        row = audit.record("test.action", actor_label="test")
        db.session.commit()
        row.action = "tampered"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.delete(db.session.get(AuditLog, row.id))
            db.session.flush()
        db.session.rollback()


def test_indonesian_catalog_is_complete_and_current(tmp_path):
    """Every marked string is in the catalog and translated; nothing is left fuzzy."""
    from babel.messages.pofile import read_po

    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    # Plural entries have a tuple of ids; compare their singular forms.
    key = lambda m: m.id[0] if isinstance(m.id, tuple) else m.id  # noqa: E731
    source = {key(m) for m in read_po(pot.open("rb")) if m.id}
    catalog = read_po((ROOT / "assess/translations/id/LC_MESSAGES/messages.po").open("rb"))
    translated = {key(m) for m in catalog if m.id and m.string and "fuzzy" not in m.flags
                  and (all(m.string) if isinstance(m.string, tuple) else True)}
    missing = source - translated
    assert not missing, f"strings without an Indonesian translation (run make i18n-update): {sorted(missing)}"


@pytest.mark.parametrize("preset, expected", [(None, "1"), ("2", "2")])
def test_gunicorn_workers_get_one_blas_thread_unless_the_operator_says_otherwise(preset, expected):
    """Workers run threads and outnumber the cores; numpy in each must not start its own pool."""
    import os

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    code = ("import os, runpy; runpy.run_path('gunicorn.conf.py'); "
            "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [expected, "1"]


def test_form_field_errors_speak_the_pages_language(client, make_user, login):
    """WTForms ships no Indonesian: its own messages (required, number range, choice) come from our catalog."""
    login(make_user("admin"))
    html = client.post("/admin/orgs/agencies/new", data={"code": "", "name": "", "kind": "lpnk", "cluster": "9"}) \
        .get_data(as_text=True)
    assert "Kolom ini wajib diisi." in html and "Pilihan tidak valid." in html
    assert "This field is required." not in html and "Not a valid choice" not in html
    client.get("/lang/en")
    html = client.post("/admin/orgs/agencies/new", data={"code": "", "name": "", "kind": "lpnk"}).get_data(as_text=True)
    assert "This field is required." in html and "Kolom ini wajib diisi." not in html


def test_admin_pages_name_statuses_and_clusters_in_words(client, make_user, make_agency, make_competency, login):
    make_competency("W.01", "mc", n=2)
    make_agency("AGX", cluster=3)
    login(make_user("admin"))
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "Operasional" in dashboard and "<td>operational</td>" not in dashboard
    new_wave = client.get("/admin/waves/new").get_data(as_text=True)
    assert "(klaster 3)" in new_wave and "(cluster 3)" not in new_wave


def test_an_absurd_page_number_is_not_found_not_a_server_error(client, make_user, login):
    login(make_user("admin"))
    for path in ("/admin/participants", "/admin/bank/", "/admin/audit"):
        assert client.get(f"{path}?page=99999999999999999999").status_code == 404
        assert client.get(f"{path}?page=2").status_code in (200, 404)
