"""Calibration with anchors: pilot items' simulated parameters are recovered on the operational
scale, misfitting items are flagged, accepting writes new versions, the CLI and progress work."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from flask_babel import force_locale
from sqlalchemy import insert, select

from tests.services.test_bank_support import import_dir, write_bank

# Operational anchors (2PL) spread over the scale, and the true values of the pilot items.
ANCHORS = [(0.9 + 0.1 * (j % 5), -2.0 + 0.3 * j) for j in range(15)]
PILOTS = [(0.8, -1.2), (1.2, 0.0), (1.5, 0.8), (1.0, 1.6)]
THETA_MEAN, THETA_SD = 0.5, 1.2  # the calibration sample is abler and more varied than N(0, 1)
N_PERSONS = 2000


def _bank_files():
    items = []
    for j, (a, b) in enumerate(ANCHORS + PILOTS + [(1.0, 0.0)]):
        pilot = j >= len(ANCHORS)
        irt = {"model": "2pl", "a": 1.0, "b": 0.0} if pilot else {"model": "2pl", "a": a, "b": b}
        items.append({"id": f"CA.01-{j + 1:03d}", "type": "mc", "level": 3,
                      "status": "pilot" if pilot else "operational", "stem": f"Soal kalibrasi {j + 1}",
                      "options": [{"text": "benar", "key": True}, {"text": "salah"}, {"text": "keliru"}],
                      "irt": irt})
    catalog = {"batteries": [{"code": "cal", "name_id": "Kalibrasi", "name_en": "Calibration", "competencies": [
        {"code": "CA.01", "name_id": "Uji kalibrasi", "name_en": "Calibration test", "item_type": "mc",
         "model": "2pl"}]}]}
    return {"catalog.yaml": catalog, "cal/CA.01.yaml": {"competency": "CA.01", "items": items}}


def _responses(x: np.ndarray) -> None:
    """Store x (persons × items, -1 = not administered) as finished attempts of one wave."""
    from assess.extensions import db
    from assess.models import Attempt, Item, Response, TestSpec, User, Wave, utcnow

    now = utcnow()
    wave = Wave(code="W-CAL", name="Kalibrasi", spec=TestSpec(code="S-CAL", name="Kalibrasi"),
                opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))
    db.session.add(wave)
    db.session.flush()
    db.session.execute(insert(User.__table__), [
        {"role": "participant", "nip": f"19900101201501{i:04d}", "name": f"Peserta {i}", "password_hash": "x",
         "session_token": f"t{i}"} for i in range(x.shape[0])])
    users = db.session.execute(select(User.id).where(User.nip.like("1990010120150%")).order_by(User.nip)).scalars().all()
    db.session.execute(insert(Attempt.__table__), [
        {"wave_id": wave.id, "user_id": u, "status": "submitted" if i % 50 else "expired",
         "deadline_at": now, "submitted_at": now} for i, u in enumerate(users)])
    attempts = db.session.execute(select(Attempt.id).where(Attempt.wave_id == wave.id).order_by(Attempt.user_id)).scalars().all()
    items = db.session.execute(select(Item).where(Item.code.like("CA.01-%")).order_by(Item.code)).scalars().all()
    rows = []
    for i, attempt in enumerate(attempts):
        for j, item in enumerate(items):
            if x[i, j] >= 0:
                rows.append({"attempt_id": attempt, "item_id": item.id, "item_version_id": item.current.id,
                             "choice": int(1 - x[i, j]), "category": int(x[i, j]), "points": int(x[i, j])})
    db.session.execute(insert(Response.__table__), rows)
    db.session.commit()


@pytest.fixture(scope="module")
def simulated():
    from assess.irt import ItemBank, simulate_responses

    rng = np.random.default_rng(20260424)
    params = ANCHORS + PILOTS
    true = ItemBank.from_arrays("2pl", a=[a for a, _ in params], b=[b for _, b in params])
    theta = rng.normal(THETA_MEAN, THETA_SD, N_PERSONS)
    x = simulate_responses(true, theta, rng=rng)
    pilots = slice(len(ANCHORS), len(params))
    x[:, pilots] = np.where(rng.random((N_PERSONS, len(PILOTS))) < 0.8, x[:, pilots], -1)  # a pilot block
    noise = rng.integers(0, 2, (N_PERSONS, 1))  # an item nobody can answer better than by chance
    return np.hstack([x, noise])


@pytest.fixture
def calibration_bank(app_ctx, tmp_path, simulated):
    import_dir(write_bank(tmp_path / "bank", _bank_files()))
    _responses(simulated)
    with force_locale("en"):
        yield simulated


def _competency():
    from assess.extensions import db
    from assess.models import Competency

    return db.session.execute(select(Competency).filter_by(code="CA.01")).scalar_one()


def test_anchored_calibration_recovers_pilot_parameters_on_the_operational_scale(calibration_bank):
    from assess.extensions import db
    from assess.irt import calibrate
    from assess.services import bank_calibration as calibration

    seen = []
    run = calibration.start_run(_competency(), actor=None, min_responses=50)
    db.session.commit()
    run = calibration.execute_run(run.id, on_progress=seen.append)
    assert run.status == "done", run.error
    result = run.result
    assert result["converged"] and result["persons"] == N_PERSONS
    assert len(result["anchors"]) == len(ANCHORS)
    # The sample's distribution is found on the anchors' scale ...
    assert abs(result["latent_mean"] - THETA_MEAN) < 0.1 and abs(result["latent_sd"] - THETA_SD) < 0.1
    # ... and the pilot items land on it, within 3 of their standard errors (about 1600 responses
    # each, so SE(b) is 0.05-0.16 and SE(a) 0.06-0.1).
    pilots = {i["code"]: i for i in result["items"] if i["role"] == "pilot"}
    for j, (a, b) in enumerate(PILOTS):
        entry = pilots[f"CA.01-{len(ANCHORS) + j + 1:03d}"]
        new, se = entry["new"], entry["se"]
        assert se["a"] < 0.15 and se["b"] < 0.2, entry
        assert abs(new["a"] - a) < 3 * se["a"] + 0.02 and abs(new["b"] - b) < 3 * se["b"] + 0.02, entry
        assert entry["acceptable"] and not entry["flags"], entry
    # Without anchors the same responses give the sample's own scale: b shifted by the mean.
    x = calibration_bank[:, len(ANCHORS):len(ANCHORS) + len(PILOTS)]
    free = calibrate(x, "2pl", min_responses=50)
    assert abs(free.items.b[3] - (PILOTS[3][1] - THETA_MEAN) / THETA_SD) < 0.3
    # The noise item is flagged and not proposed; anchors fit.
    noise = pilots[f"CA.01-{len(ANCHORS) + len(PILOTS) + 1:03d}"]
    assert "low_slope" in noise["flags"]
    assert noise["code"] not in calibration.default_selection(run)
    anchors = [i for i in result["items"] if i["role"] == "anchor"]
    assert all(0.8 < i["infit"] < 1.2 for i in anchors)
    # Progress was reported while it ran.
    stages = [p["stage"] for p in seen]
    assert stages[0] == "gathering" and "calibrating" in stages and stages[-1] == "done"


def test_accepting_writes_calibrated_versions(calibration_bank):
    from assess.extensions import db
    from assess.models import AuditLog, Item
    from assess.services import bank_calibration as calibration

    run = calibration.start_run(_competency(), actor=None)
    db.session.commit()
    run = calibration.execute_run(run.id)
    chosen = calibration.default_selection(run)
    assert len(chosen) == len(PILOTS)
    with pytest.raises(calibration.CalibrationError):
        calibration.accept(run, ["CA.01-001"], actor=None)  # an anchor, not a pilot item
    versions = calibration.accept(run, chosen, actor=None)
    db.session.commit()
    proposals = {i["code"]: i for i in run.result["items"]}
    for version in versions:
        item = db.session.get(Item, version.item_id)
        assert item.status == "pilot" and item.current_version == 2 and version.calibrated
        assert version.a == proposals[item.code]["new"]["a"] and version.b == proposals[item.code]["new"]["b"]
        assert item.versions[0].a == 1.0 and not item.versions[0].calibrated
        assert version.change_note == f"calibration run {run.id}"
    with pytest.raises(calibration.CalibrationError):
        calibration.accept(run, chosen, actor=None)
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "bank.calibration_accept"))


def test_a_competency_without_pilot_responses_fails_clearly(app_ctx, tmp_path):
    from assess.extensions import db
    from assess.services import bank_calibration as calibration

    import_dir(write_bank(tmp_path / "bank", _bank_files()))
    with force_locale("en"):
        run = calibration.start_run(_competency(), actor=None)
        db.session.commit()
        run = calibration.execute_run(run.id)
    assert run.status == "failed" and "No pilot item of CA.01 has responses" in run.error


def test_cli_calibrates_and_accepts(calibration_bank, runner):
    from assess.extensions import db
    from assess.models import Item

    out = runner.invoke(args=["bank", "calibrate", "--competency", "CA.01", "--accept", "--lang", "en"])
    assert out.exit_code == 0, out.output
    assert "converged" in out.output and "iteration" in out.output
    assert "slope below 0.3" in out.output and "Accepted new versions of 4 item(s)" in out.output
    db.session.expire_all()
    calibrated = db.session.execute(select(Item).where(Item.code.like("CA.01-%"))).scalars().all()
    assert sum(1 for i in calibrated if i.current.calibrated and i.status == "pilot") == len(PILOTS)
    unknown = runner.invoke(args=["bank", "calibrate", "--competency", "XX.01"])
    assert unknown.exit_code != 0 and "unknown competency" in unknown.output
