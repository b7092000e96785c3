"""Parallel saves and submits on PostgreSQL: exactly the right rows and one score.

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


def _run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_parallel_saves_and_two_parallel_submits(app, make_user, make_competency, make_wave, login):
    comp = make_competency("P.01", "mc", n=12)
    user = make_user("participant")
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 12}], users=[user])
    client = app.test_client()
    login(user, c=client)
    attempt_id = _start(client, wave)
    client.get(f"/me/attempts/{attempt_id}")  # claim the session
    with app.app_context():
        items = [e["item_id"] for e in db.session.get(Attempt, attempt_id).form["sections"][0]["items"]]

    # The same browser session fires many saves at once: 12 items x 5 sequence numbers, shuffled.
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    jobs = [(item, seq) for seq in range(1, 6) for item in items]
    jobs.reverse()
    results, errors = [], []

    def saver(batch):
        c = app.test_client()
        c.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        for item, seq in batch:
            r = c.post(f"/api/attempts/{attempt_id}/answers",
                       json={"answers": [{"item": item, "choice": seq % 4, "seq": seq}]})
            (results if r.status_code == 200 else errors).append((item, seq, r.status_code))

    _run([threading.Thread(target=saver, args=(jobs[i::8],)) for i in range(8)])
    assert not errors, errors[:5]
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
