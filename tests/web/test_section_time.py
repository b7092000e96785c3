"""Per-part time limits: a part's clock starts when it is entered, the server closes the part when
its time runs out (saved answers kept, later ones refused), the next part begins, and the last part
running out expires and scores the attempt. Also: a wave whose spec was deactivated cannot start."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import flag_modified

from assess.extensions import db
from assess.models import Attempt, AttemptEvent, Enrollment, Response, Score, TestSpec, Wave, utcnow
from tests.web.test_delivery import form_of, save, start, stored


@pytest.fixture
def timed(app, make_user, make_competency, make_wave, login, client):
    """Two fixed parts with their own limits (5 and 10 minutes) in a 30-minute test."""
    a = make_competency("P.01", "mc", n=4)
    b = make_competency("P.02", "mc", n=4)
    user = make_user("participant")
    wave = make_wave([
        {"competency_id": a, "method": "fixed", "n_items": 4, "time_limit_minutes": 5},
        {"competency_id": b, "method": "fixed", "n_items": 4, "time_limit_minutes": 10},
    ], users=[user], minutes=30)
    login(user)
    return {"user": user, "wave": wave}


def _deadline(form: dict, index: int) -> datetime:
    return datetime.fromisoformat(form["sections"][index]["deadline"])


def _backdate_part(app, attempt_id: int, seconds: int) -> None:
    """Move the current part's deadline ``seconds`` into the past."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        section = attempt.form["sections"][attempt.form["current"]]
        section["deadline"] = (utcnow() - timedelta(seconds=seconds)).isoformat()
        flag_modified(attempt, "form")
        db.session.commit()


def _events(app, attempt_id: int, kind: str) -> list[dict]:
    with app.app_context():
        return list(db.session.execute(select(AttemptEvent.detail).where(
            AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind == kind)).scalars())


def test_a_parts_clock_starts_when_it_is_entered_and_is_shown(app, client, timed):
    before = utcnow()
    attempt_id = start(client, timed["wave"])
    form = form_of(app, attempt_id)
    first = _deadline(form, 0)
    assert timedelta(minutes=5) - timedelta(seconds=5) <= first - before <= timedelta(minutes=5, seconds=5)
    assert "deadline" not in form["sections"][1]  # the second part's clock has not started
    clock = client.get(f"/api/attempts/{attempt_id}/clock").get_json()
    assert clock["scope"] == "section" and clock["section"] == 0
    assert 290_000 <= clock["remaining_ms"] <= 300_000
    assert 1_790_000 <= clock["test_remaining_ms"] <= 1_800_000
    page = client.get(f"/me/attempts/{attempt_id}/s/0/q/0").get_data(as_text=True)
    assert "Sisa waktu bagian ini" in page and 'id="test-timer"' in page
    timer = int(re.search(r'id="timer"[^>]*data-remaining="(\d+)"', page).group(1))
    assert 290 <= timer <= 300
    instructions = client.get(f"/me/waves/{timed['wave']}/start").get_data(as_text=True)
    assert "batas waktu sendiri: 5 menit" in instructions


