"""Background jobs on Redis (RQ): long work that must not hold a web request.

Today that is the talent map for large volumes (180,000 people take about a minute and a half on
PostgreSQL). The web process enqueues; a worker started with ``flask --app wsgi jobs worker``
runs the job in its own application context and reports progress in the job's meta, which the
job page shows. Without ``REDIS_URL`` (or below ``TALENT_INLINE_LIMIT`` participants) the work
runs inside the request as before.
"""
from __future__ import annotations

from typing import Optional

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, get_current_job
from rq.job import Job
from rq.exceptions import NoSuchJobError

DEFAULT_QUEUE = "assess"
TALENT_LOCK_KEY = "talent-compute-job"
PROGRESS_EVERY = 5_000


def connection() -> Optional[Redis]:
    url = current_app.config.get("REDIS_URL") or ""
    return Redis.from_url(url) if url else None


def queue() -> Optional[Queue]:
    """The job queue, or None when no Redis is configured."""
    conn = connection()
    if conn is None:
        return None
    return Queue(current_app.config.get("JOBS_QUEUE") or DEFAULT_QUEUE, connection=conn)


def _lock_key(q: Queue) -> str:
    return f"{q.name}:{TALENT_LOCK_KEY}"


def running_talent_job() -> Optional[Job]:
    """The talent computation that is queued or running, if any."""
    q = queue()
    if q is None:
        return None
    job_id = q.connection.get(_lock_key(q))
    if not job_id:
        return None
    job = fetch(job_id.decode())
    if job is None or job.get_status(refresh=True) in ("finished", "failed", "stopped", "canceled"):
        return None
    return job


def enqueue_talent_compute(settings_id: int, wave_id: Optional[int], actor_id: Optional[int]) -> Job:
    """Queue a talent computation (one at a time: a running one is returned instead)."""
    q = queue()
    if q is None:
        raise RuntimeError("REDIS_URL is not set: no job queue")
    running = running_talent_job()
    if running is not None:
        return running
    job = q.enqueue(run_talent_compute, settings_id, wave_id, actor_id, job_timeout=3600, result_ttl=7 * 24 * 3600,
                    failure_ttl=7 * 24 * 3600, meta={"kind": "talent_compute", "done": 0, "total": None,
                                                      "wave_id": wave_id})
    q.connection.set(_lock_key(q), job.id, ex=3600)
    return job


def fetch(job_id: str) -> Optional[Job]:
    q = queue()
    if q is None:
        return None
    try:
        return Job.fetch(job_id, connection=q.connection)
    except NoSuchJobError:
        return None


def run_talent_compute(settings_id: int, wave_id: Optional[int], actor_id: Optional[int]) -> dict:
    """The job: compute the talent map and return its summary (in the worker's app context)."""
    if has_app_context():
        return _talent_compute(settings_id, wave_id, actor_id)
    from assess import create_app

    with create_app().app_context():
        return _talent_compute(settings_id, wave_id, actor_id)


def _talent_compute(settings_id: int, wave_id: Optional[int], actor_id: Optional[int]) -> dict:
    from assess.extensions import db
    from assess.models import TalentSettings, User
    from assess.services import audit, talent

    job = get_current_job()
    state = {"reported": 0}

    def progress(done: int, total: int) -> None:
        if job is not None and (done - state["reported"] >= PROGRESS_EVERY or done == total):
            job.meta.update(done=done, total=total)
            job.save_meta()
            state["reported"] = done

    try:
        settings = db.session.get(TalentSettings, settings_id)
        actor = db.session.get(User, actor_id) if actor_id is not None else None
        report = talent.compute(settings, wave_id=wave_id, progress=progress)
        audit.record("talent.compute", actor=actor, actor_label=None if actor else "job", target=settings,
                     detail={"version": settings.version, "wave": wave_id, "participants": report.participants,
                             "created": report.created, "updated": report.updated, "background": True})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"version": settings.version, "participants": report.participants, "no_box": report.no_box,
            "created": report.created, "updated": report.updated}
