"""Load benchmark of test delivery: N participants sit a test against gunicorn + PostgreSQL.

    .venv/bin/python benchmarks/load_delivery.py --users 200 --duration 120 [--workers N]

What it does, all on this machine:

1. creates a fresh PostgreSQL database (``--pg``, default postgres@127.0.0.1:5432, trust auth),
   runs the migrations (``flask --app wsgi db upgrade``) and imports ``item_bank/``
   (``flask --app wsgi bank import item_bank``);
2. seeds the demo agencies and units, N participants with valid NIPs that share one precomputed
   scrypt hash (one bulk insert, not N × scrypt), a test spec and an open wave with every
   participant enrolled. The spec: M.01 (situational judgement, a fixed form) and DL.01 (multiple
   choice, a random form), both with layout "section" (every item of the part on one page, saved
   through the JSON autosave API), ``--items`` items in all (20), then an adaptive DL.03 part of
   ``--cat`` items (5; 0 leaves it out), one item per page;
3. starts gunicorn (``gunicorn -c gunicorn.conf.py wsgi:app``, production configuration, a random
   SECRET_KEY, plain http, sign-in throttling shared through Redis, the per-address sign-in limit
   raised because every simulated participant comes from 127.0.0.1);
4. runs ``benchmarks/locustfile_delivery.py`` headless: each locust user is one participant who
   signs in, starts, answers every item with a think time, sometimes changes an answer, reviews,
   submits and sees the finished page (see that file); the run ends when every participant has
   finished, or after ``--duration`` seconds;
5. stops gunicorn and checks the database against every acknowledgement the users received: for
   each acknowledged save the stored ``seq`` of (attempt, item) must be at least the acknowledged
   one, and where it is equal the stored choice must be the acknowledged one (the page shows
   options shuffled: stored choice = ``form`` entry ``order[displayed]``); every stored row must
   be one of that participant's own saves;
6. prints participants, duration, saves and saves per second, p50/p95/p99 latency of the save
   endpoint (also after the last sign-in) and of page loads, a timeline, every endpoint, errors by
   type, gunicorn's log (statuses, tracebacks), the CPU used by gunicorn, PostgreSQL and locust,
   the check, idempotency violations and the attempts and scores; then drops the database
   (``--keep-db`` keeps it).

Think time: 2-8 s per item (``--think``), plus sign-in, instructions and review pauses. So that a
participant finishes within ``--duration``, every think time is scaled down when needed
(``--think-scale``, printed). Exit status 1 when an acknowledged answer is missing or wrong.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile_delivery.py"
SAVE = "POST /api/attempts/[id]/answers"
PASSWORD = "beban-uji-2026"  # noqa: S105 - a throwaway database's participants

SECTION_PLAN = [  # (competency, method): the first takes what it can, the second the rest
    ("M.01", "fixed"),
    ("DL.01", "random"),
]
CAT_COMPETENCY = "DL.03"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------- database
def admin_connect(pg: str):
    import psycopg

    return psycopg.connect(pg.rstrip("/") + "/postgres", autocommit=True)


def create_database(pg: str, name: str) -> str:
    with admin_connect(pg) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg.rstrip('/')}/{name}"


def drop_database(pg: str, name: str) -> None:
    with admin_connect(pg) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flask_cli(args: list[str], env: dict) -> None:
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"flask {' '.join(args)} failed")


def make_app(url: str):
    """The application object for seeding and checking (development config, this database)."""
    os.environ["DATABASE_URL"] = url
    os.environ["ASSESS_CONFIG"] = "development"
    sys.path.insert(0, str(ROOT))
    from assess import create_app
    from config import DevelopmentConfig

    DevelopmentConfig.SQLALCHEMY_DATABASE_URI = url
    return create_app(DevelopmentConfig)


def seed(app, n_users: int, n_items: int, n_cat: int, minutes: int) -> tuple[list[str], int]:
    """Agencies, participants (one shared hash), the test spec, an open wave, enrolments."""
    from sqlalchemy import func, insert, select
    from werkzeug.security import generate_password_hash

    from assess.extensions import db
    from assess.models import (
        JOB_LEVELS, Competency, Enrollment, Item, TestSection, TestSpec, User, Wave, utcnow,
    )
    from assess.services import demo
    from assess.services.accounts import new_session_token
    from assess.services.identity import make_nip

    rng = random.Random(20260424)
    with app.app_context():
        agencies = demo.seed_agencies(demo.SeedReport())
        db.session.flush()
        places = [(a.id, u.id) for a in agencies.values() for u in a.units]
        password_hash = generate_password_hash(PASSWORD, method="scrypt")
        levels = list(JOB_LEVELS)
        rows, nips = [], []
        for i in range(n_users):
            birth = date(1970, 1, 1) + timedelta(days=i % 9000)
            sex = 1 + i % 2
            nip = make_nip(birth, birth.year + 22 + i % 5, 1 + i % 12, sex, 1 + i // 9000)
            agency_id, unit_id = places[i % len(places)]
            nips.append(nip)
            rows.append(dict(role="participant", nip=nip, name=f"Peserta Uji Beban {i + 1}",
                             password_hash=password_hash, agency_id=agency_id, unit_id=unit_id,
                             job_level=rng.choice(levels), birth_date=birth, sex=sex,
                             session_token=new_session_token(), is_active_account=True))
        db.session.execute(insert(User), rows)

        comps = {c.code: c for c in db.session.execute(select(Competency)).scalars()}
        pool = dict(db.session.execute(
            select(Item.competency_id, func.count()).where(Item.status == "operational")
            .group_by(Item.competency_id)).all())
        spec = TestSpec(code="LOAD-BENCH", name="Uji beban penyajian tes", time_limit_minutes=minutes,
                        shuffle_options=True, is_active=True,
                        instructions="Uji beban: jawab setiap soal, lalu kirim.")
        left = n_items
        for position, (code, method) in enumerate(SECTION_PLAN):
            available = pool.get(comps[code].id, 0)
            take = min(left, available) if position < len(SECTION_PLAN) - 1 else left
            if take > available:
                raise SystemExit(f"--items {n_items} is more than the bank's operational items "
                                 f"of {', '.join(c for c, _ in SECTION_PLAN)}")
            if take <= 0:
                continue
            spec.sections.append(TestSection(competency_id=comps[code].id, position=len(spec.sections),
                                             method=method, n_items=take, settings={"layout": "section"}))
            left -= take
        if n_cat:
            spec.sections.append(TestSection(
                competency_id=comps[CAT_COMPETENCY].id, position=len(spec.sections), method="cat",
                min_items=n_cat, max_items=n_cat, se_target=0.01, settings={"layout": "item"}))
        now = utcnow()
        wave = Wave(code="LOAD-GEL", name="Gelombang uji beban", spec=spec, cluster=None,
                    opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1),
                    timezone="Asia/Jakarta", show_scores=False, targets={})
        db.session.add(wave)
        db.session.flush()
        ids = db.session.execute(select(User.id).where(User.role == "participant")).scalars().all()
        db.session.execute(insert(Enrollment), [dict(wave_id=wave.id, user_id=u, source="manual") for u in ids])
        db.session.commit()
        return nips, len(spec.sections)


# ------------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base: str, proc, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up; see its log")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz")


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes (those that have gone count as 0)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def server_pids(gunicorn, pg: str, db_name: str) -> tuple[list[int], list[int]]:
    """gunicorn's master and workers; the PostgreSQL backends connected to the benchmark database."""
    import psutil

    web = [gunicorn.pid] + [p.pid for p in psutil.Process(gunicorn.pid).children(recursive=True)]
    with admin_connect(pg) as conn:
        backends = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db_name,))]
    return web, backends


