"""Parallel saves, submits, a pause and a part running out on PostgreSQL: exactly the right rows,
one score, no acknowledged answer lost.

SQLite serialises writers by design (and the in-memory test database is one shared connection),
so these run only when DATABASE_URL points at PostgreSQL, as in CI's second run.
"""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Attempt, AttemptEvent, Response, Score

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrency is tested on PostgreSQL (set DATABASE_URL)")


def _start(client, wave_id) -> int:
    response = client.post(f"/me/waves/{wave_id}/start", data={"consent": "y"})
    return int(re.search(r"/attempts/(\d+)", response.location).group(1))


@pytest.fixture
def running(app, make_user, make_wave, login):
    """Start a test with the given parts for a new participant; returns (attempt id, the
    session cookie of the live browser session, the first part's item ids)."""
    def factory(sections):
        user = make_user("participant")
        wave = make_wave(sections, users=[user])
        client = app.test_client()
        login(user, c=client)
        attempt_id = _start(client, wave)
        client.get(f"/me/attempts/{attempt_id}")  # claim the session
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
        with app.app_context():
            items = [e["item_id"] for e in db.session.get(Attempt, attempt_id).form["sections"][0]["items"]]
        return attempt_id, cookie, items

    return factory


def _run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_parallel_saves_and_two_parallel_submits(app, make_competency, running):
    comp = make_competency("P.01", "mc", n=12)
    attempt_id, cookie, items = running([{"competency_id": comp, "method": "fixed", "n_items": 12}])

    # The same browser session fires many saves at once: 12 items x 5 sequence numbers, shuffled.
    jobs = [(item, seq) for seq in range(1, 6) for item in items]
    jobs.reverse()
    acked, refused = _saves_in_parallel(app, attempt_id, cookie, jobs, threads=8)
    assert not refused, refused[:5]
    assert len(acked) == len(jobs)  # every save answered 200 with its acknowledgement
    with app.app_context():
        rows = db.session.execute(select(Response).where(Response.attempt_id == attempt_id)).scalars().all()
        assert len(rows) == 12
        assert all(r.seq == 5 for r in rows)  # the newest sequence won everywhere
        attempt = db.session.get(Attempt, attempt_id)
        assert all(r.choice == attempt.form["sections"][0]["items"][items.index(r.item_id)]["order"][5 % 4] for r in rows)
        attempt.form["current"] = 1
        from sqlalchemy.orm.attributes import flag_modified
        flag_modified(attempt, "form")
        db.session.commit()

    outcomes = []

    def submitter():
        c = app.test_client()
        c.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        outcomes.append(c.post(f"/me/attempts/{attempt_id}/submit").status_code)

    _run([threading.Thread(target=submitter) for _ in range(2)])
    assert outcomes == [302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Score).where(Score.attempt_id == attempt_id)) == 1
        assert db.session.scalar(select(func.count()).select_from(AttemptEvent).where(
            AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind == "submitted")) == 1
        score = db.session.execute(select(Score).where(Score.attempt_id == attempt_id)).scalar_one()
        assert score.n_items == 12


def _saves_in_parallel(app, attempt_id, cookie, jobs, threads=6, acked_event=None):
    """Fire (item, seq) saves from ``threads`` clients of one browser session; returns
    (acknowledged [(item, seq)], refused [(item, seq, status, error)]). ``acked_event`` is set
    once five saves have been acknowledged."""
    acked, refused = [], []

    def saver(batch):
        c = app.test_client()
        c.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        for item, seq in batch:
            r = c.post(f"/api/attempts/{attempt_id}/answers",
                       json={"answers": [{"item": item, "choice": seq % 4, "seq": seq}]})
            if r.status_code == 200:
                acked.extend((a["item"], a["seq"]) for a in r.get_json()["acks"])
                if acked_event is not None and len(acked) >= 5:
                    acked_event.set()
            else:
                refused.append((item, seq, r.status_code, (r.get_json() or {}).get("error")))

    _run([threading.Thread(target=saver, args=(jobs[i::threads],)) for i in range(threads)])
    return acked, refused


