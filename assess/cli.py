"""Flask CLI commands: ``flask --app wsgi demo seed``, ``demo accounts``, ``bank import`` ..."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from assess.extensions import db

BANK_DIR = Path(__file__).resolve().parent.parent / "item_bank"

demo_cli = AppGroup("demo", help="Demo data: seed it, list the demo accounts.")
bank_cli = AppGroup("bank", help="The item bank: import, export, synthesise and calibrate.")
users_cli = AppGroup("users", help="Accounts: create staff users.")
attempts_cli = AppGroup("attempts", help="Attempts: close expired ones, rescore a wave.")


def _refuse_in_production() -> None:
    if current_app.config.get("ENV_NAME") == "production" and not os.environ.get("ALLOW_DEMO_SEED"):
        raise click.ClickException(
            "refusing to seed demo data into a production configuration (set ALLOW_DEMO_SEED=1 to force)"
        )


@demo_cli.command("seed")
@click.option("--bank", "bank_dir", type=click.Path(path_type=Path), default=BANK_DIR,
              show_default=True, help="Item bank directory to load when present.")
def demo_seed(bank_dir: Path) -> None:
    """Create the demo agencies, units, accounts and item bank (idempotent)."""
    from assess.services import audit, demo

    _refuse_in_production()
    report = demo.seed(bank_dir)
    audit.record("demo.seed", actor_label="cli", detail={"created": report.created})
    db.session.commit()
    if report.created:
        click.echo("Created: " + ", ".join(f"{n} {k}" for k, n in sorted(report.created.items())))
    else:
        click.echo("Demo data already present; nothing changed.")


@demo_cli.command("accounts")
def demo_accounts() -> None:
    """Print the demo accounts and where each one lands."""
    from assess.services import demo

    click.echo("")
    click.echo("Demo accounts (http://127.0.0.1:5000):")
    rows = [
        ("admin", "Staff sign-in", "admin", demo.demo_password("admin"), "Dashboard"),
        ("assessor", "Staff sign-in", "asesor1 / asesor2", demo.demo_password("assessor"), "Review queue"),
        ("participant", "Participant sign-in (NIP)", demo.DEMO_PARTICIPANT_NIP,
         demo.demo_password("participant"), "My assessments"),
    ]
    for role, page, login, password, home in rows:
        click.echo(f"  {role:<12} {page:<27} {login:<20} password: {password:<20} -> {home}")
    click.echo("  (all 50 demo participants share the participant password; their NIPs are on the admin pages)")
    click.echo("")


LANG_OPTION = click.option("--lang", type=click.Choice(["id", "en"]), default=None,
                           help="Language of the messages (default: the interface default).")


def _locale(lang):
    from flask_babel import force_locale

    return force_locale(lang or current_app.config.get("BABEL_DEFAULT_LOCALE", "id"))


@bank_cli.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report what would change; write nothing.")
@click.option("--competency", "default_competency", default=None,
              help="QTI items from other tools (no assess metadata) go to this competency.")
@click.option("--new-only", is_flag=True, help="Add new items only; leave existing ones as they are.")
@LANG_OPTION
def bank_import(path: Path, dry_run: bool, default_competency: str | None, new_only: bool, lang: str | None) -> None:
    """Import a bank: a directory (catalog.yaml + <battery>/<code>.yaml), a competency .yaml, a .csv,
    an .xlsx, or a .zip (a bank directory or a QTI 3.0 package). All or nothing."""
    from assess.services import audit, bank

    with _locale(lang):
        try:
            result = bank.import_bank(path, actor=None, dry_run=dry_run, update_existing=not new_only,
                                      default_competency=default_competency)
        except bank.BankValidationError as error:
            db.session.rollback()
            for problem in error.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(error.problems)} problem(s) found; nothing was imported")
    summary = result.summary()
    if dry_run:
        db.session.rollback()
        for change in result.changes:
            click.echo(f"  {change.kind:<9} {change.code:<14} {change.detail}")
        click.echo(f"Dry run: would import {summary}")
        return
    audit.record("bank.import", actor_label="cli", detail={"path": str(path), "counts": result.counts})
    db.session.commit()
    click.echo(f"Imported {summary}")


@bank_cli.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["yaml", "csv", "xlsx", "qti"]), default=None,
              help="Default: from PATH (.csv, .xlsx, .zip = QTI package; anything else a bank directory).")
@click.option("--competency", "competencies", multiple=True, help="Only this competency (repeatable).")
@click.option("--force", is_flag=True, help="Write into a directory that is not empty.")
def bank_export(path: Path, fmt: str | None, competencies: tuple[str, ...], force: bool) -> None:
    """Export the bank: a bank directory (native YAML, the format of item_bank/), CSV, XLSX or QTI."""
    from assess.models import Competency
    from assess.services import audit, bank

    directory = (fmt or "yaml") == "yaml" and path.suffix.lower() not in (".csv", ".xlsx", ".zip")
    if not directory and (path.is_dir() or str(path).endswith(("/", "\\")) or not path.suffix):
        # a folder for a one-file format: the file goes inside it, named for its format
        path = path / f"bank.{ {'csv': 'csv', 'xlsx': 'xlsx', 'qti': 'zip'}[fmt] }"
        path.parent.mkdir(parents=True, exist_ok=True)
    if directory and path.exists() and any(path.iterdir()) and not force:
        raise click.ClickException(f"{path} is not empty; use --force to overwrite its bank files")
    unknown = set(competencies) - set(db.session.execute(db.select(Competency.code)).scalars())
    if unknown:
        raise click.ClickException(f"unknown competency: {', '.join(sorted(unknown))}")
    written = bank.export_bank(path, fmt, competencies or None)
    audit.record("bank.export", actor_label="cli",
                 detail={"path": str(path), "format": fmt or "auto", "competencies": list(competencies)})
    db.session.commit()
    click.echo(f"Wrote {len(written)} file(s) to {path}")


@bank_cli.command("synth")
@click.option("--items", "n_items", type=click.IntRange(1, 1_000_000), required=True, help="Number of items.")
@click.option("--competencies", type=click.IntRange(1, 5), default=5, show_default=True,
              help="Spread the items over this many SYN scales (3PL, GRM, Likert, GPCM, 2PL).")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write a bank directory here instead of importing into the database.")
def bank_synth(n_items: int, competencies: int, seed: int, out_dir: Path | None) -> None:
    """Build a large synthetic bank (battery 'synthetic', codes SYN.*) for CAT and load benchmarks."""
    from assess.services import audit, bank_synth as synth

    if out_dir is not None:
        written = synth.synth(n_items, competencies=competencies, seed=seed, out_dir=out_dir)
        click.echo(f"Wrote {len(written)} file(s) to {out_dir} (import them with: flask --app wsgi bank import {out_dir})")
        return
    with _locale(None):
        result = synth.synth(n_items, competencies=competencies, seed=seed)
    audit.record("bank.synth", actor_label="cli", detail={"items": n_items, "seed": seed, "counts": result.counts})
    db.session.commit()
    click.echo(f"Synthetic bank: {result.summary()}")


@bank_cli.command("exposure")
@click.option("--competency", "code", required=True, help="Competency code, e.g. DL.03.")
@click.option("--target", type=float, default=0.25, show_default=True, help="Target maximum exposure rate.")
@click.option("--max-items", type=int, required=True, help="Maximum CAT length of the sections that use it.")
@click.option("--min-items", type=int, default=0, show_default=True)
@click.option("--se", "se_target", type=float, default=None, help="SE target of the CAT, if any.")
@click.option("--seed", type=int, default=None)
def bank_exposure(code: str, target: float, max_items: int, min_items: int, se_target: float | None,
                  seed: int | None) -> None:
    """Set the operational items' Sympson-Hetter exposure parameters by simulation.

    The CAT sections of delivery apply them: an item chosen for a participant is administered
    with probability k, so no item is seen by much more than the target share of participants.
    """
    import numpy as np
    from sqlalchemy import select

    from assess.irt.cat import sympson_hetter
    from assess.models import Competency, Item
    from assess.services import audit, scoring

    competency = db.session.execute(select(Competency).where(Competency.code == code)).scalar_one_or_none()
    if competency is None:
        raise click.ClickException(f"no competency with code {code!r}")
    items = list(db.session.execute(select(Item).where(Item.competency_id == competency.id,
                                                      Item.status == "operational").order_by(Item.code)).scalars())
    if len(items) <= max_items:
        raise click.ClickException(f"{code} has {len(items)} operational items: exposure control needs more than --max-items ({max_items})")
    bank = scoring.bank_of([item.current for item in items])
    try:
        result = sympson_hetter(bank, target, min_items=min_items, max_items=max_items, se_target=se_target,
                                randomesque=3, rng=np.random.default_rng(seed))
    except ValueError as error:  # an unreachable target, a bad rule: one line, no traceback
        raise click.ClickException(f"{code}: {error}") from None
    for item, k in zip(items, result.k):
        item.exposure_k = float(k)
    audit.record("bank.exposure", actor_label="cli", target=competency,
                 detail={"target": target, "max_exposure": float(result.max_exposure),
                         "iterations": int(result.n_iter), "converged": bool(result.converged)})
    db.session.commit()
    click.echo(f"{code}: {len(items)} items, maximum exposure {result.max_exposure:.3f} (target {target}), "
               f"{result.n_iter} iterations{'' if result.converged else ', not converged'}")


@bank_cli.command("calibrate")
@click.option("--competency", "code", required=True, help="Competency code, e.g. M.01.")
@click.option("--min-responses", type=click.IntRange(1), default=50, show_default=True,
              help="Items answered by fewer finished attempts are left out.")
@click.option("--accept", "accept", is_flag=True,
              help="Accept the new parameters of every pilot item that is not flagged.")
@LANG_OPTION
def bank_calibrate(code: str, min_responses: int, accept: bool, lang: str | None) -> None:
    """Calibrate the pilot items of a competency with its operational items as fixed anchors."""
    from assess.models import Competency
    from assess.services import bank_calibration as calibration

    competency = db.session.execute(db.select(Competency).filter_by(code=code)).scalar_one_or_none()
    if competency is None:
        raise click.ClickException(f"unknown competency {code!r}")
    run = calibration.start_run(competency, actor=None, min_responses=min_responses)
    db.session.commit()

    def show(progress: dict) -> None:
        stage = progress.get("stage")
        if stage == "calibrating" and progress.get("loglik") is not None:
            click.echo(f"  iteration {progress['iteration']:>4}  log-likelihood {progress['loglik']:.3f}", err=True)
        elif stage == "gathering" and progress.get("persons") is not None:
            click.echo(f"  {progress['persons']} attempts, {progress.get('pilot_items')} pilot and "
                       f"{progress.get('anchor_items')} anchor items", err=True)

    with _locale(lang):
        run = calibration.execute_run(run.id, on_progress=show)
        if run.status != "done":
            raise click.ClickException(f"calibration run {run.id} failed: {run.error}")
        result = run.result
        click.echo(f"Run {run.id}: {result['persons']} persons, {result['iterations']} iterations, "
                   f"{'converged' if result['converged'] else 'NOT converged'}; latent mean "
                   f"{result['latent_mean']}, SD {result['latent_sd']} on the anchors' scale")
        click.echo(f"{'item':<12} {'role':<7} {'n':>6} {'infit':>6} {'outfit':>6}  parameters  flags")
        for entry in result["items"]:
            params = entry.get("new") or entry["old"]
            shown = " ".join(f"{k}={v}" for k, v in params.items() if v is not None)
            flags = ", ".join(str(calibration.FLAG_LABELS[f]) for f in entry["flags"]) or "-"
            click.echo(f"{entry['code']:<12} {entry['role']:<7} {entry['n']:>6} {entry['infit'] or 0:>6.2f} "
                       f"{entry['outfit'] or 0:>6.2f}  {shown}  {flags}")
        for problem in result["problems"]:
            click.echo(f"{problem['code']:<12} not calibrated: {problem['message']}")
        if accept:
            codes = calibration.default_selection(run)
            if not codes:
                click.echo("No pilot item passed every check; nothing accepted.")
                return
            calibration.accept(run, codes, actor=None)
            db.session.commit()
            click.echo(f"Accepted new versions of {len(codes)} item(s): {', '.join(codes)}")
        else:
            click.echo(f"Review the run at /admin/bank/calibration/{run.id}, or run again with --accept.")


@users_cli.command("create-staff")
@click.option("--username", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "assessor"]), required=True)
@click.password_option()
def create_staff(username: str, name: str, role: str, password: str) -> None:
    """Create an admin or assessor account (the production way to get the first admin)."""
    from sqlalchemy import select

    from assess.models import User
    from assess.services import audit
    from assess.services.accounts import new_session_token

    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]{2,63}", username):
        raise click.ClickException("the username is 3-64 letters, digits, dots, dashes or underscores, "
                                   "starting with a letter (not a NIP: participants sign in with theirs)")
    if not name.strip():
        raise click.ClickException("give the person's name (--name)")
    if db.session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise click.ClickException(f"username {username!r} is already taken")
    if len(password) < 12:
        raise click.ClickException("the password must have at least 12 characters")
    user = User(role=role, username=username, name=name, session_token=new_session_token())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("users.create", target=user, actor_label="cli", detail={"role": role})
    db.session.commit()
    click.echo(f"Created {role} {username}")


@attempts_cli.command("expire")
def attempts_expire() -> None:
    """Close and score every in-progress attempt whose deadline has passed (run it from cron)."""
    from assess.services import delivery

    closed = delivery.expire_due()
    click.echo(f"Closed and scored {closed} expired attempt(s).")


@attempts_cli.command("rescore")
@click.option("--wave", "wave_code", required=True, help="Code of the wave whose attempts to rescore.")
def attempts_rescore(wave_code: str) -> None:
    """Recompute the scores of every submitted or expired attempt of a wave."""
    from sqlalchemy import select

    from assess.models import Attempt, Wave
    from assess.services import audit, scoring

    wave = db.session.execute(select(Wave).where(Wave.code == wave_code)).scalar_one_or_none()
    if wave is None:
        raise click.ClickException(f"no wave with code {wave_code!r}")
    ids = list(db.session.execute(select(Attempt.id).where(
        Attempt.wave_id == wave.id, Attempt.status.in_(("submitted", "expired")))).scalars())
    with click.progressbar(ids, label=f"Rescoring {len(ids)} attempts", file=click.get_text_stream("stderr")) as bar:
        for n, attempt_id in enumerate(bar, start=1):
            scoring.score_attempt(db.session.get(Attempt, attempt_id))
            if n % 200 == 0:
                db.session.commit()
    audit.record("attempts.rescore", actor_label="cli", target=wave, detail={"attempts": len(ids)})
    db.session.commit()
    click.echo(f"Rescored {len(ids)} attempt(s) of wave {wave_code}.")


waves_cli = AppGroup("waves", help="Waves: list them, enrol participants by rule or from a file of NIPs.")


@waves_cli.command("list")
def waves_list() -> None:
    """List the waves with their window (in the wave's time zone), state and enrolment."""
    from sqlalchemy import func, select

    from assess.models import Enrollment, Wave
    from assess.services import delivery
    from assess.services.waves import utc_to_local
    from assess.services.timefmt import zone_abbreviation

    enrolled = dict(db.session.execute(
        select(Enrollment.wave_id, func.count(Enrollment.id)).group_by(Enrollment.wave_id)).all())
    for wave in db.session.execute(select(Wave).order_by(Wave.opens_at, Wave.code)).scalars():
        zone = zone_abbreviation(wave.timezone)
        opens = utc_to_local(wave.opens_at, wave.timezone).strftime("%Y-%m-%d %H:%M")
        closes = utc_to_local(wave.closes_at, wave.timezone).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{wave.code:<16} {delivery.wave_state(wave):<9} {opens} – {closes} {zone:<4} "
                   f"spec {wave.spec.code:<14} {enrolled.get(wave.id, 0):>6} enrolled  {wave.name}")


