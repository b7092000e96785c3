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
    # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table costs file operations on
    # each of them, ten times slower than deleting the few rows a test leaves behind.
    with db.engine.begin() as conn:
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


@pytest.fixture
def make_competency(app):
    """A competency with ``n`` operational items of one type, parameters spread over levels."""
    from assess.extensions import db
    from assess.models import Battery, Competency, Item, ItemVersion

    def factory(code: str = "T.01", item_type: str = "mc", n: int = 10, model: str | None = None,
                subdomains: tuple = (), battery: str = "test"):
        model = model or {"mc": "2pl", "sjt": "grm", "likert": "grm"}[item_type]
        with app.app_context():
            code_ = battery
            battery = db.session.execute(db.select(Battery).filter_by(code=code_)).scalar_one_or_none()
            if battery is None:
                battery = Battery(code=code_, name_id=f"Uji {code_}", name_en=f"Test {code_}")
            comp = Competency(code=code, name_id=f"Kompetensi {code}", name_en=f"Competency {code}",
                              item_type=item_type, irt_model=model, battery=battery)
            db.session.add(comp)
            for i in range(n):
                level = 1 + i % 5
                b = -2.0 + level - 1 + 0.1 * (i % 3)
                fields = dict(item_type=item_type, level=level, stem=f"Soal {code} nomor {i + 1}",
                              irt_model=model, a=1.0 + 0.1 * (i % 4),
                              subdomain=subdomains[i % len(subdomains)] if subdomains else None)
                if item_type == "mc":
                    fields.update(options=[{"text": f"Pilihan {k}", "score": 1 if k == i % 4 else 0} for k in range(4)],
                                  b=b, c=0.2 if model == "3pl" else 0.0)
                elif item_type == "sjt":
                    scores = [(k + i) % 5 + 1 for k in range(5)]
                    fields.update(options=[{"text": f"Tindakan {k}", "score": s} for k, s in enumerate(scores)],
                                  thresholds=[b - 1.5, b - 0.5, b + 0.5, b + 1.5])
                else:
                    fields.update(options=[], thresholds=[b - 1.5, b - 0.5, b + 0.5, b + 1.5],
                                  reverse_keyed=i % 3 == 0)
                item = Item(code=f"{code}-{i + 1:03d}", competency=comp, status="operational")
                item.versions.append(ItemVersion(version=1, **fields))
                db.session.add(item)
            db.session.commit()
            return comp.id

    return factory


@pytest.fixture
def make_wave(app):
    """An open wave whose spec has the given sections; enrols the given users."""
    from datetime import timedelta

    from assess.extensions import db
    from assess.models import Enrollment, TestSection, TestSpec, Wave, utcnow

    def factory(sections: list[dict], users=(), minutes: int = 30, show_scores: bool = False,
                opens_in_hours: float = -1, closes_in_hours: float = 24, shuffle: bool = True):
        n = next(_serials)
        with app.app_context():
            spec = TestSpec(code=f"SPEC{n}", name=f"Tes {n}", time_limit_minutes=minutes,
                            shuffle_options=shuffle, is_active=True)
            for position, s in enumerate(sections):
                s = dict(s)
                layout = s.pop("layout", "item")
                spec.sections.append(TestSection(position=position, settings={"layout": layout, **s.pop("settings", {})}, **s))
            now = utcnow()
            wave = Wave(code=f"W{n}", name=f"Gelombang {n}", spec=spec, show_scores=show_scores,
                        opens_at=now + timedelta(hours=opens_in_hours),
                        closes_at=now + timedelta(hours=closes_in_hours))
            db.session.add(wave)
            db.session.flush()
            for user in users:
                db.session.add(Enrollment(wave_id=wave.id, user_id=user.id, source="manual"))
            db.session.commit()
            return wave.id

    return factory
