"""The demo's talent data: simulated, scored attempts and a computed talent map in five clusters."""
from __future__ import annotations

from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Attempt, PerformanceRating, RelocationScheme, Score, TalentPlacement, User
from assess.services.demo import DEMO_PARTICIPANT_NIP


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
        thetas = db.session.execute(select(Score.theta)).scalars().all()
        assert len(thetas) == 3 * len(attempts) and len({round(t, 3) for t in thetas}) > 100  # real estimates
        rated = db.session.scalar(select(func.count(func.distinct(PerformanceRating.user_id))))
        assert participants * 0.75 < rated < participants  # most, not all
        placements = db.session.execute(select(TalentPlacement)).scalars().all()
        assert len(placements) == len(attempts)
        assert {p.cluster for p in placements} == {1, 2, 3, 4, 5}
        boxed = [p for p in placements if p.box is not None]
        assert 0 < len(boxed) < len(placements) and len({p.box for p in boxed}) >= 5
        assert {p.ready for p in placements} >= {True, False}
        assert db.session.scalar(select(func.count(RelocationScheme.id))) == 2
