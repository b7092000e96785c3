"""The participant's pages: my assessments (the test itself comes with the delivery issue)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from assess.auth.access import participant_required
from assess.extensions import db
from assess.models import Attempt, Enrollment, Wave

bp = Blueprint("participant", __name__)


@bp.route("/")
@participant_required
def home():
    rows = db.session.execute(
        select(Enrollment, Wave)
        .join(Wave, Enrollment.wave_id == Wave.id)
        .where(Enrollment.user_id == current_user.id)
        .order_by(Wave.opens_at)
    ).all()
    attempts = {
        a.wave_id: a
        for a in db.session.execute(
            select(Attempt).where(Attempt.user_id == current_user.id, Attempt.status != "void")
        ).scalars()
    }
    return render_template("participant/home.html", rows=rows, attempts=attempts)
