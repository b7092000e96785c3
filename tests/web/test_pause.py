"""An admin pauses a running test (one attempt, or a wave or one agency's part of it) and resumes
it: the clock stands still, nothing is saved, submitted or expired meanwhile, and the paused time is
given back; each change is an attempt event and an audit row."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import flag_modified

from assess.extensions import db
from assess.models import Attempt, AttemptEvent, AuditLog, utcnow
from tests.web.test_delivery import form_of, save, start, stored


@pytest.fixture
def running(app, make_user, make_agency, make_competency, make_wave, login, client):
    """Two participants of two agencies with a test running, the first signed in on ``client``."""
    comp = make_competency("Q.01", "mc", n=4)
    first_agency, other_agency = make_agency("AGA"), make_agency("AGB")
    first = make_user("participant", agency=first_agency)
    second = make_user("participant", agency=other_agency)
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 4}], users=[first, second], minutes=30)
    login(first)
    attempt = start(client, wave)
    other_client = app.test_client()
    login(second, c=other_client)
    other = start(other_client, wave)
    admin_client = app.test_client()
    login(make_user("admin"), c=admin_client)
    return {"wave": wave, "attempt": attempt, "other": other, "other_client": other_client,
            "admin": admin_client, "agency": first_agency}


def _attempt(app, attempt_id: int) -> Attempt:
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        db.session.expunge(attempt)
        return attempt


def _kinds(app, attempt_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(AttemptEvent.kind).where(AttemptEvent.attempt_id == attempt_id)
                                       .order_by(AttemptEvent.id)).scalars())


def _pause_started(app, attempt_id: int, minutes_ago: int) -> None:
    """Pretend the pause began ``minutes_ago`` (the deadline keeps its distance to the pause)."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        shift = timedelta(minutes=minutes_ago)
        attempt.paused_at -= shift
        attempt.deadline_at -= shift
        db.session.commit()


def test_a_paused_attempt_keeps_its_time_refuses_writes_and_does_not_expire(app, client, runner, running):
    attempt_id, admin = running["attempt"], running["admin"]
    url = f"/admin/waves/{running['wave']}/attempts/{attempt_id}"
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    assert save(client, attempt_id, {"item": item, "choice": 1, "seq": 1}).status_code == 200
    assert "Jeda tes" in admin.get(url).get_data(as_text=True)
    assert admin.post(f"{url}/pause", data={"reason": ""}).status_code == 302  # a reason is required
    assert _attempt(app, attempt_id).paused_at is None
    assert admin.post(f"{url}/pause", data={"reason": "Listrik padam di ruang ujian"}).status_code == 302
    paused = _attempt(app, attempt_id)
    assert paused.paused_at is not None
    left = (paused.deadline_at - paused.paused_at).total_seconds()

    # Twenty minutes pass: the deadline is behind the wall clock, but the attempt's clock stands.
    _pause_started(app, attempt_id, 20)
    clock = client.get(f"/api/attempts/{attempt_id}/clock").get_json()
    assert clock["status"] == "in_progress" and clock["paused"] is True
    assert abs(clock["remaining_ms"] / 1000 - left) < 2
    assert "Closed and scored 0" in runner.invoke(args=["attempts", "expire"]).output
    refused = save(client, attempt_id, {"item": item, "choice": 2, "seq": 2})
    assert refused.status_code == 409 and refused.get_json()["error"] == "paused"
    assert "menjeda tes Anda" in refused.get_json()["message"]
    assert stored(app, attempt_id)[item][1] == 1
    client.post(f"/me/attempts/{attempt_id}/submit")
    assert _attempt(app, attempt_id).status == "in_progress"
    page = client.get(f"/me/attempts/{attempt_id}/s/0/q/0").get_data(as_text=True)
    assert 'data-paused="1"' in page and 'disabled data-time-up="1"' in page
    assert 'id="pause-notice" class="alert alert-info mt-2"' in page  # shown, not d-none

    # Resume: the deadline moves by the paused time; saving works again.
    assert admin.post(f"{url}/resume", data={"reason": ""}).status_code == 302
    resumed = _attempt(app, attempt_id)
    assert resumed.paused_at is None
    assert abs((resumed.deadline_at - utcnow()).total_seconds() - left) < 3
    assert save(client, attempt_id, {"item": item, "choice": 2, "seq": 2}).status_code == 200
    assert client.get(f"/api/attempts/{attempt_id}/clock").get_json()["paused"] is False
    assert _kinds(app, attempt_id)[-2:] == ["admin_pause", "admin_resume"]
    events = admin.get(url).get_data(as_text=True)
    assert "dijeda oleh admin" in events and "dilanjutkan oleh admin" in events and "memulai tes" in events
    with app.app_context():
        actions = db.session.execute(select(AuditLog.action).where(AuditLog.action.like("attempt.%")).order_by(AuditLog.id)).scalars().all()
        assert actions == ["attempt.pause", "attempt.resume"]
        event = db.session.execute(select(AttemptEvent).where(AttemptEvent.kind == "admin_resume")).scalar_one()
        assert 1195 <= event.detail["paused_seconds"] <= 1205