def test_when_a_parts_time_runs_out_the_server_moves_on_and_keeps_saved_answers(app, client, timed):
    attempt_id = start(client, timed["wave"])
    items = [e["item_id"] for e in form_of(app, attempt_id)["sections"][0]["items"]]
    assert save(client, attempt_id, {"item": items[0], "choice": 1, "seq": 1}).status_code == 200
    _backdate_part(app, attempt_id, 5)  # within the grace period: saves on their way still count
    assert save(client, attempt_id, {"item": items[1], "choice": 2, "seq": 1}).status_code == 200
    _backdate_part(app, attempt_id, 60)
    late = save(client, attempt_id, {"item": items[2], "choice": 0, "seq": 1})
    assert late.status_code == 409
    body = late.get_json()
    assert body["error"] == "section_time_up" and "Waktu untuk bagian ini habis" in body["message"]
    moved = form_of(app, attempt_id)  # the refused save did not roll the move back
    assert moved["current"] == 1 and moved["sections"][0]["timed_out"]
    # A retry of an answer saved in time is still acknowledged, not refused.
    retry = save(client, attempt_id, {"item": items[0], "choice": 1, "seq": 1})
    assert retry.status_code == 200 and retry.get_json()["acks"][0]["status"] == "stale"
    rows = stored(app, attempt_id)
    assert set(rows) == {items[0], items[1]}
    form = form_of(app, attempt_id)
    assert form["current"] == 1 and form["sections"][0]["timed_out"] and form["sections"][0]["state"] == "done"
    second = _deadline(form, 1)
    assert timedelta(minutes=10) - timedelta(seconds=10) <= second - utcnow() <= timedelta(minutes=10)
    assert _events(app, attempt_id, "section_time_up") == [{"section": 0}]
    clock = client.get(f"/api/attempts/{attempt_id}/clock").get_json()
    assert clock["section"] == 1 and clock["status"] == "in_progress"
    assert client.get(f"/me/attempts/{attempt_id}").location.endswith("/s/1/q/0")
    assert client.get(f"/me/attempts/{attempt_id}/s/0/q/0").location == f"/me/attempts/{attempt_id}"


def test_the_plain_form_after_the_parts_time_is_up_says_so_and_goes_to_the_next_part(app, client, timed):
    attempt_id = start(client, timed["wave"])
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    page = client.get(f"/me/attempts/{attempt_id}/s/0/q/0")
    assert page.status_code == 200
    _backdate_part(app, attempt_id, 60)
    # The page was open when time ran out; its POST reaches the server afterwards.
    response = client.post(f"/me/attempts/{attempt_id}/s/0/q/0", data={f"choice-{item}": "1", "action": "next"})
    assert response.status_code == 302
    assert item not in stored(app, attempt_id)
    follow = client.get(response.location, follow_redirects=True).get_data(as_text=True)
    assert "Waktu untuk bagian ini habis" in follow
    assert form_of(app, attempt_id)["current"] == 1


def test_section_review_does_not_finish_the_next_part_after_a_time_out(app, client, timed):
    attempt_id = start(client, timed["wave"])
    assert client.get(f"/me/attempts/{attempt_id}/s/0/review").status_code == 200
    _backdate_part(app, attempt_id, 60)
    response = client.post(f"/me/attempts/{attempt_id}/s/0/review", data={})
    assert response.status_code == 302
    form = form_of(app, attempt_id)
    assert form["current"] == 1 and form["sections"][1]["state"] == "active"


def test_when_the_last_parts_time_runs_out_the_attempt_expires_and_is_scored_once(app, client, timed):
    attempt_id = start(client, timed["wave"])
    first = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    assert save(client, attempt_id, {"item": first, "choice": 1, "seq": 1}).status_code == 200
    _backdate_part(app, attempt_id, 60)
    assert client.get(f"/api/attempts/{attempt_id}/clock").get_json()["section"] == 1
    _backdate_part(app, attempt_id, 60)
    clock = client.get(f"/api/attempts/{attempt_id}/clock").get_json()
    assert clock["status"] == "expired"
    assert client.get(f"/api/attempts/{attempt_id}/clock").get_json()["status"] == "expired"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Score).where(Score.attempt_id == attempt_id)) == 2
    assert _events(app, attempt_id, "section_time_up") == [{"section": 0}, {"section": 1}]
    assert len(_events(app, attempt_id, "expired")) == 1
    assert client.get(f"/me/attempts/{attempt_id}").location.endswith("/finished")


def test_a_save_that_finds_the_last_part_over_expires_the_attempt(app, client, timed):
    attempt_id = start(client, timed["wave"])
    _backdate_part(app, attempt_id, 60)
    client.get(f"/api/attempts/{attempt_id}/clock")
    item = form_of(app, attempt_id)["sections"][1]["items"][0]["item_id"]
    _backdate_part(app, attempt_id, 60)
    late = save(client, attempt_id, {"item": item, "choice": 0, "seq": 1})
    assert late.status_code == 409 and late.get_json()["error"] == "time_up"
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "expired"
        assert db.session.scalar(select(func.count()).select_from(Response).where(Response.attempt_id == attempt_id)) == 0


