"""Sign-in, sign-out, sessions, throttling, CSRF and cookie flags."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD

GENERIC = "NIP/nama pengguna atau kata sandi salah."


def audit_actions(app):
    from assess.extensions import db
    from assess.models import AuditLog

    with app.app_context():
        return [(r.action, r.detail) for r in db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars()]


def test_participant_signs_in_with_nip_and_lands_on_my_assessments(client, make_user, login):
    user = make_user("participant")
    response = login(user)
    assert response.location.endswith("/me/")
    page = client.get("/me/").get_data(as_text=True)
    assert "Asesmen saya" in page and user.nip in page


@pytest.mark.parametrize("role, home", [("assessor", "/review/"), ("admin", "/admin/")])
def test_staff_sign_in_lands_on_role_home(client, make_user, login, role, home):
    response = login(make_user(role))
    assert response.location.endswith(home)
    assert client.get(home).status_code == 200


def test_wrong_password_and_unknown_nip_get_the_same_generic_answer(client, make_user, app):
    user = make_user("participant")
    wrong = client.post("/auth/login", data={"nip": user.nip, "password": "not-it"})
    unknown = client.post("/auth/login", data={"nip": "199001012015031001", "password": "not-it"})
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert GENERIC in response.get_data(as_text=True)
    assert client.get("/me/").status_code == 302  # still signed out
    actions = audit_actions(app)
    assert [a for a, _ in actions] == ["auth.login_failed", "auth.login_failed"]
    assert {d["reason"] for _, d in actions} == {"bad_password", "unknown_account"}


def test_staff_cannot_sign_in_on_the_participant_form_and_vice_versa(client, make_user):
    admin = make_user("admin")
    participant = make_user("participant")
    assert client.post("/auth/staff", data={"username": participant.nip, "password": PASSWORD}).status_code == 401
    assert client.post("/auth/login", data={"nip": admin.username, "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize(
    "nip, message",
    [
        ("19850714201001100A", "NIP hanya boleh berisi angka."),
        ("19850714201001100", "NIP harus tepat 18 digit (ditemukan 17)."),
        ("198502302010011003", "Tanggal lahir dalam NIP (digit 1-8) bukan tanggal yang valid."),
        ("198507142010131003", "Bulan pengangkatan dalam NIP (digit 13-14) bukan bulan yang valid."),
        ("198507142010013003", "Digit ke-15 NIP harus 1 (laki-laki) atau 2 (perempuan)."),
    ],
)
def test_malformed_nip_is_refused_with_a_clear_message(client, app, nip, message):
    response = client.post("/auth/login", data={"nip": nip, "password": "whatever"})
    assert response.status_code == 401
    assert message in response.get_data(as_text=True)
    assert audit_actions(app)[-1][1]["reason"] == "malformed_nip"


def test_failed_sign_ins_are_throttled_per_account(client, make_user, app):
    user = make_user("participant")
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    for _ in range(limit):
        assert client.post("/auth/login", data={"nip": user.nip, "password": "bad"}).status_code == 401
    blocked = client.post("/auth/login", data={"nip": user.nip, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Terlalu banyak percobaan" in blocked.get_data(as_text=True)
    # Another account from the same address is not blocked by this account's limit.
    other = make_user("participant")
    assert client.post("/auth/login", data={"nip": other.nip, "password": PASSWORD}).status_code == 302


def test_failed_sign_ins_are_throttled_per_ip(client, make_user, app):
    limit = int(app.config["LOGIN_LIMIT_PER_IP"].split()[0])
    for i in range(limit):
        nip = f"19900101201503{1 + i % 2}{i + 1:03d}"
        assert client.post("/auth/login", data={"nip": nip, "password": "bad"}).status_code == 401
    user = make_user("participant")
    assert client.post("/auth/login", data={"nip": user.nip, "password": PASSWORD}).status_code == 429
    # A different client address is unaffected.
    ok = client.post("/auth/login", data={"nip": user.nip, "password": PASSWORD},
                     environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 302


def test_successful_sign_ins_do_not_count_against_the_limit(client, make_user, login, app):
    user = make_user("participant")
    for _ in range(int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0]) + 2):
        login(user)
        client.post("/auth/logout")


def _session_cookie(client, app):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def test_session_is_rotated_at_sign_in(client, make_user, login, app):
    user = make_user("participant")
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    before = _session_cookie(client, app)
    login(user)
    after = _session_cookie(client, app)
    assert before and after and before != after
    with client.session_transaction() as session:
        assert "planted" not in session  # nothing of the anonymous session survives


def test_logout_ends_the_session_even_for_a_copied_cookie(client, make_user, login, app):
    user = make_user("assessor")
    login(user)
    stolen = _session_cookie(client, app)
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/review/").status_code == 302
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    response = replay.get("/review/")
    assert response.status_code == 302 and "/auth/staff" in response.location
    assert [a for a, _ in audit_actions(app)] == ["auth.login", "auth.logout"]


def test_idle_session_times_out(client, make_user, login, app):
    user = make_user("participant")
    login(user)
    with client.session_transaction() as session:
        session["seen"] = session["seen"] - app.permanent_session_lifetime.total_seconds() - 5
    response = client.get("/me/")
    assert response.status_code == 302 and "/auth/login" in response.location
    assert "auth.idle_timeout" in [a for a, _ in audit_actions(app)]


def test_session_cookie_flags(client, make_user, login, app):
    response = login(make_user("participant"))
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("assess_session="))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # development/testing over plain http


def test_production_cookies_are_secure_and_a_default_secret_is_refused(monkeypatch):
    import importlib

    import config
    from assess import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app(config.ProductionConfig)
    monkeypatch.setenv("SECRET_KEY", config.DEV_SECRET)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app(config.ProductionConfig)
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    prod = importlib.reload(config).ProductionConfig
    prod.SQLALCHEMY_DATABASE_URI = "sqlite:///:memory:"
    app = create_app(prod)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    importlib.reload(config)


def test_post_without_csrf_token_is_rejected(app, make_user):
    user = make_user("participant")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post("/auth/login", data={"nip": user.nip, "password": PASSWORD})
        assert response.status_code == 400
        assert "Formulir sudah kedaluwarsa" in response.get_data(as_text=True)
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        ok = client.post("/auth/login", data={"nip": user.nip, "password": PASSWORD, "csrf_token": token})
        assert ok.status_code == 302
        assert client.post("/auth/logout").status_code == 400  # logout is a form too
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_next_parameter_cannot_redirect_off_site(client, make_user):
    user = make_user("participant")
    response = client.post("/auth/login?next=//evil.example/x", data={"nip": user.nip, "password": PASSWORD})
    assert response.location == "/me/"
    response = client.get("/lang/en?next=https://evil.example/")
    assert response.location == "/"


def test_a_sign_in_storm_gets_a_quick_503_instead_of_a_long_queue(app, client, make_user):
    user = make_user("participant")
    app.config.update(LOGIN_CONCURRENCY=0, LOGIN_WAIT_SECONDS=0.01)
    try:
        busy = client.post("/auth/login", data={"nip": user.nip, "password": PASSWORD})
    finally:
        app.config.update(LOGIN_CONCURRENCY=2, LOGIN_WAIT_SECONDS=3.0)
    assert busy.status_code == 503 and "Retry-After" in busy.headers
    assert "Banyak peserta sedang masuk" in busy.get_data(as_text=True)
    assert client.post("/auth/login", data={"nip": user.nip, "password": PASSWORD}).status_code == 302


def test_passwords_use_full_strength_scrypt_outside_the_tests(app, monkeypatch):
    """Only the test configuration lowers the scrypt work factor (to keep the suite fast)."""
    from config import Config, DevelopmentConfig, ProductionConfig

    from assess.models import User

    for cls in (Config, DevelopmentConfig, ProductionConfig):
        assert getattr(cls, "PASSWORD_HASH_METHOD", "scrypt") == "scrypt"
    with app.app_context():
        monkeypatch.delitem(app.config, "PASSWORD_HASH_METHOD")
        user = User(role="admin", name="Uji", username="uji")
        user.set_password("kata-sandi-panjang")
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        assert user.check_password("kata-sandi-panjang") and not user.check_password("salah")