def test_pausing_twice_or_after_the_deadline_is_refused(app, client, running):
    from assess.services import waves as wave_service
    from assess.services.waves import WaveError

    with app.app_context():
        attempt = db.session.get(Attempt, running["attempt"])
        wave_service.pause_attempt(attempt, "cek identitas peserta")
        db.session.commit()
        with pytest.raises(WaveError):
            wave_service.pause_attempt(attempt, "cek identitas peserta")
        other = db.session.get(Attempt, running["other"])
        with pytest.raises(WaveError):
            wave_service.resume_attempt(other)  # not paused
        db.session.execute(update(Attempt).where(Attempt.id == other.id).values(deadline_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        other = db.session.get(Attempt, running["other"])
        with pytest.raises(WaveError):
            wave_service.pause_attempt(other, "terlambat dijeda")


def test_a_wave_pause_for_one_agency_leaves_the_others_running_and_resume_gives_time_back(app, client, running):
    admin, wave = running["admin"], running["wave"]
    response = admin.post(f"/admin/waves/{wave}/pause", data={"agency": str(running["agency"].id),
                                                              "reason": "Jaringan kantor terputus", "pause": "1"})
    assert response.status_code == 302
    assert _attempt(app, running["attempt"]).paused_at is not None
    assert _attempt(app, running["other"]).paused_at is None
    view = admin.get(f"/admin/waves/{wave}").get_data(as_text=True)
    assert "dijeda" in view
    paused_only = admin.get(f"/admin/waves/{wave}?status=paused").get_data(as_text=True)
    assert paused_only.count('href="/admin/waves/%d/attempts/' % wave) == 1
    before = _attempt(app, running["attempt"]).deadline_at
    _pause_started(app, running["attempt"], 7)
    assert admin.post(f"/admin/waves/{wave}/pause", data={"agency": "", "resume": "1"}).status_code == 302
    after = _attempt(app, running["attempt"])
    assert after.paused_at is None
    assert abs((after.deadline_at - before).total_seconds()) < 3  # 7 minutes back: the same distance to now
    with app.app_context():
        actions = db.session.execute(select(AuditLog.action).where(AuditLog.action.like("wave.%")).order_by(AuditLog.id)).scalars().all()
        assert actions == ["wave.pause", "wave.resume"]


def test_resuming_moves_the_current_parts_own_deadline_too(app, client, make_user, make_competency, make_wave, login):
    from assess.services import waves as wave_service

    comp = make_competency("Q.02", "mc", n=3)
    person = make_user("participant")
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3, "time_limit_minutes": 5}],
                     users=[person], minutes=30)
    login(person)
    attempt_id = start(client, wave)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        part = datetime.fromisoformat(attempt.form["sections"][0]["deadline"])
        wave_service.pause_attempt(attempt, "pemeriksaan ruangan")
        attempt.paused_at -= timedelta(minutes=10)
        attempt.deadline_at -= timedelta(minutes=10)
        attempt.form["sections"][0]["deadline"] = (part - timedelta(minutes=10)).isoformat()
        flag_modified(attempt, "form")
        db.session.commit()
    # Paused with the part's time behind the wall clock: nothing moves on.
    assert client.get(f"/api/attempts/{attempt_id}/clock").get_json()["section"] == 0
    with app.app_context():
        wave_service.resume_attempt(db.session.get(Attempt, attempt_id))
        db.session.commit()
    form = form_of(app, attempt_id)
    assert abs((datetime.fromisoformat(form["sections"][0]["deadline"]) - part).total_seconds()) < 3
    clock = client.get(f"/api/attempts/{attempt_id}/clock").get_json()
    assert clock["section"] == 0 and clock["scope"] == "section" and 290_000 <= clock["remaining_ms"] <= 300_000


