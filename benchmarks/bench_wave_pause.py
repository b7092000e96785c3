"""Pausing and resuming a whole wave: N running tests in one admin request.

    .venv/bin/python benchmarks/bench_wave_pause.py --attempts 20000
    .venv/bin/python benchmarks/bench_wave_pause.py --pg postgresql://postgres@127.0.0.1:5432

Creates a fresh PostgreSQL database (dropped afterwards), migrates it, bulk-inserts N participants
with a test in progress (a 40-item part with its own clock, so resuming rewrites each form), then
times ``waves.pause_wave`` and ``waves.resume_wave`` as the admin's request calls them (commit
included) and checks that every attempt got its pause and resume events and audit rows.
No target in the issues; it should stay well inside gunicorn's 60-s request timeout.

Seen 2026-11-25 (2 cores, PostgreSQL 15): 20,000 attempts paused in 4.0 s and resumed in 9.4 s;
attempt by attempt, as before, it took 28.9 s and 37.2 s.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_talent_export import insert, make_app  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--attempts", type=int, default=20000)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = ap.parse_args(argv)
    base = args.pg.replace("postgresql://", "postgresql+psycopg://", 1).rstrip("/")
    name = f"assess_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        from flask_migrate import upgrade

        app = make_app(f"{base}/{name}")
        from assess.extensions import db
        from assess.models import Attempt, AttemptEvent, AuditLog, TestSpec, User, Wave, utcnow
        from assess.services import waves

        with app.app_context():
            upgrade()
            now, n = utcnow(), args.attempts
            wave = Wave(code="B-1", name="Benchmark", spec=TestSpec(code="B", name="B", time_limit_minutes=90),
                        opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1))
            db.session.add(wave)
            db.session.flush()
            form = {"current": 0, "sections": [{"items": [{"item_id": i, "order": [0, 1, 2, 3]} for i in range(40)],
                                                "deadline": (now + timedelta(minutes=40)).isoformat()}]}
            insert(db, User.__table__, [dict(id=10 + i, role="participant", nip=f"198507142010{i:06d}", name=f"P {i}",
                                             password_hash="!", session_token=f"s{i}", is_active_account=True,
                                             created_at=now) for i in range(n)])
            insert(db, Attempt.__table__, [dict(id=10 + i, wave_id=wave.id, user_id=10 + i, number=1,
                                                status="in_progress", started_at=now, form=form, position=0,
                                                deadline_at=now + timedelta(minutes=80), row_version=1)
                                           for i in range(n)])
            db.session.commit()
            wave_id = wave.id
            for label, step in (("pause", lambda w: waves.pause_wave(w, "Listrik padam")),
                                ("resume", waves.resume_wave)):
                db.session.remove()
                t = time.perf_counter()
                done = step(db.session.get(Wave, wave_id))
                db.session.commit()
                print(f"{label}: {done:,} attempts in {time.perf_counter() - t:.2f} s", flush=True)
            events = db.session.scalar(sa.select(sa.func.count()).select_from(AttemptEvent))
            audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                                       .where(AuditLog.target_type == "attempts"))
            paused = db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)
                                       .where(Attempt.paused_at.is_not(None)))
            ok = events == audits == 2 * n and paused == 0
            print(f"check: {events:,} events, {audits:,} audit rows, {paused} still paused: {'OK' if ok else 'WRONG'}")
            db.session.remove()
            db.engine.dispose()
        return 0 if ok else 1
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
