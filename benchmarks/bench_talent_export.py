"""Talent-map export benchmark: 180,000 people to XLSX and CSV within 30 s and 500 MB.

Run from the repository root::

    .venv/bin/python benchmarks/bench_talent_export.py                   # temporary SQLite file
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/bench_talent_export.py                # a fresh PostgreSQL database
    .venv/bin/python benchmarks/bench_talent_export.py --people 20000 --formats csv

It migrates an empty database (a temporary SQLite file, or with DATABASE_URL a new database
``assess_bench_<random>`` on that server, dropped afterwards), inserts synthetic data with bulk
inserts (80 agencies in the five clusters, 4 units each, N participants with valid NIPs, one
finished attempt each with 6 competency scores, SKP ratings for 90 %), computes the placements with
the production service (``talent.compute``, timed too), then runs each export in a fresh Python
process, exactly as ``flask talent export`` does (same service functions), and prints its wall
time and peak memory: the process's peak resident set size (VmHWM on Linux, else
``resource.getrusage``), i.e. everything the export process holds, interpreter and libraries
included. ``--tracemalloc`` also
reports the Python heap peak (tracing slows the run several times, so times are then not
comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS, TARGET_MB = 30.0, 500.0
CHUNK = 20_000
COMPETENCIES = [("managerial", "M.01"), ("managerial", "M.02"), ("sociocultural", "SK.01"),
                ("digital", "DL.01"), ("emerging", "ES.01"), ("berakhlak", "BA.01")]
JOBS = ["pelaksana"] * 5 + ["pengawas"] * 3 + ["administrator"] * 2 + ["ahli_pertama"] * 3 + ["ahli_muda"] * 3 + \
       ["ahli_madya"] + ["jpt_pratama"]


def make_app(url: str):
    from config import TestingConfig

    from assess import create_app

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        RATELIMIT_ENABLED = False

    return create_app(Config)


def insert(db, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[start:start + CHUNK])


def build(url: str, people: int, seed: int) -> dict:
    """Migrate and fill the database; returns timings."""
    from flask_migrate import upgrade

    from assess.extensions import db
    from assess.models import (
        Agency, Attempt, Battery, Competency, PerformanceRating, Score, TestSpec, Unit, User, Wave, utcnow,
    )
    from assess.services import talent

    rng = random.Random(seed)
    app = make_app(url)
    timings = {}
    with app.app_context():
        t0 = time.perf_counter()
        upgrade()
        timings["migrate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        batteries = {}
        for position, code in enumerate(dict.fromkeys(b for b, _ in COMPETENCIES)):
            batteries[code] = Battery(code=code, name_id=code.title(), name_en=code.title(), position=position)
            db.session.add(batteries[code])
        comps = []
        for position, (battery, code) in enumerate(COMPETENCIES):
            comp = Competency(code=code, name_id=f"Kompetensi {code}", name_en=code, item_type="mc",
                              irt_model="2pl", battery=batteries[battery], position=position)
            db.session.add(comp)
            comps.append(comp)
        spec = TestSpec(code="BENCH", name="Benchmark", time_limit_minutes=90)
        now = utcnow()
        wave = Wave(code="BENCH-1", name="Benchmark", spec=spec, opens_at=now - timedelta(days=30),
                    closes_at=now + timedelta(days=30))
        db.session.add(wave)
        units = []
        for a in range(80):
            agency = Agency(code=f"AG{a:03d}", name=f"Instansi Sintetis {a:03d}", kind="kementerian",
                            cluster=1 + a % 5, priority=1 + a // 5)
            for u in range(4):
                agency.units.append(Unit(code=f"U{u}", name=f"Unit Kerja {u} Instansi {a:03d}",
                                         cluster=(1 + (a + 1) % 5) if u == 3 and a % 7 == 0 else None,
                                         priority=1 if u == 0 else None))
            db.session.add(agency)
        db.session.flush()
        units = [(u.id, u.agency_id) for u in db.session.execute(db.select(Unit).order_by(Unit.id)).scalars()]
        comp_ids = [c.id for c in comps]
        wave_id = wave.id
        user_base = (db.session.scalar(db.select(db.func.max(User.id))) or 0) + 1
        attempt_base = (db.session.scalar(db.select(db.func.max(Attempt.id))) or 0) + 1
        users, attempts, scores, ratings = [], [], [], []
        first_names = ["Agus", "Ayu", "Budi", "Dewi", "Eko", "Fitri", "Made", "Nur", "Putu", "Rina", "Siti", "Wahyu"]
        last_names = ["Saputra", "Siregar", "Nasution", "Wijaya", "Lubis", "Pratama", "Hidayat", "Sinaga", "Harahap"]
        when = now - timedelta(days=2)
        for i in range(people):
            birth = date(1965, 1, 1) + timedelta(days=i // 999)
            sex = 1 + i % 2
            nip = f"{birth:%Y%m%d}{birth.year + 23}{1 + i % 12:02d}{sex}{i % 999 + 1:03d}"
            unit_id, agency_id = units[i % len(units)]
            uid, aid = user_base + i, attempt_base + i
            users.append(dict(id=uid, role="participant", nip=nip, name=f"{rng.choice(first_names)} {rng.choice(last_names)} {i}",
                              password_hash="!", agency_id=agency_id, unit_id=unit_id, job_level=rng.choice(JOBS),
                              position="Analis Kebijakan", session_token=f"b{i}", is_active_account=True, created_at=now))
            attempts.append(dict(id=aid, wave_id=wave_id, user_id=uid, number=1, status="submitted", started_at=when,
                                 deadline_at=when + timedelta(hours=2), submitted_at=when, scored_at=when, form={},
                                 position=0, row_version=1))
            ability = rng.gauss(0, 1)
            for cid in comp_ids:
                theta = 0.7 * ability + 0.7 * rng.gauss(0, 1)
                level = 1 + sum(theta >= c for c in (-1.5, -0.5, 0.5, 1.5))
                scores.append(dict(attempt_id=aid, competency_id=cid, theta=theta, se=0.35, method="eap",
                                   level=level, n_items=10, item_versions=[], scored_at=when))
            if i % 10:
                z = 0.5 * ability + 0.85 * rng.gauss(0, 1)
                ratings.append(dict(user_id=uid, year=2025, imported_at=now,
                                    predikat="sangat_baik" if z > 0.9 else "baik" if z > -1.0 else "butuh_perbaikan"))
        insert(db, User.__table__, users)
        insert(db, Attempt.__table__, attempts)
        insert(db, Score.__table__, scores)
        insert(db, PerformanceRating.__table__, ratings)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        timings["insert"] = time.perf_counter() - t0
        timings["rows"] = {"users": len(users), "attempts": len(attempts), "scores": len(scores), "ratings": len(ratings)}
        t0 = time.perf_counter()
        report = talent.compute(talent.ensure_settings(), batch_size=2000)
        db.session.commit()
        timings["compute"] = time.perf_counter() - t0
        timings["placements"] = report.participants
        db.session.remove()
        db.engine.dispose()
    return timings


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    Linux: VmHWM of /proc/self/status, the high-water mark of this program's own memory. (The
    ru_maxrss of getrusage survives execve, so a child started by a big parent would report the
    parent's size.) Elsewhere: ru_maxrss.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale / 1024


def export_child(url: str, fmt: str, out: str, trace: bool) -> None:
    """Run one export in this (fresh) process and print a JSON line with its figures."""
    if trace:
        import tracemalloc

        tracemalloc.start()
    app = make_app(url)
    with app.app_context():
        from flask_babel import force_locale

        from assess.services import exports
        from assess.services.talent_reports import Filters, settings_for

        with force_locale("id"):
            t0, c0 = time.perf_counter(), time.process_time()
            filters = Filters()
            settings = settings_for(filters)
            rows = exports.count_people(filters, settings.id)
            if fmt == "csv":
                with open(out, "wb") as handle:
                    for chunk in exports.csv_chunks(filters, settings):
                        handle.write(chunk)
            else:
                exports.write_xlsx(out, filters, settings)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    result = {"format": fmt, "rows": rows, "seconds": seconds, "cpu_seconds": cpu, "bytes": os.path.getsize(out), "maxrss_mb": peak_rss_mb()}
    if trace:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(result))


def check_xlsx(out: str, rows: int) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(out, read_only=True)
    sheet = workbook[workbook.sheetnames[-1]]
    n = sum(1 for _ in sheet.iter_rows(values_only=True)) - 1
    workbook.close()
    return f"person sheet rows {n} {'= ' if n == rows else '!= '}{rows}, {len(workbook.sheetnames)} sheets"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=180_000)
    ap.add_argument("--formats", nargs="+", default=["xlsx", "csv"], choices=["xlsx", "csv"])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--tracemalloc", action="store_true", help="also report the Python heap peak (slow)")
    ap.add_argument("--keep", action="store_true", help="keep the database and the exported files")
    ap.add_argument("--child", nargs=3, metavar=("URL", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        export_child(*args.child, trace=args.tracemalloc)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="bench_talent_"))
    server = os.environ.get("DATABASE_URL")
    cleanup = []  # drops the temporary PostgreSQL database
    if server:
        import sqlalchemy as sa

        base = server.replace("postgresql://", "postgresql+psycopg://", 1) if server.startswith("postgresql://") else server
        name = f"assess_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = base.rsplit("/", 1)[0] + "/" + name

        def drop_database():
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

        cleanup.append(drop_database)
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    print(f"database: {url.split('@')[-1]}", flush=True)
    failures = []
    try:
        timings = build(url, args.people, args.seed)
        print(f"built {timings['rows']} in {timings['insert']:.1f} s (migrations {timings['migrate']:.1f} s); "
              f"talent.compute placed {timings['placements']} in {timings['compute']:.1f} s", flush=True)
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        for fmt in args.formats:
            out = str(workdir / f"talent.{fmt}")
            command = [sys.executable, __file__, "--child", url, fmt, out] + (["--tracemalloc"] if args.tracemalloc else [])
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
            process_seconds = time.perf_counter() - started
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                failures.append(f"{fmt}: the export failed")
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            extra = f", Python heap peak {result['tracemalloc_peak_mb']:.0f} MB" if "tracemalloc_peak_mb" in result else ""
            print(f"{fmt:>4}: {result['rows']} people in {result['seconds']:.1f} s, CPU {result['cpu_seconds']:.1f} s "
                  f"(process {process_seconds:.1f} s incl. "
                  f"start-up), peak RSS {result['maxrss_mb']:.0f} MB{extra}, file {result['bytes'] / 2**20:.1f} MB", flush=True)
            if fmt == "xlsx":
                print(f"      check: {check_xlsx(out, result['rows'])}", flush=True)
            if result["seconds"] > TARGET_SECONDS and not args.tracemalloc:
                failures.append(f"{fmt}: {result['seconds']:.1f} s > {TARGET_SECONDS:.0f} s")
            if result["maxrss_mb"] > TARGET_MB:
                failures.append(f"{fmt}: {result['maxrss_mb']:.0f} MB > {TARGET_MB:.0f} MB")
    finally:
        if not args.keep:
            for step in cleanup:
                step()
        if not args.keep:
            for path in workdir.iterdir():
                path.unlink()
            workdir.rmdir()
        else:
            print(f"kept: {workdir}" + (f" and {url.split('@')[-1]}" if server else ""))
    print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