def test_a_wave_pause_and_resume_write_every_attempts_event_and_audit_row(app, make_user, make_competency,
                                                                          make_wave, login):
    """The set-based wave pause/resume leaves what pausing attempt by attempt left: the clock of each
    (and of its current part) stood still, an event and an audit row each with the figures."""
    from assess.models import Wave
    from assess.services import waves as wave_service

    comp = make_competency("Q.03", "mc", n=3)
    people = [make_user("participant") for _ in range(3)]
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3, "time_limit_minutes": 5}],
                     users=people, minutes=30)
    ids = []
    for person in people:
        c = app.test_client()
        login(person, c=c)
        ids.append(start(c, wave))
    with app.app_context():  # the third one submitted already: not paused
        db.session.execute(update(Attempt).where(Attempt.id == ids[2]).values(status="submitted"))
        db.session.commit()
        admin = make_user("admin")
        parts = {i: datetime.fromisoformat(db.session.get(Attempt, i).form["sections"][0]["deadline"]) for i in ids[:2]}
        versions = {i: db.session.get(Attempt, i).row_version for i in ids[:2]}
        assert wave_service.pause_wave(db.session.get(Wave, wave), "Listrik padam", actor=admin) == 2
        db.session.commit()
        # the version counter moved: a request holding the attempt from before cannot overwrite the pause
        assert {i: db.session.get(Attempt, i).row_version for i in ids[:2]} == {i: v + 1 for i, v in versions.items()}
        for i in ids[:2]:  # ten minutes pass while paused
            attempt = db.session.get(Attempt, i)
            attempt.paused_at -= timedelta(minutes=10)
            attempt.deadline_at -= timedelta(minutes=10)
            attempt.form["sections"][0]["deadline"] = (parts[i] - timedelta(minutes=10)).isoformat()
            flag_modified(attempt, "form")
        db.session.commit()
        assert db.session.get(Attempt, ids[2]).paused_at is None
        versions = {i: db.session.get(Attempt, i).row_version for i in ids[:2]}
        assert wave_service.resume_wave(db.session.get(Wave, wave), actor=admin) == 2
        db.session.commit()
        assert {i: db.session.get(Attempt, i).row_version for i in ids[:2]} == {i: v + 1 for i, v in versions.items()}
        for i in ids[:2]:
            attempt = db.session.get(Attempt, i)
            assert attempt.paused_at is None
            part = datetime.fromisoformat(attempt.form["sections"][0]["deadline"])
            assert abs((part - parts[i]).total_seconds()) < 3  # the part's clock got its ten minutes back
            events = {e.kind: e.detail for e in db.session.execute(
                select(AttemptEvent).where(AttemptEvent.attempt_id == i)).scalars()}
            assert events["admin_pause"]["reason"] == "Listrik padam" and events["admin_pause"]["by"] == admin.login_name
            assert 290 <= events["admin_pause"]["remaining_seconds"] <= 300  # the part's 5 minutes, not the test's 30
            assert 598 <= events["admin_resume"]["paused_seconds"] <= 602
            audits = db.session.execute(select(AuditLog).where(AuditLog.target_type == "attempts",
                                                               AuditLog.target_id == str(i))).scalars().all()
            assert {a.action for a in audits} >= {"attempt.pause", "attempt.resume"}
            assert all(a.actor_id == admin.id for a in audits if a.action.startswith("attempt.p"))
            assert {a.detail["wave_id"] for a in audits if a.action in ("attempt.pause", "attempt.resume")} == {wave}
        assert not db.session.execute(select(AttemptEvent).where(AttemptEvent.attempt_id == ids[2],
                                                                 AttemptEvent.kind.like("admin_%"))).first()


def test_a_wave_resume_that_meets_a_change_made_meanwhile_resumes_nothing(app, make_user, make_competency,
                                                                        make_wave, login, monkeypatch):
    from assess.models import Wave
    from assess.services import delivery
    from assess.services import waves as wave_service
    from assess.services.waves import WaveError

    comp = make_competency("Q.04", "mc", n=3)
    people = [make_user("participant") for _ in range(2)]
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3}], users=people)
    ids = []
    for person in people:
        c = app.test_client()
        login(person, c=c)
        ids.append(start(c, wave))
    with app.app_context():
        assert wave_service.pause_wave(db.session.get(Wave, wave), "Gangguan jaringan") == 2
        db.session.commit()
        real = delivery.section_deadline_of
        calls = []

        def another_admin_resumes_the_second(form):  # runs after the read, before the writes
            if not calls:
                db.session.execute(update(Attempt).where(Attempt.id == ids[1]).values(paused_at=None))
            calls.append(1)
            return real(form)

        monkeypatch.setattr(delivery, "section_deadline_of", another_admin_resumes_the_second)
        with pytest.raises(WaveError):
            wave_service.resume_wave(db.session.get(Wave, wave))
        monkeypatch.setattr(delivery, "section_deadline_of", real)
        assert db.session.get(Attempt, ids[0]).paused_at is not None  # rolled back: still paused
        assert not db.session.execute(select(AttemptEvent).where(AttemptEvent.kind == "admin_resume")).first()
        assert wave_service.resume_wave(db.session.get(Wave, wave)) == 2  # the admin reloads and tries again


def test_the_attempt_page_shows_event_details_in_the_waves_time(app, running):
    """A resume's new deadline reads as local time (WIB), not as a stored UTC string."""
    attempt_id, admin = running["attempt"], running["admin"]
    url = f"/admin/waves/{running['wave']}/attempts/{attempt_id}"
    assert admin.post(f"{url}/pause", data={"reason": "Pemeriksaan ruangan"}).status_code == 302
    assert admin.post(f"{url}/resume", data={}).status_code == 302
    html = admin.get(url).get_data(as_text=True)
    detail = html[html.index("new_deadline</span>: "):][:80]
    assert "WIB" in detail and "+00:00" not in html