def _stored_seq(app, attempt_id) -> dict[int, int]:
    with app.app_context():
        return dict(db.session.execute(select(Response.item_id, Response.seq)
                                       .where(Response.attempt_id == attempt_id)).all())


@pytest.mark.parametrize("scope", ["attempt", "wave"])
def test_a_pause_amid_parallel_saves_loses_no_acknowledged_answer(app, make_competency, running, scope):
    """The same for one attempt's pause and for a whole wave's (one set-based UPDATE)."""
    from assess.models import Wave
    from assess.services import waves as wave_service

    def pause(attempt):
        if scope == "wave":
            assert wave_service.pause_wave(db.session.get(Wave, attempt.wave_id), "gangguan jaringan") == 1
        else:
            wave_service.pause_attempt(attempt, "gangguan jaringan")

    def resume(attempt):
        if scope == "wave":
            assert wave_service.resume_wave(db.session.get(Wave, attempt.wave_id)) == 1
        else:
            wave_service.resume_attempt(attempt)

    comp = make_competency("P.02", "mc", n=10)
    attempt_id, cookie, items = running([{"competency_id": comp, "method": "fixed", "n_items": 10}])
    jobs = [(item, seq) for seq in range(1, 9) for item in items]

    some_saved = threading.Event()

    def pause_midway():
        some_saved.wait(30)
        with app.app_context():
            pause(db.session.get(Attempt, attempt_id))
            db.session.commit()

    pauser = threading.Thread(target=pause_midway)
    pauser.start()
    acked, refused = _saves_in_parallel(app, attempt_id, cookie, jobs, acked_event=some_saved)
    pauser.join()
    stored = _stored_seq(app, attempt_id)
    assert all(stored.get(item, 0) >= seq for item, seq in acked)  # every acknowledgement holds
    assert {status for *_, status, _ in refused} <= {409} and {e for *_, e in refused} <= {"paused"}
    assert len(acked) + len(refused) == len(jobs)
    assert len(acked) >= 5 and refused  # the pause came in the middle of the stream
    with app.app_context():
        resume(db.session.get(Attempt, attempt_id))
        db.session.commit()
    # The page re-sends what was refused; afterwards every item holds its newest answer.
    acked_again, refused_again = _saves_in_parallel(app, attempt_id, cookie, [(i, s) for i, s, *_ in refused])
    assert not refused_again
    assert _stored_seq(app, attempt_id) == {item: 8 for item in items}


def test_a_part_running_out_amid_parallel_saves_moves_on_once(app, make_competency, running):
    from datetime import timedelta

    from sqlalchemy.orm.attributes import flag_modified

    from assess.models import utcnow

    comp = make_competency("P.03", "mc", n=10)
    other = make_competency("P.04", "mc", n=3)
    attempt_id, cookie, items = running([
        {"competency_id": comp, "method": "fixed", "n_items": 10, "time_limit_minutes": 5},
        {"competency_id": other, "method": "fixed", "n_items": 3}])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        # The part's deadline passes (with its grace period) while the saves are in flight.
        grace = app.config.get("DEADLINE_GRACE_SECONDS", 15)
        attempt.form["sections"][0]["deadline"] = (utcnow() - timedelta(seconds=grace) + timedelta(seconds=0.3)).isoformat()
        flag_modified(attempt, "form")
        db.session.commit()
    jobs = [(item, seq) for seq in range(1, 30) for item in items]
    acked, refused = _saves_in_parallel(app, attempt_id, cookie, jobs)
    stored = _stored_seq(app, attempt_id)
    assert all(stored.get(item, 0) >= seq for item, seq in acked)
    assert refused and {e for *_, e in refused} == {"section_time_up"}
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.form["current"] == 1 and attempt.status == "in_progress"
        assert db.session.scalar(select(func.count()).select_from(AttemptEvent).where(
            AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind == "section_time_up")) == 1
