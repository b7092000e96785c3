"""Versioning and the workflow: edits make versions, old attempts keep their version, versions never
change in place, forbidden steps and self-approval are refused, every step is recorded."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from tests.services.test_bank_support import docs, import_dir, write_bank


@pytest.fixture
def loaded(app_ctx, tmp_path):
    import_dir(write_bank(tmp_path / "bank"))
    with force_locale("en"):
        yield


def _item(code):
    from assess.extensions import db
    from assess.models import Item

    return db.session.execute(select(Item).filter_by(code=code)).scalar_one()


def _admin(name="admin"):
    from assess.extensions import db
    from assess.models import User
    from assess.services.accounts import new_session_token

    user = User(role="admin", username=name, name=name.title(), session_token=new_session_token(),
                password_hash="x")
    db.session.add(user)
    db.session.commit()
    return user


def _attempt_with_response(item, choice: int):
    """A submitted attempt whose response used the item's current version."""
    from assess.extensions import db
    from assess.models import Attempt, Response, TestSpec, User, Wave, utcnow
    from assess.services.accounts import new_session_token

    now = utcnow()
    spec = TestSpec(code="S-VER", name="Spec")
    wave = Wave(code="W-VER", name="Wave", spec=spec, opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1))
    user = User(role="participant", nip="198507142010011003", name="Peserta", password_hash="x",
                session_token=new_session_token())
    attempt = Attempt(wave=wave, user=user, status="submitted", deadline_at=now + timedelta(hours=1))
    version = item.current
    attempt.responses.append(Response(item_id=item.id, item_version_id=version.id, choice=choice,
                                      category=choice, points=version.options[choice]["score"]))
    db.session.add(attempt)
    db.session.commit()
    return attempt


def test_editing_an_operational_item_creates_a_version_and_old_attempts_keep_theirs(loaded):
    from assess.extensions import db
    from assess.models import Response
    from assess.services import bank, bank_authoring as authoring

    editor = _admin()
    item = _item("TA.01-001")
    attempt = _attempt_with_response(item, choice=1)  # the key of version 1
    v1 = item.current
    raw = bank.item_to_raw(item)
    raw["options"] = [{"text": "Triwulan I", "key": True}, {"text": "Triwulan II"}, {"text": "Sama saja"},
                      {"text": "Tidak dapat ditentukan"}]
    raw["irt"]["b"] = -0.5
    version = authoring.edit_item(item, raw, actor=editor, note="kunci diperbaiki")
    db.session.commit()
    assert (version.version, item.current_version, item.status) == (2, 2, "operational")
    assert version.change_note == "kunci diperbaiki" and version.created_by_id == editor.id
    assert [v.version for v in item.versions] == [1, 2]
    db.session.expire_all()
    response = db.session.execute(select(Response).where(Response.attempt_id == attempt.id)).scalar_one()
    old = db.session.get(type(v1), response.item_version_id)
    assert old.version == 1 and old.options[1]["score"] == 1 and old.b == -1.0  # scoring of the attempt
    assert _item("TA.01-001").current.options[0]["score"] == 1 and _item("TA.01-001").current.b == -0.5
    # Saving the same content again changes nothing.
    assert authoring.edit_item(_item("TA.01-001"), raw, actor=editor) is None


def test_versions_never_change_in_place(loaded):
    from assess.extensions import db
    from assess.services.bank import ItemVersionIsImmutable

    version = _item("TA.02-001").current
    version.a = 2.0
    with pytest.raises(ItemVersionIsImmutable):
        db.session.flush()
    db.session.rollback()
    assert _item("TA.02-001").current.a == 1.2


def test_reimporting_a_changed_file_versions_only_what_changed(loaded, tmp_path):
    files = docs()
    files["alpha/TA.02.yaml"]["items"][0]["irt"]["a"] = 1.4
    write_bank(tmp_path / "v2", files)
    result = import_dir(tmp_path / "v2")
    assert [(c.kind, c.code) for c in result.changes] == [("version", "TA.02-001")]
    item = _item("TA.02-001")
    assert item.current_version == 2 and item.current.a == 1.4 and item.versions[0].a == 1.2
    assert import_dir(tmp_path / "v2").changes == []