def stop(proc, sig=signal.SIGTERM, timeout: float = 40) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# ------------------------------------------------------------------------------- figures
def pct(values, qs=(50, 95, 99)):
    import numpy as np

    if not len(values):
        return [float("nan")] * len(qs)
    return [float(v) for v in np.percentile(np.asarray(values, dtype=float), qs)]


def latency_table(samples: dict) -> list[tuple]:
    rows = []
    for name, entries in sorted(samples.items(), key=lambda kv: -len(kv[1])):
        ms = [e[1] for e in entries]
        p50, p95, p99 = pct(ms)
        rows.append((name, len(ms), sum(1 for e in entries if not e[2]), p50, p95, p99, max(ms)))
    return rows


def is_page(name: str, entry: list) -> bool:
    """A page load: a GET of an HTML page that answered 200 (not a redirect hop, not the API)."""
    return name.startswith("GET ") and "/api/" not in name and entry[3] == 200


def check_database(app, users: list[dict]) -> dict:
    """Compare every acknowledgement with the responses table."""
    from sqlalchemy import text

    from assess.extensions import db

    with app.app_context():
        attempts = {row.id: row for row in db.session.execute(text(
            "SELECT a.id, a.status, a.form, u.nip FROM attempts a JOIN users u ON u.id = a.user_id"))}
        stored: dict[int, dict[int, tuple]] = defaultdict(dict)  # attempt -> item -> (seq, choice)
        for r in db.session.execute(text("SELECT attempt_id, item_id, seq, choice FROM responses")):
            stored[r.attempt_id][r.item_id] = (r.seq, r.choice)
        statuses = Counter(row.status for row in attempts.values())
        n_scores = db.session.execute(text("SELECT count(*) FROM scores")).scalar()
        incomplete = db.session.execute(text(
            "SELECT count(*) FROM attempts a WHERE a.status IN ('submitted', 'expired') AND "
            "(SELECT count(*) FROM scores s WHERE s.attempt_id = a.id) <> "
            "(SELECT count(*) FROM test_sections t JOIN waves w ON w.spec_id = t.spec_id "
            " WHERE w.id = a.wave_id)")).scalar()
        levels = dict(db.session.execute(text(
            "SELECT level, count(*) FROM scores GROUP BY level ORDER BY level")).all())
    out = Counter()
    problems = []
    lost_pairs = set()
    for user in users:
        attempt_id = user.get("attempt")
        if attempt_id is None:
            continue
        row = attempts.get(attempt_id)
        if row is None or row.nip != user["nip"]:
            out["attempt_missing"] += 1
            problems.append(f"attempt {attempt_id} of {user['nip']} is not in the database")
            continue
        order = {e["item_id"]: e["order"] for s in row.form["sections"] for e in s["items"]}
        sent = {(item, seq): choice for item, seq, choice, _kind in user["sent"]}
        mine = stored.get(attempt_id, {})
        for item, sent_seq, ack_seq, status, kind in user["acks"]:
            out["acks"] += 1
            out[f"acks_{kind}"] += 1
            have = mine.get(item)
            if have is None or have[0] < ack_seq:
                out["lost"] += 1
                lost_pairs.add((attempt_id, item))
                problems.append(f"LOST attempt {attempt_id} item {item}: acknowledged seq {ack_seq} "
                                f"({kind}), stored {have}")
                continue
            if status == "saved" and have[0] == ack_seq:
                expected = order[item][sent[(item, sent_seq)]]
                if have[1] != expected:
                    out["wrong_choice"] += 1
                    problems.append(f"WRONG attempt {attempt_id} item {item} seq {ack_seq}: stored "
                                    f"choice {have[1]}, acknowledged {expected}")
        # Stronger: whatever is stored must be one of this participant's own saves, mapped.
        for item, (seq, choice) in mine.items():
            out["stored_rows"] += 1
            if (item, seq) not in sent:
                out["stored_unknown_seq"] += 1
                problems.append(f"UNKNOWN attempt {attempt_id} item {item}: stored seq {seq} was never sent")
            elif choice != order[item][sent[(item, seq)]]:
                out["stored_wrong_choice"] += 1
                problems.append(f"WRONG attempt {attempt_id} item {item} seq {seq}: stored {choice}")
    out["lost_answers"] = len(lost_pairs)
    out["pairs_acknowledged"] = len({(u["attempt"], a[0]) for u in users if u.get("attempt") for a in u["acks"]})
    return {"counts": dict(out), "problems": problems, "statuses": dict(statuses),
            "scores": n_scores, "scored_incomplete": incomplete, "levels": levels}


