"""The demo's talent data: simulated, scored attempts and a computed talent map in five clusters."""
from __future__ import annotations

from sqlalchemy import func, select

from assess.extensions import db
from assess.models import (
    Attempt, Enrollment, PerformanceRating, RelocationScheme, Score, TalentPlacement, User, Wave, utcnow,
)
from assess.services.demo import DEMO_MAP_SPEC, DEMO_MAP_WAVE, DEMO_PARTICIPANT_NIP, DEMO_WAVE


def test_demo_seed_scores_attempts_and_maps_talent(runner, app):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        participants = db.session.scalar(select(func.count(User.id)).where(User.role == "participant"))
        demo_user = db.session.execute(select(User).filter_by(nip=DEMO_PARTICIPANT_NIP)).scalar_one()
        attempts = db.session.execute(select(Attempt)).scalars().all()
        assert len(attempts) == participants - 1  # everyone but the documented demo participant
        assert all(a.status == "submitted" and a.scored_at is not None for a in attempts)
        assert demo_user.id not in {a.user_id for a in attempts}
        # The simulated attempts belong to the mapping wave that has closed, the whole battery each;
        # the open demo wave is left for people to try.
        past = db.session.execute(select(Wave).filter_by(code=DEMO_MAP_WAVE["code"])).scalar_one()
        assert past.closes_at < utcnow() and {a.wave_id for a in attempts} == {past.id}
        assert all(past.opens_at <= a.started_at < a.submitted_at <= past.closes_at for a in attempts)
        assert demo_user.id not in set(db.session.execute(
            select(Enrollment.user_id).where(Enrollment.wave_id == past.id)).scalars())
        open_wave = db.session.execute(select(Wave).filter_by(code=DEMO_WAVE["code"])).scalar_one()
        assert open_wave.closes_at > utcnow()
        thetas = db.session.execute(select(Score.theta)).scalars().all()
        assert len(thetas) == len(DEMO_MAP_SPEC["sections"]) * len(attempts) == 25 * len(attempts)
        assert len({round(t, 3) for t in thetas}) > 500  # real estimates
        rated = db.session.scalar(select(func.count(func.distinct(PerformanceRating.user_id))))
        assert participants * 0.75 < rated < participants  # most, not all
        placements = db.session.execute(select(TalentPlacement)).scalars().all()
        assert len(placements) == len(attempts)
        assert {p.cluster for p in placements} == {1, 2, 3, 4, 5}
        boxed = [p for p in placements if p.box is not None]
        assert 0 < len(boxed) < len(placements) and len({p.box for p in boxed}) >= 5
        assert {p.ready for p in placements} >= {True, False}
        assert db.session.scalar(select(func.count(RelocationScheme.id))) == 2
