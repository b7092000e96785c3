"""The demo seed: realistic, valid and idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from assess.services.identity import parse_nip


def snapshot(app):
    from assess.extensions import db
    from assess.models import Agency, Item, ItemVersion, Unit, User

    with app.app_context():
        return {
            "agencies": db.session.execute(select(Agency.code, Agency.cluster).order_by(Agency.code)).all(),
            "units": db.session.scalar(select(func.count(Unit.id))),
            "users": db.session.execute(
                select(User.role, User.nip, User.username, User.name, User.job_level, User.agency_id)
                .order_by(User.id)).all(),
            "items": db.session.scalar(select(func.count(Item.id))),
            "versions": db.session.scalar(select(func.count(ItemVersion.id))),
        }


def test_seed_twice_gives_the_same_data(runner, app):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "Created:" in first.output
    after_first = snapshot(app)
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert snapshot(app) == after_first

    users = after_first["users"]
    participants = [u for u in users if u.role == "participant"]
    assert len(participants) == 50
    assert {u.username for u in users if u.role != "participant"} == {"admin", "asesor1", "asesor2"}
    for p in participants:
        parse_nip(p.nip)  # raises on an invalid NIP
        assert p.job_level and p.agency_id
    assert len({p.nip for p in participants}) == 50
    clusters = {cluster for _, cluster in after_first["agencies"]}
    assert clusters == {1, 2, 3, 4, 5}
    codes = {code for code, _ in after_first["agencies"]}
    assert {"BKN", "KEMENKEU", "KEMENKES", "KEMENAG", "LKPP"} <= codes
    assert after_first["units"] >= 2 * len(codes)


def test_seeded_accounts_can_sign_in(runner, app):
    assert runner.invoke(args=["demo", "seed", "--bank", "/nonexistent"]).exit_code == 0
    from assess.services.demo import DEMO_PARTICIPANT_NIP, demo_password

    client = app.test_client()
    r = client.post("/auth/login", data={"nip": DEMO_PARTICIPANT_NIP, "password": demo_password("participant")})
    assert r.status_code == 302 and r.location.endswith("/me/")
    client = app.test_client()
    r = client.post("/auth/staff", data={"username": "admin", "password": demo_password("admin")})
    assert r.status_code == 302 and r.location.endswith("/admin/")
    out = runner.invoke(args=["demo", "accounts"]).output
    assert DEMO_PARTICIPANT_NIP in out and "admin" in out and "asesor1" in out


def test_demo_seed_is_refused_in_production(runner, app):
    app.config["ENV_NAME"] = "production"
    try:
        result = runner.invoke(args=["demo", "seed"])
    finally:
        app.config["ENV_NAME"] = "testing"
    assert result.exit_code != 0
    assert "refusing to seed demo data" in result.output


def test_exposure_command_sets_sympson_hetter_parameters(runner, app, make_competency):
    from assess.extensions import db
    from assess.models import Item

    make_competency("X.01", "mc", n=40)
    result = runner.invoke(args=["bank", "exposure", "--competency", "X.01", "--target", "0.3",
                                 "--max-items", "8", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "maximum exposure" in result.output
    with app.app_context():
        ks = [i.exposure_k for i in db.session.execute(db.select(Item)).scalars()]
    assert min(ks) < 1.0 and all(0 < k <= 1 for k in ks)  # the most informative items are throttled
    too_few = runner.invoke(args=["bank", "exposure", "--competency", "X.01", "--max-items", "40"])
    assert too_few.exit_code != 0 and "needs more than" in too_few.output
    unreachable = runner.invoke(args=["bank", "exposure", "--competency", "X.01", "--target", "0.1", "--max-items", "8"])
    assert unreachable.exit_code == 1 and "unreachable" in unreachable.output  # one line, not a traceback
    assert unreachable.exception is None or isinstance(unreachable.exception, SystemExit)


def test_the_job_worker_says_in_one_line_when_redis_is_unreachable(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 1 and "cannot reach Redis" in result.output


def test_create_staff_refuses_usernames_that_cannot_be_typed_back_and_empty_names(app, runner):
    base = ["users", "create-staff", "--role", "assessor", "--password", "kata-sandi-panjang-1"]
    for username, name in (("Bad Name", "Budi"), ("198507142010011003", "Budi"), ("ok.user", " ")):
        result = runner.invoke(args=base + ["--username", username, "--name", name])
        assert result.exit_code == 1, (username, result.output)
    good = runner.invoke(args=base + ["--username", "asesor.baru", "--name", "Budi Santoso"])
    assert good.exit_code == 0 and "Created assessor asesor.baru" in good.output
