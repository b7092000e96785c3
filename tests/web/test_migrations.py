"""The migrations build the schema from empty, agree with the models, and downgrade to base.

Runs on a fresh SQLite file and on a fresh PostgreSQL database (skipped only when no PostgreSQL
server answers and ASSESS_REQUIRE_POSTGRES is unset; CI sets it).
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from config import TestingConfig
from tests.conftest import postgres_admin_url


def _roundtrip(url: str) -> None:
    from flask_migrate import downgrade, upgrade

    from assess import create_app
    from assess.extensions import db

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": False})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"users", "responses", "attempts", "audit_log", "item_versions"} <= tables
        downgrade(revision="base")
        left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set(), f"tables left after downgrade: {left}"
        upgrade()  # and up again from base
        db.session.remove()
        db.engine.dispose()


def test_sqlite_upgrade_compare_downgrade(tmp_path):
    _roundtrip(f"sqlite:///{tmp_path / 'migrate.db'}")


@pytest.fixture
def fresh_postgres_db():
    admin_url = postgres_admin_url()
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001
        if os.environ.get("ASSESS_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL server at {admin_url}: {error}")
    name = f"assess_migtest_{uuid.uuid4().hex[:10]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def test_postgresql_upgrade_compare_downgrade(fresh_postgres_db):
    _roundtrip(fresh_postgres_db)
