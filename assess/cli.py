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
bank_cli = AppGroup("bank", help="The item bank: import and validate bank files.")
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


@bank_cli.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report what would change; write nothing.")
def bank_import(path: Path, dry_run: bool) -> None:
    """Import a bank directory (catalog.yaml + <battery>/<code>.yaml): all or nothing."""
    from assess.services import audit, bank

    try:
        result = bank.import_bank(path, actor=None, dry_run=dry_run)
    except bank.BankValidationError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(error.problems)} problem(s) found; nothing was imported")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items())) or "no changes"
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: would import {summary}")
        return
    audit.record("bank.import", actor_label="cli", detail={"path": str(path), "counts": result.counts})
    db.session.commit()
    click.echo(f"Imported {summary}")


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


def register_cli(app: Flask) -> None:
    app.cli.add_command(attempts_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(bank_cli)
    app.cli.add_command(users_cli)