@waves_cli.command("enroll")
@click.option("--wave", "wave_code", required=True, help="Code of the wave.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV or XLSX with a nip column (and optionally extra_minutes); without it, enrol by rule.")
@click.option("--lang", type=click.Choice(["id", "en"]), default=None,
              help="Language of the messages (default: the interface default).")
def waves_enroll(wave_code: str, path: Path | None, lang: str | None) -> None:
    """Enrol participants in a wave: by the wave's rule, or from a file (all or nothing)."""
    from sqlalchemy import select

    from assess.models import Wave
    from assess.services import audit, waves

    wave = db.session.execute(select(Wave).where(Wave.code == wave_code)).scalar_one_or_none()
    if wave is None:
        raise click.ClickException(f"no wave with code {wave_code!r}")
    if path is None:
        added = waves.enroll_rule(wave)
        audit.record("wave.enroll_rule", actor_label="cli", target=wave, detail={"added": added})
        db.session.commit()
        click.echo(f"Enrolled {added} participant(s) in {wave.code} by rule.")
        return
    from flask_babel import force_locale

    with force_locale(lang or current_app.config.get("BABEL_DEFAULT_LOCALE", "id")):
        try:
            result = waves.enroll_file(wave, path.name, path.read_bytes()[: waves.MAX_UPLOAD_BYTES + 1])
        except waves.EnrolmentFileError as error:
            db.session.rollback()
            for problem in error.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(error.problems)} problem(s) found; nobody was enrolled")
    audit.record("wave.enroll_upload", actor_label="cli", target=wave, detail={
        "file": str(path), "added": result.added, "updated": result.updated, "unchanged": result.unchanged})
    db.session.commit()
    click.echo(f"Enrolled {result.added} participant(s) in {wave.code}; extra minutes changed for "
               f"{result.updated}; {result.unchanged} already enrolled.")