def test_a_changed_stimulus_is_a_new_revision_and_old_versions_keep_the_old_text(loaded, tmp_path):
    from assess.extensions import db
    from assess.models import Stimulus

    files = docs()
    files["alpha/TA.01.yaml"]["stimuli"][0]["body"] = "Data layanan (revisi):\n\n| Triwulan | Keluhan |\n|---|---:|\n| I | 41 |"
    write_bank(tmp_path / "v2", files)
    result = import_dir(tmp_path / "v2")
    assert {(c.kind, c.code) for c in result.changes} == {("stimulus", "TA.01-S01"), ("version", "TA.01-001")}
    item = _item("TA.01-001")
    assert item.current.stimulus.code == "TA.01-S01" and "revisi" in item.current.stimulus.body
    assert item.versions[0].stimulus.code == "TA.01-S01@1" and "revisi" not in item.versions[0].stimulus.body
    assert db.session.scalar(select(db.func.count(Stimulus.id))) == 2


def test_workflow_refuses_forbidden_steps(loaded):
    from assess.services import bank_authoring as authoring

    admin = _admin()
    draft = _item("TA.01-003")
    for target in ("pilot", "operational"):
        with pytest.raises(authoring.WorkflowError) as error:
            authoring.transition(draft, target, actor=admin)
        assert "cannot move from Draft" in str(error.value.message)
    with pytest.raises(authoring.WorkflowError):
        authoring.transition(_item("TA.01-001"), "draft", actor=admin)  # operational → draft
    with pytest.raises(authoring.WorkflowError) as error:
        authoring.transition(_item("TA.01-001"), "retired", actor=admin, reason=" ")
    assert "Give a reason" in str(error.value.message)
    assert _item("TA.01-001").status == "operational"


def test_an_author_cannot_approve_their_own_item(loaded):
    from assess.extensions import db
    from assess.models import AuditLog, Competency, ItemStatusChange
    from assess.services import bank, bank_authoring as authoring

    author, reviewer, editor = _admin("penulis"), _admin("penelaah"), _admin("penyunting")
    comp = db.session.execute(select(Competency).filter_by(code="TA.02")).scalar_one()
    raw = bank.item_to_raw(_item("TA.02-001"))
    raw["stem"] = "Situasi baru yang ditulis di layar."
    item = authoring.create_item(comp, raw, actor=author)
    db.session.commit()
    assert (item.code, item.status, item.author_id) == ("TA.02-003", "draft", author.id)
    authoring.transition(item, "review", actor=author)  # submitting is not approving
    with pytest.raises(authoring.WorkflowError) as error:
        authoring.transition(item, "pilot", actor=author)
    assert "another admin must approve it" in str(error.value.message)
    assert [t["blocked"] is not None for t in authoring.available_transitions(item, author)
            if t["to"] == "pilot"] == [True]
    authoring.transition(item, "pilot", actor=reviewer, reason="isi sudah ditelaah")
    db.session.commit()
    assert item.status == "pilot" and item.reviewer_id == reviewer.id
    # Whoever wrote the current version is an author too.
    raw["stem"] = "Situasi baru yang disunting."
    authoring.edit_item(item, raw, actor=editor)
    with pytest.raises(authoring.WorkflowError):
        authoring.transition(item, "operational", actor=editor)
    authoring.transition(item, "operational", actor=reviewer)
    authoring.transition(item, "retired", actor=author, reason="diganti butir lain")
    db.session.commit()
    steps = db.session.execute(select(ItemStatusChange).where(ItemStatusChange.item_id == item.id)
                               .order_by(ItemStatusChange.id)).scalars().all()
    assert [(s.from_status, s.to_status, s.actor_id) for s in steps] == [
        (None, "draft", author.id), ("draft", "review", author.id), ("review", "pilot", reviewer.id),
        ("pilot", "operational", reviewer.id), ("operational", "retired", author.id)]
    assert steps[2].reason == "isi sudah ditelaah" and all(s.at is not None for s in steps)
    audited = db.session.execute(select(AuditLog.action).where(AuditLog.target_id == str(item.id))).scalars().all()
    assert audited.count("bank.item_status") == 4 and "bank.item_create" in audited and "bank.item_edit" in audited
    with pytest.raises(authoring.WorkflowError):
        authoring.edit_item(item, raw, actor=editor)  # retired items are not edited


def test_create_item_validates_like_an_import(loaded):
    from assess.extensions import db
    from assess.models import Competency
    from assess.services import bank, bank_authoring as authoring

    author = _admin()
    comp = db.session.execute(select(Competency).filter_by(code="TA.01")).scalar_one()
    raw = {"type": "mc", "level": 2, "stem": "<script>x()</script>Soal",
           "options": [{"text": "A", "key": True}, {"text": "B", "key": True}, {"text": "C"}],
           "irt": {"model": "2pl", "a": 0, "b": 1.0}}
    with pytest.raises(bank.BankValidationError) as error:
        authoring.create_item(comp, raw, actor=author)
    assert {p.field for p in error.value.problems} == {"stem", "options", "irt.a"}
