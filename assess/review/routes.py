"""The assessor's pages: the review queue, the participant report, and decisions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from assess.auth.access import admin_required, assessor_required
from assess.extensions import db
from assess.models import Agency, User, Wave
from assess.review.forms import REASONS, ConfirmForm, NoteForm, OverrideForm, RetestForm
from assess.services import report, review
from assess.services.review import QUEUE_STATES, FLAG_CODES, QueueFilters, ReviewError
from assess.services.flags import PRECISION_CODES

bp = Blueprint("review", __name__)


def _int_arg(name):
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.route("/")
@assessor_required
def queue():
    filters = QueueFilters(
        wave_id=_int_arg("wave"), cluster=_int_arg("cluster"), agency_id=_int_arg("agency"),
        unit_id=_int_arg("unit"), state=request.args.get("state") if request.args.get("state") in QUEUE_STATES else None,
        flag=request.args.get("flag") if request.args.get("flag") in FLAG_CODES else None,
        mine=request.args.get("mine") == "1",
    )
    page = db.paginate(review.queue_query(current_user, filters), per_page=50, max_per_page=200, count=True)
    waves = db.session.execute(select(Wave).order_by(Wave.opens_at.desc())).scalars().all()
    agencies = db.session.execute(select(Agency).order_by(Agency.cluster, Agency.name)).scalars().all()
    return render_template("review/queue.html", page=page, f=filters, waves=waves, agencies=agencies,
                           states=QUEUE_STATES, flag_codes=FLAG_CODES, precision_codes=PRECISION_CODES, form=NoteForm())


@bp.route("/bulk-approve", methods=["POST"])
@assessor_required
def bulk_approve():
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    ids = [int(v) for v in request.form.getlist("attempt") if v.isdigit()]
    n = review.bulk_approve(current_user, ids)
    db.session.commit()
    flash(_("%(n)d unflagged attempts approved.", n=n), "success")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url) else url_for("review.queue"))


def _case_or_error(attempt_id: int):
    try:
        return review.get_case(current_user, attempt_id)
    except ReviewError as error:
        abort(error.status)


@bp.route("/attempts/<int:attempt_id>")
@assessor_required
def report_page(attempt_id: int):
    case_ = _case_or_error(attempt_id)
    data = report.build(case_.attempt, with_items=True)
    competencies = {line.competency.id: line.competency for line in data.lines}
    override = OverrideForm()
    override.competency_id.choices = [(line.competency.id, f"{line.competency.code} {line.competency.name_id}") for line in data.lines]
    pending = review._pending(case_)
    assessor = db.session.get(User, case_.assessor_id) if case_.assessor_id else None
    assessors = []
    if current_user.role == "admin":  # admins hand attempts to assessors of other agencies
        participant_agency = case_.attempt.user.agency_id
        assessors = [a for a in db.session.execute(
            select(User).where(User.role == "assessor", User.is_active_account.is_(True)).order_by(User.name)).scalars()
            if a.agency_id is None or a.agency_id != participant_agency]
    return render_template("review/report.html", case=case_, r=data, override=override, retest=RetestForm(),
                           assessors=assessors,
                           note=NoteForm(), confirm=ConfirmForm(), pending=pending, assessor=assessor,
                           timeline=review.timeline(attempt_id), z90=report.Z90, reason_labels=dict(REASONS),
                           competencies=competencies, evidence=lambda value: _readable(value, competencies))


def _readable(value, competencies: dict) -> str:
    """A flag's evidence as text, competencies by code rather than by database id."""
    if isinstance(value, dict):
        rest = ", ".join(f"{key}: {_readable(item, competencies)}" for key, item in value.items()
                         if key != "competency_id")
        if "competency_id" in value:  # "R.01 (se: 0.8, n_items: 4)"
            comp = competencies.get(value["competency_id"])
            code = comp.code if comp else str(value["competency_id"])
            return f"{code} ({rest})" if rest else code
        return rest
    if isinstance(value, list):
        return "; ".join(_readable(item, competencies) for item in value)
    return str(value)


@bp.route("/attempts/<int:attempt_id>/<action>", methods=["POST"])
@assessor_required
def decide(attempt_id: int, action: str):
    case_ = _case_or_error(attempt_id)
    try:
        if action == "take":
            NoteForm().validate_on_submit() or abort(400)
            review.assign(case_, current_user, by=current_user)
        elif action == "assign":
            NoteForm().validate_on_submit() or abort(400)
            assessor = db.session.get(User, int(request.form.get("assessor_id", "0") or 0))
            if assessor is None:
                raise ReviewError(_("Choose an assessor."), 400)
            review.assign(case_, assessor, by=current_user)
        elif action == "approve":
            form = NoteForm()
            form.validate_on_submit() or abort(400)
            review.approve(case_, current_user, form.note.data or "")
        elif action == "second-opinion":
            form = NoteForm()
            form.validate_on_submit() or abort(400)
            review.ask_second_opinion(case_, current_user, form.note.data or "")
        elif action == "override":
            form = OverrideForm()
            form.competency_id.choices = [(c, c) for c in [int(request.form.get("competency_id", 0) or 0)]]
            if not form.validate_on_submit():
                raise ReviewError(" ".join(e for errs in form.errors.values() for e in errs), 400)
            review.request_override(case_, current_user, competency_id=form.competency_id.data,
                                    new_level=form.new_level.data, reason_code=form.reason_code.data,
                                    reason_text=form.reason_text.data)
        elif action == "retest":
            form = RetestForm()
            if not form.validate_on_submit():
                raise ReviewError(" ".join(e for errs in form.errors.values() for e in errs), 400)
            review.request_retest(case_, current_user, reason_code=form.reason_code.data,
                                  reason_text=form.reason_text.data)
        elif action in ("confirm", "reject"):
            form = ConfirmForm()
            form.validate_on_submit() or abort(400)
            review.confirm(case_, current_user, accept=action == "confirm", note=form.note.data or "")
        else:
            abort(404)
        db.session.commit()
        flash(_("Decision recorded."), "success")
    except ReviewError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    return redirect(url_for("review.report_page", attempt_id=attempt_id))


@bp.route("/rescore/<int:wave_id>", methods=["GET", "POST"])
@admin_required
def rescore(wave_id: int):
    """After a parameter update: whose levels and bands would change; an admin accepts."""
    wave = db.get_or_404(Wave, wave_id)
    form = NoteForm()
    if form.validate_on_submit():
        n = review.rescore_apply(wave.id, current_user)
        db.session.commit()
        flash(_("%(n)d attempts rescored with the current item parameters.", n=n), "success")
        return redirect(url_for("review.rescore", wave_id=wave.id))
    total, changes, bands = review.rescore_preview(wave.id)
    return render_template("review/rescore.html", wave=wave, total=total, changes=changes, bands=bands, form=form)
