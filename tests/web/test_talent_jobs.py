"""The talent map of many people is computed by a background worker (RQ on Redis), not inside the
admin's request: the page queues the job and shows its progress; the worker places everyone."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import AuditLog, TalentPlacement, TalentSettings
from tests.talent_helpers import add_attempt, good_scores, make_agency, make_bank, make_participant, make_wave

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def job_queue(app, monkeypatch):
    """A private queue on the local Redis; skipped without Redis unless CI requires it."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except RedisError:
        if os.environ.get("ASSESS_REQUIRE_REDIS"):
            pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL} and ASSESS_REQUIRE_REDIS is set")
        pytest.skip(f"Redis is not reachable at {REDIS_TEST_URL}")
    name = f"assess-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", name)
    monkeypatch.setitem(app.config, "TALENT_INLINE_LIMIT", 2)
    yield name
    conn = Redis.from_url(REDIS_TEST_URL)
    for key in list(conn.scan_iter(f"*{name}*")):
        conn.delete(key)


@pytest.fixture
def people(app):
    with app.app_context():
        comp = make_bank()
        agency = make_agency("KEMENJ", 1, priority=1)
        wave = make_wave()
        for i in range(4):
            person = make_participant(agency, name=f"Peserta {i}", job_level="pengawas")
            add_attempt(person, wave, good_scores(level=3, theta=0.2 * i), comp)
        db.session.commit()


def test_a_large_computation_is_queued_and_a_worker_places_everyone(app, client, make_user, login, job_queue, people):
    from assess.services import jobs

    admin = make_user("admin")
    login(admin)
    queued = client.post("/admin/talent/compute", data={"wave": ""})
    assert queued.status_code == 302 and "/admin/talent/jobs/" in queued.location
    with app.app_context():
        assert db.session.scalar(select(func.count(TalentPlacement.id))) == 0  # nothing done in the request
    page = client.get(queued.location).get_data(as_text=True)
    assert 'data-status="queued"' in page and 'http-equiv="refresh"' in page
    # Asking again while it waits gives the same job, not a second one.
    assert client.post("/admin/talent/compute", data={"wave": ""}).location == queued.location
    with app.app_context():
        assert jobs.queue().count == 1
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])  # what operators run
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert jobs.queue().count == 0
        settings = db.session.execute(select(TalentSettings)).scalar_one()
        placements = db.session.execute(select(TalentPlacement)).scalars().all()
        assert len(placements) == 4 and {p.settings_id for p in placements} == {settings.id}
        log = db.session.execute(select(AuditLog).where(AuditLog.action == "talent.compute")).scalar_one()
        assert log.actor_id == admin.id and log.detail["background"] is True and log.detail["participants"] == 4
    done = client.get(queued.location).get_data(as_text=True)
    assert 'data-status="finished"' in done and "4 peserta" in done and 'http-equiv="refresh"' not in done
    # Once it is done, a new request queues a new job.
    again = client.post("/admin/talent/compute", data={"wave": ""})
    assert again.location != queued.location


def test_below_the_limit_or_without_redis_the_request_computes_at_once(app, client, make_user, login, people,
                                                                      monkeypatch):
    login(make_user("admin"))
    monkeypatch.setitem(app.config, "TALENT_INLINE_LIMIT", 2)
    monkeypatch.setitem(app.config, "REDIS_URL", "")  # no queue: in the request, as before
    response = client.post("/admin/talent/compute", data={"wave": ""})
    assert response.status_code == 302 and "/admin/talent/jobs/" not in response.location
    with app.app_context():
        assert db.session.scalar(select(func.count(TalentPlacement.id))) == 4


def test_a_job_page_is_for_admins_and_unknown_jobs_are_404(app, client, make_user, login, job_queue):
    login(make_user("admin"))
    assert client.get("/admin/talent/jobs/0f0f0f0f-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/admin/talent/jobs/not a job").status_code == 404


def test_an_unreachable_queue_falls_back_to_computing_in_the_request(app, client, make_user, login, people,
                                                                     monkeypatch):
    login(make_user("admin"))
    monkeypatch.setitem(app.config, "TALENT_INLINE_LIMIT", 2)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    response = client.post("/admin/talent/compute", data={"wave": ""}, follow_redirects=True)
    assert response.status_code == 200 and "antrean tugas tidak dapat dihubungi" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(TalentPlacement.id))) == 4
