"""The assessor's pages. The review queue itself is built by the review issue."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from assess.auth.access import assessor_required
from assess.extensions import db
from assess.models import Attempt

bp = Blueprint("review", __name__)


@bp.route("/")
@assessor_required
def queue():
    counts = dict(
        db.session.execute(select(Attempt.status, func.count()).group_by(Attempt.status)).all()
    )
    return render_template("review/queue.html", counts=counts)