# ------------------------------------------------------------------------------ talent maps, orgs
talent_cli = AppGroup("talent", help="Talent maps: compute placements, import SKP ratings, export.")
orgs_cli = AppGroup("orgs", help="Agencies and units: import and export (CSV/XLSX).")


def _problems_exit(error) -> None:
    for problem in error.problems[:500]:
        click.echo(str(problem), err=True)
    if len(error.problems) > 500:
        click.echo(f"... and {len(error.problems) - 500} more", err=True)
    raise click.ClickException(f"{len(error.problems)} problem(s) found; nothing was imported")


@talent_cli.command("compute")
@click.option("--wave", "wave_code", default=None, help="Only attempts of this wave (default: each participant's latest).")
@click.option("--version", "version", type=int, default=None, help="Settings version (default: the latest).")
def talent_compute(wave_code: str | None, version: int | None) -> None:
    """Place every participant with a finished attempt on the talent map (JPM, band, 9-box, readiness)."""
    from sqlalchemy import select

    from assess.models import TalentSettings, Wave
    from assess.services import audit, talent

    wave_id = None
    if wave_code:
        wave_id = db.session.scalar(select(Wave.id).where(Wave.code == wave_code))
        if wave_id is None:
            raise click.ClickException(f"no wave with code {wave_code!r}")
    if version is not None:
        settings = db.session.execute(select(TalentSettings).where(TalentSettings.version == version)).scalar_one_or_none()
        if settings is None:
            raise click.ClickException(f"no settings version {version}")
    else:
        settings = talent.ensure_settings()
    state = {"done": 0}

    def show(done: int, total: int) -> None:
        if done - state["done"] >= 10_000 or done == total:
            click.echo(f"  {done}/{total} participants", err=True)
            state["done"] = done

    report = talent.compute(settings, wave_id=wave_id, progress=show)
    audit.record("talent.compute", actor_label="cli", target=settings,
                 detail={"version": settings.version, "wave": wave_code, "participants": report.participants})
    db.session.commit()
    click.echo(report.summary())