def test_extra_minutes_lengthen_each_timed_part_in_proportion_and_the_test_caps_a_part(app, client, timed, make_competency, make_wave, make_user, login):
    with app.app_context():
        enrollment = db.session.execute(select(Enrollment).where(Enrollment.wave_id == timed["wave"])).scalar_one()
        enrollment.extra_minutes = 15  # 30 + 15: half as much time again
        db.session.commit()
    before = utcnow()
    attempt_id = start(client, timed["wave"])
    form = form_of(app, attempt_id)
    assert form["sections"][0]["seconds"] == 450 and form["sections"][1]["seconds"] == 900
    assert abs((_deadline(form, 0) - before).total_seconds() - 450) < 5
    # A part's clock never runs past the whole test's deadline.
    comp = make_competency("P.03", "mc", n=3)
    other = make_user("participant")
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3, "time_limit_minutes": 20}],
                     users=[other], minutes=10)
    c2 = app.test_client()
    login(other, c=c2)
    capped = start(c2, wave)
    with app.app_context():
        attempt = db.session.get(Attempt, capped)
        assert _deadline(attempt.form, 0) == attempt.deadline_at
    assert c2.get(f"/api/attempts/{capped}/clock").get_json()["scope"] == "test"


def test_extending_time_moves_the_parts_clock_and_reopening_restarts_it(app, client, timed):
    from assess.services import waves as wave_service

    attempt_id = start(client, timed["wave"])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        old = _deadline(attempt.form, 0)
        wave_service.extend_attempt(attempt, 7, "gangguan listrik")
        db.session.commit()
        attempt = db.session.get(Attempt, attempt_id)
        assert _deadline(attempt.form, 0) - old == timedelta(minutes=7)
    _backdate_part(app, attempt_id, 60)
    client.get(f"/api/attempts/{attempt_id}/clock")
    _backdate_part(app, attempt_id, 60)
    assert client.get(f"/api/attempts/{attempt_id}/clock").get_json()["status"] == "expired"
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        wave_service.reopen_attempt(attempt, 12, "ujian terputus", section=0)
        db.session.commit()
    form = form_of(app, attempt_id)
    assert form["current"] == 0
    assert not any("deadline" in s or s.get("timed_out") for s in form["sections"])
    clock = client.get(f"/api/attempts/{attempt_id}/clock").get_json()
    assert clock["status"] == "in_progress" and clock["scope"] == "test"
    assert 700_000 <= clock["remaining_ms"] <= 720_000
    item = form["sections"][0]["items"][3]["item_id"]
    assert save(client, attempt_id, {"item": item, "choice": 0, "seq": 1}).status_code == 200


def test_a_part_limit_longer_than_the_whole_test_is_refused(app, make_competency):
    from assess.services import specs
    from assess.services.specs import SectionInput, SpecInput

    comp = make_competency("P.04", "mc", n=5)
    with app.app_context():
        with pytest.raises(specs.SpecError) as refused:
            specs.create_spec(SpecInput(code="LIM", name="Batas", time_limit_minutes=30, sections=[
                SectionInput(comp, "fixed", n_items=5, time_limit_minutes=45)]))
        assert [p.code for p in refused.value.problems] == ["part_time_limit"]
        assert refused.value.problems[0].field == "sections-0-time_limit"


def test_a_wave_whose_spec_was_deactivated_cannot_be_started_but_live_attempts_go_on(app, client, timed, make_user, login):
    attempt_id = start(client, timed["wave"])
    other = make_user("participant")
    with app.app_context():
        db.session.add(Enrollment(wave_id=timed["wave"], user_id=other.id))
        spec = db.session.get(Wave, timed["wave"]).spec
        db.session.get(TestSpec, spec.id).is_active = False
        db.session.commit()
    c2 = app.test_client()
    login(other, c=c2)
    refused = c2.post(f"/me/waves/{timed['wave']}/start", data={"consent": "y"})
    assert refused.status_code == 302
    assert "belum siap" in c2.get("/me/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == other.id)) == 0
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    assert save(client, attempt_id, {"item": item, "choice": 1, "seq": 1}).status_code == 200
