"""Shared fixtures: one application and schema per test session, cleaned between tests.

The database is DATABASE_URL when set (CI runs the suite once on SQLite and once on PostgreSQL),
otherwise an in-memory SQLite database. The schema is built by the Alembic migrations, so every
run also exercises them.
"""
from __future__ import annotations

import itertools
import os
from datetime import date

import pytest
from sqlalchemy import text

from config import TestingConfig

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def app():
    from flask_migrate import upgrade

    from assess import create_app
    from assess.extensions import db

    app = create_app(TestingConfig)
    with app.app_context():
        upgrade()
        db.session.remove()
    # No app context stays pushed: each request and each test that needs one pushes its own, so
    # nothing in `g` or the session leaks from one request to the next.
    yield app


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


def _detach(obj):
    """Load every column, then detach, so the object stays readable outside the app context."""
    from assess.extensions import db

    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


def _clean(app) -> None:
    from assess.extensions import db, limiter

    with app.app_context():
        _clean_tables(db)
        limiter.reset()


def _clean_tables(db) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def clean_db(app):
    """Empty every table after the test (and reset the rate limiter)."""
    yield
    _clean(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_serials = itertools.count(1)


@pytest.fixture
def make_agency(app):
    from assess.extensions import db
    from assess.models import Agency, Unit

    def factory(code: str | None = None, cluster: int = 1, **kw):
        n = next(_serials)
        with app.app_context():
            agency = Agency(code=code or f"AG{n}", name=kw.pop("name", f"Instansi {n}"),
                            cluster=cluster, **kw)
            agency.units.append(Unit(code="SET", name="Sekretariat Jenderal"))
            db.session.add(agency)
            db.session.commit()
            return _detach(agency)

    return factory


@pytest.fixture
def make_user(app, make_agency):
    """Build a user of any role; participants get a valid NIP. The password is PASSWORD."""
    from assess.extensions import db
    from assess.models import User
    from assess.services.accounts import new_session_token
    from assess.services.identity import make_nip

    def factory(role: str = "participant", password: str = PASSWORD, agency=None, **kw):
        n = next(_serials)
        agency = agency or make_agency()
        fields = dict(role=role, name=kw.pop("name", f"Pengguna {n}"), agency_id=agency.id,
                      session_token=new_session_token())
        if role == "participant":
            birth = date(1970 + n % 25, 1 + n % 12, 1 + n % 27)
            fields["nip"] = kw.pop("nip", None) or make_nip(
                birth, birth.year + 20 + n % 8, 1 + n % 12, 1 + n % 2, n % 999 + 1)
            fields["job_level"] = kw.pop("job_level", "ahli_muda")
        else:
            fields["username"] = kw.pop("username", None) or f"{role}{n}"
        fields.update(kw)
        with app.app_context():
            user = User(**fields)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
            return _detach(user)

    return factory


@pytest.fixture
def login(client):
    """Sign a user in through the real sign-in form."""

    def do_login(user, password: str = PASSWORD, c=None):
        c = c or client
        if user.role == "participant":
            response = c.post("/auth/login", data={"nip": user.nip, "password": password})
        else:
            response = c.post("/auth/staff", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do_login


def postgres_admin_url() -> str:
    return os.environ.get("POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