@talent_cli.command("import-skp")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
@LANG_OPTION
def talent_import_skp(path: Path, dry_run: bool, lang: str | None) -> None:
    """Import SKP ratings (nip, year, predikat[, score, source]) from a CSV or XLSX file, all or nothing."""
    from assess.services import talent
    from assess.services.tabular import ImportProblems

    with _locale(lang):
        try:
            result = talent.import_skp(path.name, path.read_bytes(), dry_run=dry_run)
        except ImportProblems as error:
            db.session.rollback()
            _problems_exit(error)
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: {result.summary()}")
        return
    db.session.commit()
    click.echo(f"Imported {result.summary()}")


@talent_cli.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None,
              help="Default: from OUT's extension.")
@click.option("--cluster", type=click.IntRange(1, 5), default=None)
@click.option("--agency", "agency_code", default=None, help="Agency code.")
@click.option("--wave", "wave_code", default=None, help="Wave code (default: each participant's latest attempt).")
@click.option("--version", type=int, default=None, help="Settings version (default: the newest with placements).")
@LANG_OPTION
def talent_export(out: Path, fmt: str | None, cluster: int | None, agency_code: str | None, wave_code: str | None,
                  version: int | None, lang: str | None) -> None:
    """Export the talent map (XLSX workbook or CSV) with a progress bar on stderr; audit-logged."""
    import sys

    from sqlalchemy import select

    from assess.models import Agency, Wave
    from assess.services import exports, orgs
    from assess.services.talent_reports import Filters, settings_for

    fmt = fmt or ("csv" if out.suffix.lower() == ".csv" else "xlsx")
    filters = Filters(cluster=cluster, version=version)
    if agency_code:
        filters.agency_id = db.session.scalar(select(Agency.id).where(Agency.code == agency_code))
        if filters.agency_id is None:
            raise click.ClickException(f"no agency with code {agency_code!r}")
    if wave_code:
        filters.wave_id = db.session.scalar(select(Wave.id).where(Wave.code == wave_code))
        if filters.wave_id is None:
            raise click.ClickException(f"no wave with code {wave_code!r}")
    settings = settings_for(filters)
    if version is not None and settings is None:
        raise click.ClickException(f"no settings version {version}")
    total = exports.count_people(filters, settings.id if settings else None)
    exports.record_export(fmt, filters, settings, total, actor_label="cli", channel="cli", extra={"path": str(out)})
    db.session.commit()
    with _locale(lang), click.progressbar(length=total, label=f"Exporting {total} people",
                                          file=sys.stderr) as bar:
        if fmt == "csv":
            with out.open("wb") as handle:
                for chunk in exports.csv_chunks(filters, settings, progress=bar.update):
                    handle.write(chunk)
        else:
            exports.write_xlsx(str(out), filters, settings, progress=bar.update,
                               cluster_names=orgs.cluster_names(lang or current_app.config.get("BABEL_DEFAULT_LOCALE", "id")))
    click.echo(f"Wrote {total} people to {out}")