def scan_gunicorn_log(path: Path) -> dict:
    text_ = path.read_text(encoding="utf-8", errors="replace")
    statuses = Counter()
    for match in re.finditer(r'" (\d{3}) (?:\d+|-) "', text_):
        statuses[match.group(1)] += 1
    tracebacks = []
    lines = text_.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or lines[j].startswith("\t")):
                j += 1
            tracebacks.append("\n".join(lines[max(0, i - 1): j + 1]))
    return {"statuses": dict(statuses), "tracebacks": tracebacks,
            "timeouts": text_.count("WORKER TIMEOUT"), "errors": text_.count("[ERROR]")}


# ------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200, help="simulated participants (200)")
    parser.add_argument("--duration", type=float, default=120, help="run time limit in seconds (120)")
    parser.add_argument("--ramp", type=float, help="seconds over which participants arrive "
                        "(default: duration / 6, at most 30)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py, 2 × cores + 1)")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (default: gunicorn.conf.py, 4)")
    parser.add_argument("--items", type=int, default=20, help="items in the two section-layout parts (20)")
    parser.add_argument("--cat", type=int, default=5, help="items of the adaptive part; 0: none (5)")
    parser.add_argument("--think", default="2,8", help="think time per item, min,max seconds (2,8)")
    parser.add_argument("--think-scale", default="auto",
                        help="multiply every think time by this; auto: fit a sitting in the duration")
    parser.add_argument("--p-change", type=float, default=0.15, help="chance to change an answer (0.15)")
    parser.add_argument("--retry-users", type=float, default=0.2,
                        help="share of participants who re-send saves: duplicates and late old saves (0.2)")
    parser.add_argument("--race", type=float, default=0.3,
                        help="share of pages posted while the last autosave is in flight (0.3)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432",
                        help="PostgreSQL server (a database is created and dropped there)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--run-dir", type=Path, help="logs and raw results (default: a new /tmp dir)")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON here")
    args = parser.parse_args(argv)

    ramp = args.ramp if args.ramp is not None else min(30.0, args.duration / 6)
    think = tuple(float(x) for x in args.think.split(","))
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="assess-load-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    n_parts = len(SECTION_PLAN)
    # One sitting at scale 1: sign-in 5.5 s, home 2, instructions 10, items, reviews 3.5, confirm 2.
    # The last arrival should finish with time to spare: about 10 s of server time per sitting
    # (some 60 requests), and the sum of the think times within 70 % of what is left.
    per_item = sum(think) / 2 + args.p_change * 2
    sitting = 5.5 + 2 + 10 + (args.items + args.cat) * per_item + 3.5 * n_parts + 2
    if args.think_scale == "auto":
        scale = min(1.0, max(0.05, (0.7 * (args.duration - ramp) - 10) / sitting))
    else:
        scale = float(args.think_scale)
    minutes = int(max(60, args.duration / 60 * 2 + 30))

    load = os.getloadavg()
    log(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    try:
        import redis

        redis.Redis.from_url(args.redis_url).ping()
    except Exception as error:  # noqa: BLE001
        raise SystemExit(f"Redis at {args.redis_url} is not reachable: {error}") from None

    db_name = f"assess_load_{os.getpid()}_{secrets.token_hex(3)}"
    gunicorn = locust = app = None
    url = create_database(args.pg, db_name)
    try:
        t = time.time()
        env = {**os.environ, "DATABASE_URL": url, "ASSESS_CONFIG": "development"}
        flask_cli(["db", "upgrade"], env)
        flask_cli(["bank", "import", "item_bank"], env)
        app = make_app(url)
        nips, n_sections = seed(app, args.users, args.items, args.cat, minutes)
        log(f"database {db_name}: migrated, bank imported, {len(nips)} participants, "
            f"{n_sections} parts ({args.items} items on section pages + {args.cat} adaptive) "
            f"in {time.time() - t:.1f} s")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        genv = {**os.environ, "ASSESS_CONFIG": "production", "SECRET_KEY": secrets.token_hex(32),
                "DATABASE_URL": url, "SESSION_COOKIE_SECURE": "0", "REDIS_URL": args.redis_url,
                "LOGIN_LIMIT_PER_IP": "1000000 per 5 minutes", "GUNICORN_BIND": f"127.0.0.1:{port}"}
        if args.workers:
            genv["GUNICORN_WORKERS"] = str(args.workers)
        if args.threads:
            genv["GUNICORN_THREADS"] = str(args.threads)
        gunicorn_log = run_dir / "gunicorn.log"
        with open(gunicorn_log, "wb") as fh:
            gunicorn = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                                        cwd=ROOT, env=genv, stdout=fh, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_healthy(base, gunicorn)
        workers = args.workers or (os.cpu_count() or 1) * 2 + 1
        threads = args.threads or 4
        log(f"gunicorn on {base}: {workers} workers × {threads} threads (log {gunicorn_log})")

        web_pids, _ = server_pids(gunicorn, args.pg, db_name)
        cpu_start = cpu_seconds(web_pids)
        results = run_dir / "results.json"
        config = {"participants": nips[: args.users], "password": PASSWORD, "users": args.users,
                  "think_scale": scale, "item_think": think, "p_change": args.p_change,
                  "p_retry_user": args.retry_users, "p_race": args.race, "results": str(results)}
        (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
        log(f"locust: {args.users} participants arriving over {ramp:.0f} s, at most {args.duration:.0f} s; "
            f"think times × {scale:.2f} (items {think[0] * scale:.1f}-{think[1] * scale:.1f} s)")
        with open(run_dir / "locust.log", "wb") as fh:
            locust = subprocess.Popen(
                [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
                 "-u", str(args.users), "-r", f"{args.users / max(ramp, 0.1):.3f}",
                 "-t", f"{int(args.duration)}s", "--stop-timeout", "0", "--host", base,
                 "--csv", str(run_dir / "locust"), "--loglevel", "WARNING"],
                cwd=ROOT, env={**os.environ, "BENCH_CONFIG": str(run_dir / "config.json")},
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        started = time.time()
        progress(app, locust, started, args.duration + 60)
        stop(locust, signal.SIGINT, 30)
        load_after = os.getloadavg()
        web_pids, pg_pids = server_pids(gunicorn, args.pg, db_name)
        cpu = {"gunicorn": cpu_seconds(web_pids) - cpu_start, "postgres": cpu_seconds(pg_pids)}
        stop(gunicorn)
        log(f"gunicorn stopped; load average now {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
        if not results.exists():
            sys.stderr.write((run_dir / "locust.log").read_text(errors="replace")[-4000:])
            raise SystemExit("locust wrote no results")
        data = json.loads(results.read_text(encoding="utf-8"))
        check = check_database(app, data["users"])
        cpu["locust"] = data.get("cpu_s", 0.0)
        summary = report(args, data, check, scan_gunicorn_log(gunicorn_log), cpu, load,
                         load_after, scale, workers, threads, run_dir)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        bad = check["counts"].get("lost", 0) + check["counts"].get("wrong_choice", 0) + \
            check["counts"].get("stored_unknown_seq", 0) + check["counts"].get("stored_wrong_choice", 0)
        return 1 if bad else 0
    finally:
        stop(locust, signal.SIGKILL)
        stop(gunicorn)
        if app is not None:
            from assess.extensions import db

            with app.app_context():
                db.engine.dispose()
        if args.keep_db:
            log(f"kept database {url}")
        else:
            drop_database(args.pg, db_name)
            log(f"dropped database {db_name}")


def progress(app, proc, started: float, limit: float) -> None:
    """Wait for locust, printing what the database holds every 15 s."""
    from sqlalchemy import text

    from assess.extensions import db

    last = 0.0
    while proc.poll() is None:
        time.sleep(1)
        now = time.time() - started
        if now - last >= 15:
            last = now
            with app.app_context():
                row = db.session.execute(text(
                    "SELECT (SELECT count(*) FROM attempts), "
                    "(SELECT count(*) FROM attempts WHERE status <> 'in_progress'), "
                    "(SELECT count(*) FROM responses)")).one()
                db.session.remove()
            log(f"t={now:4.0f} s  attempts {row[0]}, finished {row[1]}, responses {row[2]}")
        if now > limit:
            log("locust overran its run time; stopping it")
            return


def report(args, data, check, glog, cpu, load, load_after, scale, workers, threads, run_dir) -> dict:
    samples = data["samples"]
    users = data["users"]
    run_s = max(data["t_end"] - data["t0"], 1e-9)
    saves = samples.get(SAVE, [])
    ok_saves = [s for s in saves if s[2]]
    pages = [e for name, entries in samples.items() for e in entries if is_page(name, e)]
    s50, s95, s99 = pct([s[1] for s in ok_saves])
    p50, p95, p99 = pct([e[1] for e in pages])
    logins = samples.get("POST /auth/login", [])
    calm = max((e[0] for e in logins), default=data["t0"])  # after the last sign-in answered
    q50, q95, q99 = pct([s[1] for s in ok_saves if s[0] - s[1] / 1000 > calm])
    buckets = Counter(int(s[0] - data["t0"]) // 10 for s in ok_saves)
    peak = max(buckets.values()) / 10 if buckets else 0.0
    answers_acked = sum(1 for u in users for a in u["acks"] if a[4] != "form")
    finished = sum(1 for u in users if u["finished"])
    stages = Counter(u["stage"] for u in users if not u["finished"])
    user_errors = Counter(u["error"] for u in users if u.get("error"))
    durations = [u["finished_at"] - u["started_at"] for u in users if u["finished_at"]]
    c = check["counts"]
    stamp = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print()
    print(f"== delivery load benchmark, {stamp} ==")
    print(f"machine            {os.cpu_count()} cores; load average before {load[0]:.2f}, after {load_after[0]:.2f}")
    print(f"server             gunicorn {workers} workers × {threads} threads, PostgreSQL, Redis limiter")
    print(f"participants       {len(users)} of {args.users} started; {finished} finished; "
          f"not finished by stage: {dict(stages) or '-'}")
    print(f"duration           {run_s:.1f} s (limit {args.duration:.0f} s, arrivals over "
          f"{args.ramp if args.ramp is not None else min(30.0, args.duration / 6):.0f} s); "
          f"think × {scale:.2f}; sitting median "
          + (f"{pct(durations, (50,))[0]:.0f} s" if durations else "- (nobody finished)"))
    print(f"saves              {len(ok_saves)} acknowledged requests ({len(saves) - len(ok_saves)} failed), "
          f"{answers_acked} answers; {len(ok_saves) / run_s:.1f} saves/s mean, {peak:.1f}/s peak (10 s)")
    print(f"save latency       p50 {s50:.0f} ms   p95 {s95:.0f} ms   p99 {s99:.0f} ms   "
          f"max {max((s[1] for s in ok_saves), default=0):.0f} ms")
    print(f"  after sign-ins   p50 {q50:.0f} ms   p95 {q95:.0f} ms   p99 {q99:.0f} ms   "
          f"(saves sent after the last sign-in answered, t > {calm - data['t0']:.0f} s)")
    print(f"page-load latency  p50 {p50:.0f} ms   p95 {p95:.0f} ms   p99 {p99:.0f} ms   ({len(pages)} GETs)")
    total_requests = sum(len(v) for v in samples.values())
    print(f"all requests       {total_requests} ({total_requests / run_s:.1f}/s)")
    print(f"CPU used           gunicorn {cpu['gunicorn']:.0f} s, PostgreSQL backends {cpu['postgres']:.0f} s, "
          f"locust {cpu['locust']:.0f} s in {run_s:.0f} s of {os.cpu_count()} cores; "
          f"server {1000 * (cpu['gunicorn'] + cpu['postgres']) / max(total_requests, 1):.1f} ms per request")
    print()
    print("timeline (by the end time of each request)")
    print(f"{'seconds':>11} {'req/s':>7} {'saves/s':>8} {'save p50':>9} {'save p95':>9} {'page p95':>9} "
          f"{'sign-ins':>9} {'submits':>8}")
    step = max(10, int(round(run_s / 12 / 10)) * 10)
    every = [(e[0], name, e) for name, entries in samples.items() for e in entries]
    for start in range(0, int(run_s) + 1, step):
        window = [(name, e) for t, name, e in every if start <= t - data["t0"] < start + step]
        if not window:
            continue
        span = min(step, run_s - start) or step
        saves_w = [e[1] for name, e in window if name == SAVE and e[2]]
        pages_w = [e[1] for name, e in window if is_page(name, e)]
        sp50, sp95 = pct(saves_w, (50, 95))
        print(f"{start:5d}-{start + step:<5d} {len(window) / span:7.1f} {len(saves_w) / span:8.1f} "
              f"{sp50:9.0f} {sp95:9.0f} {pct(pages_w, (95,))[0]:9.0f} "
              f"{sum(1 for name, e in window if name == 'POST /auth/login'):9d} "
              f"{sum(1 for name, e in window if name.endswith('/confirm') and name.startswith('POST')):8d}")
    print()
    print(f"{'endpoint':58} {'n':>6} {'fail':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  ms")
    table = latency_table(samples)
    for name, n, fails, a, b, cc, m in table:
        print(f"{name[:58]:58} {n:6d} {fails:5d} {a:7.0f} {b:7.0f} {cc:7.0f} {m:7.0f}")
    print()
    errors = Counter(data["errors"])
    failed = [e for entries in samples.values() for e in entries if not e[2]]
    dropped = sum(1 for e in failed if not e[3])
    print(f"errors             {sum(errors.values())}" + (" (none)" if not errors else
          f": {len(failed) - dropped} HTTP errors, {dropped} requests without any answer "
          f"(connection dropped; retried, as a browser does), "
          f"{sum(errors.values()) - len(failed)} page forms refused"))
    for key, n in errors.most_common():
        print(f"  {n:6d}  {key}")
    for key, n in user_errors.most_common():
        print(f"  participant stopped ({n}): {key}")
    status_5xx = {k: v for k, v in glog["statuses"].items() if k.startswith("5")}
    print(f"server log         statuses {dict(sorted(glog['statuses'].items()))}; "
          f"tracebacks {len(glog['tracebacks'])}; worker timeouts {glog['timeouts']}")
    for tb in glog["tracebacks"][:3]:
        print("  " + tb.replace("\n", "\n  ")[-1500:])
    print()
    print(f"acknowledged saves checked  {c.get('acks', 0)} (api {c.get('acks_api', 0)}, "
          f"re-sent {c.get('acks_retry', 0)}, in flight at a page post {c.get('acks_race', 0)}, "
          f"page forms {c.get('acks_form', 0)}) "
          f"over {c.get('pairs_acknowledged', 0)} (attempt, item) pairs")
    print(f"answers lost                {c.get('lost_answers', 0)} "
          f"({c.get('lost', 0)} acknowledgements not matched by the stored seq)")
    print(f"wrong stored choice         {c.get('wrong_choice', 0) + c.get('stored_wrong_choice', 0)}; "
          f"stored seq never sent {c.get('stored_unknown_seq', 0)} (of {c.get('stored_rows', 0)} rows)")
    print(f"idempotency violations      {len(data['violations'])}")
    for v in data["violations"][:5]:
        print(f"  {v}")
    for problem in check["problems"][:10]:
        print(f"  {problem}")
    print(f"attempts                    {check['statuses']}; scores {check['scores']} "
          f"(levels {check['levels']}); closed without a full set of scores {check['scored_incomplete']}")
    print(f"raw results and logs        {run_dir}")
    return {
        "date": stamp, "cores": os.cpu_count(), "load_before": load, "load_after": load_after,
        "workers": workers, "threads": threads, "participants": len(users), "finished": finished,
        "cpu_s": cpu, "requests": total_requests,
        "duration_s": run_s, "think_scale": scale, "saves": len(ok_saves),
        "failed_saves": len(saves) - len(ok_saves), "saves_per_s": len(ok_saves) / run_s,
        "peak_saves_per_s": peak, "save_ms": {"p50": s50, "p95": s95, "p99": s99},
        "save_ms_after_sign_ins": {"p50": q50, "p95": q95, "p99": q99},
        "page_ms": {"p50": p50, "p95": p95, "p99": p99}, "errors": dict(errors),
        "connection_errors": dropped, "server_statuses": glog["statuses"],
        "tracebacks": len(glog["tracebacks"]),
        "check": c, "violations": len(data["violations"]), "attempts": check["statuses"],
        "scores": check["scores"], "endpoints": [list(r) for r in table],
    }


if __name__ == "__main__":
    sys.exit(main())
