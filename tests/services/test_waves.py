"""Test specifications and waves as services: bank checks, the CAT simulation, time zones,
all-or-nothing enrolment files, monitoring counts, extending and reopening attempts."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from flask_babel import force_locale
from sqlalchemy import event, func, select

from assess.extensions import db
from assess.irt.models import ItemBank
from assess.models import (
    Attempt, AttemptEvent, AuditLog, Enrollment, Score, TestSpec, User, Wave, utcnow,
)
from assess.services import specs, waves
from assess.services.specs import SectionInput, SpecError, SpecInput
from assess.services.waves import EnrolmentFileError, WaveError, WaveInput


@pytest.fixture
def ctx(app_ctx):
    yield
    db.session.rollback()


def spec_input(*sections: SectionInput, code: str = "S1", minutes: int = 60) -> SpecInput:
    return SpecInput(code=code, name="Tes", time_limit_minutes=minutes, sections=list(sections))


# ------------------------------------------------------------------------------------- specs
def test_fixed_and_random_forms_need_enough_operational_items(ctx, make_competency):
    mc = make_competency("V.01", "mc", n=5)     # levels 1..5, one item each
    lk = make_competency("V.02", "likert", n=10)  # two items per level
    spec = specs.create_spec(spec_input(
        SectionInput(mc, "fixed", n_items=8),
        SectionInput(lk, "random", per_level={2: 2, 3: 3}),
    ))
    report = specs.activate(spec)
    assert not report["ok"] and not spec.is_active
    fixed, loft = report["sections"]
    assert [p["code"] for p in fixed["problems"]] == ["bank_too_few"]
    assert fixed["problems"][0]["params"] == {"competency": "V.01", "available": 5, "needed": 8}
    assert [p["code"] for p in loft["problems"]] == ["bank_too_few_level"]
    assert loft["problems"][0]["params"]["level"] == 3 and loft["by_level"]["3"] == 2
    with force_locale("en"):
        assert specs.problem_text(fixed["problems"][0]) == "V.01 has 5 operational items; the form needs 8."
    db.session.refresh(spec)
    assert spec.validation["ok"] is False  # the last check is stored


def test_fixed_form_with_item_codes_names_the_unknown_ones(ctx, make_competency):
    mc = make_competency("V.03", "mc", n=5)
    spec = specs.create_spec(spec_input(SectionInput(mc, "fixed", item_codes=["V.03-001", "V.03-009", "X-1"])))
    problem = spec.validation["sections"][0]["problems"][0]
    assert problem["code"] == "bank_unknown_items" and problem["params"]["codes"] == "V.03-009, X-1"
    assert spec.sections[0].n_items == 3 and spec.sections[0].settings["items"][0] == "V.03-001"


def test_cat_pool_smaller_than_max_items_is_refused(ctx, make_competency):
    mc = make_competency("V.04", "mc", n=10)
    spec = specs.create_spec(spec_input(SectionInput(mc, "cat", min_items=5, max_items=20, se_target=0.3)))
    report = specs.activate(spec)
    assert not spec.is_active
    assert report["sections"][0]["problems"][0]["code"] == "bank_pool_small"
    assert "simulation" not in report["sections"][0]


def test_cat_subdomains_the_bank_does_not_have_are_refused(ctx, make_competency):
    """A typo in 'subdomains to cover' would leave content balancing doing nothing: the check says so."""
    mc = make_competency("V.06", "mc", n=40, subdomains=("keamanan", "etika"))
    spec = specs.create_spec(spec_input(SectionInput(mc, "cat", min_items=5, max_items=15, se_target=0.4,
                                                     content_subdomains=["keamanan", "etka"])))
    report = specs.activate(spec)
    assert not spec.is_active
    [problem] = report["sections"][0]["problems"]
    assert problem["code"] == "bank_unknown_subdomains" and problem["params"]["names"] == "etka"
    assert problem["params"]["known"] == "etika, keamanan"
    good = specs.create_spec(spec_input(SectionInput(mc, "cat", min_items=5, max_items=15, se_target=0.4,
                                                     content_subdomains=["keamanan", "etika"]), code="S2"))
    assert specs.activate(good)["ok"] and good.is_active


def test_cat_check_simulates_and_activates(ctx, make_competency):
    mc = make_competency("V.05", "mc", n=60)
    spec = specs.create_spec(spec_input(SectionInput(mc, "cat", min_items=5, max_items=15, se_target=0.4)))
    report = specs.activate(spec)
    assert report["ok"] and spec.is_active
    sim = report["sections"][0]["simulation"]
    assert sim["simulees"] == 200
    assert 0 < sim["rmse"] < 1.0
    assert 5 <= sim["min_length"] <= sim["mean_length"] <= sim["max_length"] <= 15
    assert 0 < sim["max_exposure"] <= 1
    assert sum(sim["stop_reasons"].values()) == 200
    assert "exposure_control" not in report["sections"][0]
    assert spec.sections[0].settings == {"layout": "item"}


def test_a_cat_exposure_target_is_calibrated_for_the_parts_design_and_met_in_simulation(ctx, make_competency):
    mc = make_competency("V.08", "mc", n=60)
    free = specs.create_spec(spec_input(SectionInput(mc, "cat", min_items=10, max_items=10, se_target=0.1), code="FREE"))
    unconstrained = specs.activate(free)["sections"][0]["simulation"]
    assert unconstrained["max_exposure"] > 0.45  # the randomesque rule alone leaves the best items overused
    spec = specs.create_spec(spec_input(SectionInput(mc, "cat", min_items=10, max_items=10, se_target=0.1,
                                                     exposure_max=0.3)))
    report = specs.activate(spec)
    assert report["ok"] and spec.is_active
    part = report["sections"][0]
    assert part["exposure_control"]["restricted"] > 0
    assert [w["code"] for w in part["warnings"]] == []
    assert part["simulation"]["max_exposure"] <= 0.3 + 2 * (0.3 * 0.7 / 200) ** 0.5
    k = spec.sections[0].settings["exposure_k"]
    assert len(k) == 60 and min(k.values()) < 1.0 and all(0.0 <= v <= 1.0 for v in k.values())
    # Delivery draws the part with these parameters.
    from assess.services import delivery
    form = delivery.draw_form(spec)
    assert form["sections"][0]["cat"]["exposure_k"] == k
    # A target the pool cannot carry: exposure rates add up to the test length.
    data = specs.input_of(spec)
    data.sections[0].exposure_max = 0.15  # 0.15 x 60 items < 10 items per person
    specs.update_spec(spec, data)
    report = specs.check_against_bank(spec)
    assert not report["ok"]
    assert [p["code"] for p in report["sections"][0]["problems"]] == ["exposure_unreachable"]
    assert report["sections"][0]["problems"][0]["params"]["min_pool"] == 67
    assert "exposure_k" not in spec.sections[0].settings


def test_delivery_uses_the_parts_exposure_parameters(ctx, make_competency, make_user, make_wave):
    from assess.models import Item
    from assess.services import delivery

    mc = make_competency("V.09", "mc", n=30)
    spec = specs.create_spec(spec_input(SectionInput(mc, "cat", min_items=5, max_items=10, se_target=0.3)))
    spec.is_active = True

    def first_items(n: int) -> list[int]:
        out = []
        for _ in range(n):
            attempt = Attempt(form=delivery.draw_form(spec), deadline_at=utcnow() + timedelta(minutes=30))
            delivery._enter_section(attempt, 0)
            out.append(attempt.form["sections"][0]["items"][0]["item_id"])
        return out

    usual = first_items(40)
    favourite = max(set(usual), key=usual.count)
    assert usual.count(favourite) >= 8  # one of the three best items at θ = 0
    ids = [i.id for i in db.session.execute(select(Item).where(Item.competency_id == mc)).scalars()]
    spec.sections[0].settings = {"layout": "item", "exposure_k": {str(i): (0.0 if i == favourite else 1.0) for i in ids}}
    assert favourite not in first_items(40)


def test_spec_input_problems_name_their_fields(ctx, make_competency):
    mc = make_competency("V.06", "mc", n=5)
    specs.create_spec(spec_input(SectionInput(mc, "fixed", n_items=5), code="TAKEN"))
    with pytest.raises(SpecError) as caught:
        specs.create_spec(SpecInput(code="taken", name="", time_limit_minutes=None, sections=[
            SectionInput(mc, "fixed"), SectionInput(mc, "random", n_items=4, per_level={1: 1}),
            SectionInput(None, "cat", min_items=9, max_items=5)]))
    fields = {(p.field, p.code) for p in caught.value.problems}
    assert fields == {
        ("code", "code_taken"), ("name", "name_required"), ("time_limit_minutes", "time_limit"),
        ("sections-0-n_items", "fixed_needs"), ("sections-1-competency", "duplicate_competency"),
        ("sections-1-n_items", "n_items_mismatch"), ("sections-2-competency", "unknown_competency"),
        ("sections-2-min_items", "cat_bounds")}


def test_a_spec_with_attempts_cannot_change_and_an_edit_that_fails_the_check_deactivates(
        ctx, make_competency, make_user, make_wave):
    mc = make_competency("V.07", "mc", n=6)
    spec = specs.create_spec(spec_input(SectionInput(mc, "fixed", n_items=6)))
    assert specs.activate(spec)["ok"]
    data = specs.input_of(spec)
    data.sections[0].n_items = 9
    specs.update_spec(spec, data)
    assert not spec.is_active and spec.sections[0].n_items == 9
    wave = Wave(code="WV7", name="W", spec=spec, opens_at=utcnow(), closes_at=utcnow() + timedelta(days=1))
    user = make_user("participant")
    db.session.add(wave)
    db.session.flush()
    db.session.add(Attempt(wave_id=wave.id, user_id=user.id, deadline_at=utcnow() + timedelta(hours=1)))
    db.session.flush()
    assert specs.is_locked(spec)
    with pytest.raises(specs.SpecLocked):
        specs.update_spec(spec, data)
    copy = specs.copy_spec(spec)
    assert copy.code == f"{spec.code}-2" and not copy.is_active and len(copy.sections) == 1


def test_simulate_cat_follows_the_stopping_rules():
    bank = ItemBank.from_arrays("2pl", a=np.full(40, 1.5), b=np.linspace(-2.5, 2.5, 40))
    # A loose SE target: everybody stops at the minimum length.
    loose = specs.simulate_cat(bank, min_items=3, max_items=10, se_target=0.9, n_simulees=50, rng=1)
    assert set(loose.length) == {3} and loose.stop_reasons == {"se_target": 50}
    # An unreachable target: everybody takes the maximum; the whole pool when max = pool size.
    everything = specs.simulate_cat(bank, min_items=5, max_items=40, se_target=0.01, n_simulees=30, rng=2)
    assert set(everything.length) == {40} and everything.max_exposure == 1.0
    # Same seed, same figures; estimates track the true abilities.
    a = specs.simulate_cat(bank, min_items=5, max_items=20, se_target=0.35, rng=7)
    b = specs.simulate_cat(bank, min_items=5, max_items=20, se_target=0.35, rng=7)
    assert a.rmse == b.rmse and a.mean_length == b.mean_length
    assert a.rmse < 0.5 and np.corrcoef(a.theta, a.estimate)[0, 1] > 0.85
    assert abs(a.rmse - np.sqrt(np.mean(a.se ** 2))) < 0.15  # RMSE close to the mean posterior SD
    with pytest.raises(ValueError, match="min_items <= max_items"):
        specs.simulate_cat(bank, min_items=9, max_items=5, se_target=0.3)


# ------------------------------------------------------------------------------------- waves
def test_local_times_are_stored_in_utc():
    for zone, hour in [("Asia/Jakarta", 7), ("Asia/Makassar", 8), ("Asia/Jayapura", 9)]:
        local = datetime(2026, 3, 2, hour, 0)
        assert waves.local_to_utc(local, zone) == datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc), zone
        assert waves.utc_to_local(datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc), zone) == local, zone


def _active_spec(make_competency, code="T.W1") -> int:
    comp = make_competency(code, "mc", n=5)
    spec = specs.create_spec(spec_input(SectionInput(comp, "fixed", n_items=5), code=f"SP-{code}"))
    assert specs.activate(spec)["ok"]
    db.session.commit()
    return spec.id


def test_create_wave_in_wita_and_its_rules(ctx, make_competency, make_agency):
    spec_id = _active_spec(make_competency)
    other = make_agency(cluster=2)
    data = WaveInput(code="G1", name="Gelombang 1", spec_id=spec_id, timezone="Asia/Makassar",
                     opens_local=datetime(2026, 3, 2, 8, 0), closes_local=datetime(2026, 3, 9, 16, 0), cluster=1)
    wave = waves.create_wave(data)
    assert wave.opens_at == datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
    assert wave.closes_at == datetime(2026, 3, 9, 8, 0, tzinfo=timezone.utc)
    bad = WaveInput(code="g1", name="", spec_id=None, timezone="Asia/Makassar", agency_ids=[other.id], cluster=1,
                    opens_local=datetime(2026, 3, 2, 8, 0), closes_local=datetime(2026, 3, 2, 8, 0))
    with pytest.raises(WaveError) as caught:
        waves.create_wave(bad)
    assert {name for name, _m in caught.value.problems} == {"code", "name", "spec_id", "closes_at", "agency_ids"}
    inactive = TestSpec(code="OFF", name="off", time_limit_minutes=10)
    db.session.add(inactive)
    db.session.flush()
    bad = WaveInput(code="G2", name="x", spec_id=inactive.id, opens_local=datetime(2026, 3, 2, 8, 0),
                    closes_local=datetime(2026, 3, 3, 8, 0))
    with force_locale("en"), pytest.raises(WaveError, match="Only an active test specification"):
        waves.create_wave(bad)


# ------------------------------------------------------------------------------------- enrolment files
@pytest.fixture
def enrol_setup(ctx, make_user, make_competency, make_agency, make_wave):
    comp = make_competency("T.E1", "mc", n=5)
    wave_id = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}])
    people = [make_user("participant") for _ in range(3)]
    staff = make_user("admin", nip="198001012005011001")  # staff may carry a NIP; they are not participants
    return {"wave": db.session.get(Wave, wave_id), "people": people, "staff": staff}


def _enrolled(wave_id) -> int:
    return db.session.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.wave_id == wave_id))


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_good_csv_enrols_everyone_with_bom_and_semicolons(enrol_setup):
    wave, people = enrol_setup["wave"], enrol_setup["people"]
    body = "\ufeffNIP;extra_minutes;nama\n" + "\n".join(
        f"{p.nip};{15 if i == 0 else ''};{p.name}" for i, p in enumerate(people)) + "\n\n"
    result = waves.enroll_file(wave, "daftar.csv", body.encode("utf-8"))
    assert (result.added, result.updated, result.unchanged) == (3, 0, 0)
    rows = {e.user_id: e for e in db.session.execute(select(Enrollment).where(Enrollment.wave_id == wave.id)).scalars()}
    assert rows[people[0].id].extra_minutes == 15 and rows[people[1].id].extra_minutes == 0
    assert {e.source for e in rows.values()} == {"upload"}
    # Again with a change of accommodation: nobody added, one updated.
    again = waves.enroll_file(wave, "daftar.csv", f"nip,extra_minutes\n{people[1].nip},30\n".encode())
    assert (again.added, again.updated, again.unchanged) == (0, 1, 0)


def test_every_bad_row_is_reported_and_nothing_is_written(enrol_setup):
    wave, people = enrol_setup["wave"], enrol_setup["people"]
    inactive = people[2]
    db.session.execute(db.update(User).where(User.id == inactive.id).values(is_active_account=False))
    rows = [
        "nip,extra_minutes",
        f"{people[0].nip},10",            # 2: fine
        "19850714201001100,",             # 3: 17 digits
        "198507142010011003,",            # 4: valid NIP, nobody has it
        "198001012005011001,",            # 5: a staff account
        f"{people[0].nip},",              # 6: duplicate of row 2
        f"{people[1].nip},-5",            # 7: negative minutes
        f"{people[1].nip}x,abc",          # 8: NIP with a letter, minutes not a number
        f"{inactive.nip},",               # 9: deactivated
        "19851314201001100 3,",           # 10: a month 13 (spaces are removed first)
        f"{people[1].nip},1000",          # 11: too many minutes
    ]
    with force_locale("en"), pytest.raises(EnrolmentFileError) as caught:
        waves.enroll_file(wave, "x.csv", "\n".join(rows).encode())
    with force_locale("en"):
        got = [(p.row, p.column, str(p.message)) for p in caught.value.problems]
    assert got == [
        (3, "nip", "NIP must be exactly 18 digits (found 17)."),
        (4, "nip", "No account has this NIP."),
        (5, "nip", "This account is not a participant."),
        (6, "nip", "This NIP is already in row 2."),
        (7, "extra_minutes", "Extra minutes must be a whole number of 0 or more."),
        (8, "nip", "NIP must contain digits only."),
        (8, "extra_minutes", "Extra minutes must be a whole number of 0 or more."),
        (9, "nip", "This participant's account is deactivated."),
        (10, "nip", "The birth date in the NIP (digits 1-8) is not a real date."),
        (11, "nip", "This NIP is already in row 7."),
        (11, "extra_minutes", "Extra minutes cannot be more than 600."),
    ]
    assert _enrolled(wave.id) == 0


def test_xlsx_formulas_and_numeric_nips_are_refused(enrol_setup):
    wave, people = enrol_setup["wave"], enrol_setup["people"]
    data = _xlsx([["nip", "extra_minutes"], [people[0].nip, 5], ["=A2", None], [people[1].nip, "=2*5"],
                  [int(people[2].nip), None], [None, None], [people[2].nip, 7.0]])
    with force_locale("en"), pytest.raises(EnrolmentFileError) as caught:
        waves.enroll_file(wave, "x.xlsx", data)
    with force_locale("en"):
        got = [(p.row, p.column, str(p.message)[:30]) for p in caught.value.problems]
    assert got == [(3, "nip", "Formulas are not allowed; ente"), (4, "extra_minutes", "Formulas are not allowed; ente"),
                   (5, "nip", "The NIP is stored as a number,")]
    assert _enrolled(wave.id) == 0
    good = waves.enroll_file(wave, "x.xlsx", _xlsx([["NIP", "Extra_Minutes"]] + [[p.nip, 7.0] for p in people]))
    assert good.added == 3
    assert {e.extra_minutes for e in db.session.execute(select(Enrollment)).scalars()} == {7}


NOT_ENROLMENT_FILES = [
    ("x.pdf", b"%PDF-1.4", "The file is not a CSV or XLSX spreadsheet."),
    ("x.xlsx", b"nip\n1\n", "The file is not a CSV or XLSX spreadsheet."),
    ("x.xlsx", b"PK\x03\x04garbage", "The file is not a CSV or XLSX spreadsheet."),
    ("x.csv", b"nip\n\xff\xfe1\n", "The CSV file is not UTF-8 text."),
    ("x.csv", b"\x00\x01binary", "The file is not a CSV or XLSX spreadsheet."),
    ("x.csv", b"", "The file is empty."),
    ("x.csv", b"name,unit\nBudi,1\n", "The first row must name the columns"),
    ("x.csv", b"nip\n\n", "The file has no NIPs below the header."),
    ("x.csv", b"nip\n" + b"1" * (2 * 1024 * 1024), "The file is larger than 2 MB"),
]


def test_files_that_are_not_enrolment_spreadsheets(ctx, make_competency, make_wave):
    wave = db.session.get(Wave, make_wave([{"competency_id": make_competency("T.E2", "mc", n=5), "method": "fixed"}]))
    for name, data, message in NOT_ENROLMENT_FILES:
        with force_locale("en"), pytest.raises(EnrolmentFileError) as caught:
            waves.enroll_file(wave, name, data)
        with force_locale("en"):
            assert str(caught.value.problems[0].message).startswith(message), (name, data[:20])
    assert _enrolled(wave.id) == 0


# ------------------------------------------------------------------------------------- monitoring
def test_counts_per_agency_come_from_one_grouped_query(ctx, make_agency, make_user, make_competency, make_wave):
    a1, a2 = make_agency(code="AGA"), make_agency(code="AGB")
    users = [make_user("participant", agency=a1) for _ in range(4)] + [make_user("participant", agency=a2) for _ in range(2)]
    comp = make_competency("T.M1", "mc", n=5)
    wave_id = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}], users=users)
    now = utcnow()
    for user, status, deadline in [(users[0], "in_progress", 30), (users[1], "submitted", 30),
                                   (users[2], "in_progress", -30), (users[4], "expired", -30)]:
        db.session.add(Attempt(wave_id=wave_id, user_id=user.id, status=status, form={"sections": []},
                               deadline_at=now + timedelta(minutes=deadline)))
    db.session.add(Attempt(wave_id=wave_id, user_id=users[1].id, number=0, status="void", form={},
                           deadline_at=now))
    db.session.flush()
    wave = db.session.get(Wave, wave_id)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        rows = waves.agency_counts(wave)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    by_code = {r["code"]: r for r in rows}
    assert {k: by_code["AGA"][k] for k in ("enrolled", "started", "in_progress", "overdue", "submitted", "expired")} == \
        {"enrolled": 4, "started": 3, "in_progress": 2, "overdue": 1, "submitted": 1, "expired": 0}
    assert (by_code["AGB"]["enrolled"], by_code["AGB"]["started"], by_code["AGB"]["expired"]) == (2, 1, 1)
    assert waves.totals(rows)["enrolled"] == 6


def test_stuck_attempts_are_those_silent_for_n_minutes(ctx, make_user, make_competency, make_wave):
    users = [make_user("participant") for _ in range(3)]
    comp = make_competency("T.M2", "mc", n=5)
    wave_id = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}], users=users)
    now = utcnow()
    for user, seen in zip(users, (3, 15, 45)):
        db.session.add(Attempt(wave_id=wave_id, user_id=user.id, form={"sections": []},
                               deadline_at=now + timedelta(hours=1), last_seen_at=now - timedelta(minutes=seen)))
    db.session.flush()
    wave = db.session.get(Wave, wave_id)
    assert [a.user_id for a in db.session.execute(waves.stuck_query(wave, 10)).scalars()] == [users[2].id, users[1].id]
    assert [a.user_id for a in db.session.execute(waves.stuck_query(wave, 30)).scalars()] == [users[2].id]
    assert [e.user_id for e in db.session.execute(
        waves.participants_query(wave, status="stuck", stuck_minutes=30)).scalars()] == [users[2].id]


# ------------------------------------------------------------------------------------- interventions
def _attempt(make_user, make_competency, make_wave, status="in_progress", minutes=30, code="T.X1"):
    user = make_user("participant")
    admin = make_user("admin")
    comp = make_competency(code, "mc", n=5)
    wave_id = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}], users=[user])
    form = {"current": 1 if status == "submitted" else 0, "sections": [
        {"competency_id": comp, "method": "fixed", "layout": "item", "state": "done" if status == "submitted" else "active",
         "items": []}]}
    attempt = Attempt(wave_id=wave_id, user_id=user.id, status=status, form=form,
                      deadline_at=utcnow() + timedelta(minutes=minutes),
                      submitted_at=None if status == "in_progress" else utcnow())
    db.session.add(attempt)
    db.session.flush()
    return attempt, db.session.get(User, admin.id)


def test_extend_moves_the_deadline_and_is_audited(ctx, make_user, make_competency, make_wave):
    attempt, admin = _attempt(make_user, make_competency, make_wave)
    before = attempt.deadline_at
    new = waves.extend_attempt(attempt, 15, "Listrik padam di lokasi", actor=admin)
    assert new == before + timedelta(minutes=15) == attempt.deadline_at
    ev = db.session.execute(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id)).scalar_one()
    assert ev.kind == "admin_extend" and ev.detail["minutes"] == 15 and ev.detail["reason"] == "Listrik padam di lokasi"
    log = db.session.execute(select(AuditLog).where(AuditLog.action == "attempt.extend")).scalar_one()
    assert log.actor_id == admin.id and log.target_id == str(attempt.id)
    # A deadline already past: the extension counts from now.
    attempt.deadline_at = utcnow() - timedelta(minutes=20)
    db.session.flush()
    assert waves.extend_attempt(attempt, 10, "Tersendat lama", actor=admin) > utcnow() + timedelta(minutes=9)
    with pytest.raises(WaveError):
        waves.extend_attempt(attempt, 0, "alasan cukup")
    with pytest.raises(WaveError):
        waves.extend_attempt(attempt, 5, "")


def test_extend_refuses_closed_attempts_and_reopen_refuses_live_ones(ctx, make_user, make_competency, make_wave):
    closed, admin = _attempt(make_user, make_competency, make_wave, status="submitted")
    live, _admin = _attempt(make_user, make_competency, make_wave, code="T.X2")
    with force_locale("en"):
        with pytest.raises(WaveError, match="reopen a closed attempt instead"):
            waves.extend_attempt(closed, 10, "alasan panjang", actor=admin)
        with pytest.raises(WaveError, match="Only an expired or submitted attempt"):
            waves.reopen_attempt(live, 10, "alasan panjang", actor=admin)
    assert db.session.scalar(select(func.count()).select_from(AttemptEvent)) == 0


def test_reopen_a_submitted_attempt_deletes_its_scores(ctx, make_user, make_competency, make_wave):
    attempt, admin = _attempt(make_user, make_competency, make_wave, status="submitted")
    comp_id = attempt.form["sections"][0]["competency_id"]
    db.session.add(Score(attempt_id=attempt.id, competency_id=comp_id, theta=0.1, se=0.5, level=3, n_items=5))
    db.session.flush()
    new = waves.reopen_attempt(attempt, 20, "Peserta salah tekan kirim", actor=admin)
    assert attempt.status == "in_progress" and attempt.submitted_at is None
    assert abs((new - utcnow()).total_seconds() - 20 * 60) < 5
    assert attempt.form["current"] == 0 and attempt.form["sections"][0]["state"] == "active"
    assert db.session.scalar(select(func.count()).select_from(Score).where(Score.attempt_id == attempt.id)) == 0
    ev = db.session.execute(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id)).scalar_one()
    assert ev.kind == "admin_reopen" and ev.detail["from_status"] == "submitted"
    assert db.session.execute(select(AuditLog).where(AuditLog.action == "attempt.reopen")).scalar_one().actor_id == admin.id
    with pytest.raises(WaveError):
        waves.reopen_attempt(attempt, 20, "sudah terbuka")  # in progress now