@orgs_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report the changes; write nothing.")
@LANG_OPTION
def orgs_import(path: Path, dry_run: bool, lang: str | None) -> None:
    """Create or update agencies and units from a CSV or XLSX file (sheets agencies, units), all or nothing."""
    from assess.services import orgs
    from assess.services.tabular import ImportProblems

    with _locale(lang):
        try:
            result = orgs.import_orgs(path.name, path.read_bytes(), dry_run=dry_run)
        except ImportProblems as error:
            db.session.rollback()
            _problems_exit(error)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items())) or "nothing"
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: would import {summary}; {result.cluster_changes} cluster change(s)")
        return
    db.session.commit()
    click.echo(f"Imported {summary}; {result.cluster_changes} cluster change(s)")


@orgs_cli.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def orgs_export(out: Path) -> None:
    """Write all agencies and units to an XLSX workbook in the import format."""
    from assess.services import audit, orgs

    out.write_bytes(orgs.export_orgs_xlsx())
    audit.record("orgs.export", actor_label="cli", detail={"path": str(out)})
    db.session.commit()
    click.echo(f"Wrote {out}")


jobs_cli = AppGroup("jobs", help="Background jobs (Redis): run a worker.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
def jobs_worker(burst: bool) -> None:
    """Run queued background jobs (the talent map for large volumes). Needs REDIS_URL.

    Jobs run one after another in this process, in its application context (no fork: the
    database connection pool is never shared with a child).
    """
    from rq import SimpleWorker

    from assess.services import jobs

    q = jobs.queue()
    if q is None:
        raise click.ClickException("REDIS_URL is not set: there is no job queue to work on")
    from redis.exceptions import RedisError

    try:
        q.connection.ping()
    except RedisError as error:
        raise click.ClickException(f"cannot reach Redis at {current_app.config['REDIS_URL']}: {error}") from None
    click.echo(f"worker on queue {q.name!r} at {current_app.config['REDIS_URL']}")
    SimpleWorker([q], connection=q.connection).work(burst=burst, with_scheduler=False)


def register_cli(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
    app.cli.add_command(waves_cli)
    app.cli.add_command(attempts_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(bank_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(talent_cli)
    app.cli.add_command(orgs_cli)
