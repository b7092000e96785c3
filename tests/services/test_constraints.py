"""Invariants that the database itself enforces."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from assess.extensions import db
from assess.models import (
    Agency, Attempt, Battery, Competency, Item, ItemVersion, Response, TestSpec, User, Wave, utcnow,
)


@pytest.fixture
def ctx(app_ctx):
    yield
    db.session.rollback()


def _commit_fails(*objs):
    db.session.add_all(objs)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_cluster_must_be_1_to_5(ctx):
    _commit_fails(Agency(code="X", name="X", cluster=6))
    _commit_fails(Agency(code="Y", name="Y", cluster=0))


def test_role_must_be_known_and_credentials_fit_the_role(ctx):
    _commit_fails(User(role="superuser", username="x", name="x", password_hash="h", session_token="t"))
    _commit_fails(User(role="participant", username="x", name="x", password_hash="h", session_token="t"))
    _commit_fails(User(role="admin", nip="198507142010011003", name="x", password_hash="h", session_token="t"))


def test_nip_is_unique(ctx, make_user):
    user = make_user("participant")
    _commit_fails(User(role="participant", nip=user.nip, name="dup", password_hash="h", session_token="t"))


def test_response_is_unique_per_attempt_and_item(ctx, make_user):
    user = make_user("participant")
    battery = Battery(code="b", name_id="b", name_en="b")
    comp = Competency(code="C.01", name_id="c", name_en="c", item_type="mc", irt_model="2pl", battery=battery)
    item = Item(code="C.01-001", competency=comp, status="operational")
    version = ItemVersion(item=item, version=1, item_type="mc", level=1, stem="s",
                          options=[{"text": "a", "score": 1}], irt_model="2pl", a=1.0, b=0.0, c=0.0)
    spec = TestSpec(code="T", name="T")
    now = utcnow()
    wave = Wave(code="W", name="W", spec=spec, opens_at=now, closes_at=now + timedelta(days=1))
    attempt = Attempt(wave=wave, user_id=user.id, deadline_at=now + timedelta(hours=1))
    db.session.add_all([battery, comp, item, version, spec, wave, attempt])
    db.session.commit()
    db.session.add(Response(attempt_id=attempt.id, item_id=item.id, item_version_id=version.id, choice=0))
    db.session.commit()
    _commit_fails(Response(attempt_id=attempt.id, item_id=item.id, item_version_id=version.id, choice=1))
    # A wave's window must close after it opens.
    _commit_fails(Wave(code="W2", name="W2", spec_id=spec.id, opens_at=now, closes_at=now))
    # Deleting an attempt removes its responses (ON DELETE CASCADE), not the item.
    db.session.delete(db.session.get(Attempt, attempt.id))
    db.session.commit()
    assert db.session.query(Response).count() == 0 and db.session.get(Item, item.id) is not None


def test_agency_with_people_cannot_be_deleted(ctx, make_user):
    user = make_user("participant")
    from sqlalchemy import text

    with pytest.raises(IntegrityError):
        db.session.execute(text("DELETE FROM agencies WHERE id = :id"), {"id": user.agency_id})
        db.session.commit()
    db.session.rollback()
