"""The admin's item bank pages: browse, preview, create and edit, the workflow, charts, import and
export, calibration. Registered on the admin blueprint (imported at the end of routes.py)."""
from __future__ import annotations

import io

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from assess.admin.forms import AcceptForm, CalibrationForm, ImportForm, ItemForm, TransitionForm
from assess.admin.routes import bp
from assess.auth.access import admin_required
from assess.extensions import db
from assess.models import Battery, CalibrationRun, Competency, Item
from assess.services import audit, bank, bank_authoring as authoring, bank_calibration as calibration
from assess.services import bank_charts as charts

PER_PAGE = 50


def _competencies() -> list[Competency]:
    return db.session.execute(
        select(Competency).join(Battery).order_by(Battery.position, Competency.position, Competency.code)
    ).scalars().all()


def _competency_label(comp: Competency) -> str:
    from flask_babel import get_locale

    return f"{comp.code} · {comp.name_id if str(get_locale()) == 'id' else comp.name_en}"


@bp.route("/bank/")
@admin_required
def bank_index():
    filters = authoring.BankFilters.from_args(request.args)
    page = db.paginate(authoring.browse_query(filters), per_page=PER_PAGE, max_per_page=200, count=True)
    rows = [(item, item.current, item.competency) for item in page.items]
    responses = authoring.response_counts([item.id for item in page.items])
    batteries = db.session.execute(select(Battery).order_by(Battery.position)).scalars().all()
    return render_template("admin/bank/index.html", page=page, rows=rows, filters=filters, responses=responses,
                           batteries=batteries, competencies=_competencies(), label=_competency_label,
                           statuses=authoring.STATUS_LABELS, types=authoring.TYPE_LABELS,
                           difficulty=bank.item_difficulty)


def _item_form(form: ItemForm, competency_id: int | None) -> None:
    form.competency.choices = [(c.code, _competency_label(c)) for c in _competencies()]
    form.stimulus.choices = [("", _("None"))] + [(c, c) for c in authoring.stimulus_choices(competency_id)]


def _save_failed(form: ItemForm, error: Exception):
    db.session.rollback()
    if isinstance(error, bank.BankValidationError):
        loose = form.add_problems(error.problems)
        for problem in loose:
            flash(f"{problem.field or ''}: {problem.message}", "danger")
    else:
        flash(str(getattr(error, "message", error)), "danger")


@bp.route("/bank/items/new", methods=["GET", "POST"])
@admin_required
def bank_item_new():
    form = ItemForm()
    if request.method == "GET":
        form.competency.data = request.args.get("competency") or None
        comp = db.session.execute(select(Competency).filter_by(code=form.competency.data)).scalar_one_or_none()
        if comp is not None:
            form.type.data = comp.item_type
            form.model.data = comp.irt_model
    _item_form(form, None)
    if form.validate_on_submit():
        comp = db.session.execute(select(Competency).filter_by(code=form.competency.data)).scalar_one_or_none()
        if comp is None:
            form.competency.errors = [_("Choose a competency.")]
        else:
            try:
                item = authoring.create_item(comp, form.to_raw(), actor=current_user, note=form.note.data)
            except (bank.BankValidationError, authoring.WorkflowError) as error:
                _save_failed(form, error)
            else:
                db.session.commit()
                flash(_("Item %(c)s created as a draft.", c=item.code), "success")
                return redirect(url_for("admin.bank_item", item_id=item.id))
    return render_template("admin/bank/edit.html", form=form, item=None, statuses=authoring.STATUS_LABELS), 200 if request.method == "GET" else 422


@bp.route("/bank/items/<int:item_id>")
@admin_required
def bank_item(item_id: int):
    item = db.get_or_404(Item, item_id)
    version_no = request.args.get("version", type=int)
    version = next((v for v in item.versions if v.version == version_no), None) or item.current
    return render_template(
        "admin/bank/item.html", item=item, version=version, raw=bank.item_to_raw(item, version),
        likert_labels=bank.likert_labels(version), transitions=authoring.available_transitions(item, current_user),
        history=authoring.history(item), status_history=authoring.status_history(item), usage=authoring.usage(item),
        curves=charts.version_curves(item.code, version), statuses=authoring.STATUS_LABELS,
        types=authoring.TYPE_LABELS, form=TransitionForm(), label=_competency_label, people=authoring.item_people(item),
        difficulty=bank.item_difficulty(version))


@bp.route("/bank/items/<int:item_id>/edit", methods=["GET", "POST"])
@admin_required
def bank_item_edit(item_id: int):
    item = db.get_or_404(Item, item_id)
    form = ItemForm()
    _item_form(form, item.competency_id)
    form.competency.data = item.competency.code
    if request.method == "GET":
        form.fill(bank.item_to_raw(item))
    elif form.validate_on_submit():
        try:
            version = authoring.edit_item(item, form.to_raw(), actor=current_user, note=form.note.data)
        except (bank.BankValidationError, authoring.WorkflowError) as error:
            _save_failed(form, error)
        else:
            db.session.commit()
            if version is None:
                flash(_("Nothing changed."), "info")
            else:
                flash(_("Saved as version %(v)d of %(c)s.", v=version.version, c=item.code), "success")
            return redirect(url_for("admin.bank_item", item_id=item.id))
    return render_template("admin/bank/edit.html", form=form, item=item, statuses=authoring.STATUS_LABELS), 200 if request.method == "GET" else 422


@bp.route("/bank/items/<int:item_id>/status", methods=["POST"])
@admin_required
def bank_item_status(item_id: int):
    item = db.get_or_404(Item, item_id)
    form = TransitionForm()
    if not form.validate_on_submit():
        flash(_("Choose a step."), "danger")
        return redirect(url_for("admin.bank_item", item_id=item.id))
    try:
        authoring.transition(item, form.to_status.data, actor=current_user, reason=form.reason.data)
    except authoring.WorkflowError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("%(c)s is now %(s)s.", c=item.code, s=authoring.STATUS_LABELS[item.status]), "success")
    return redirect(url_for("admin.bank_item", item_id=item.id))


@bp.route("/bank/competencies/<int:competency_id>")
@admin_required
def bank_competency(competency_id: int):
    comp = db.get_or_404(Competency, competency_id)
    runs = db.session.execute(select(CalibrationRun).where(CalibrationRun.competency_id == comp.id)
                              .order_by(CalibrationRun.id.desc()).limit(20)).scalars().all()
    return render_template("admin/bank/competency.html", comp=comp, data=charts.competency_charts(comp),
                           runs=runs, form=CalibrationForm(), statuses=authoring.STATUS_LABELS,
                           label=_competency_label, stages=calibration.STAGE_LABELS)


@bp.route("/bank/competencies/<int:competency_id>/calibrate", methods=["POST"])
@admin_required
def bank_calibrate(competency_id: int):
    comp = db.get_or_404(Competency, competency_id)
    form = CalibrationForm()
    if not form.validate_on_submit():
        flash(_("Give the minimum number of responses per item."), "danger")
        return redirect(url_for("admin.bank_competency", competency_id=comp.id))
    run = calibration.start_run(comp, actor=current_user, min_responses=form.min_responses.data)
    db.session.commit()
    calibration.launch(current_app._get_current_object(), run.id)
    return redirect(url_for("admin.bank_calibration_run", run_id=run.id))


@bp.route("/bank/calibration/<int:run_id>")
@admin_required
def bank_calibration_run(run_id: int):
    run = calibration.refresh(db.get_or_404(CalibrationRun, run_id))
    db.session.commit()
    return render_template("admin/bank/calibration.html", run=run, form=AcceptForm(),
                           selected=set(calibration.default_selection(run)), flags=calibration.FLAG_LABELS,
                           status=calibration.status_payload(run), label=_competency_label)


@bp.route("/bank/calibration/<int:run_id>/status")
@admin_required
def bank_calibration_status(run_id: int):
    run = calibration.refresh(db.get_or_404(CalibrationRun, run_id))
    db.session.commit()
    return jsonify(calibration.status_payload(run))


@bp.route("/bank/calibration/<int:run_id>/accept", methods=["POST"])
@admin_required
def bank_calibration_accept(run_id: int):
    run = db.get_or_404(CalibrationRun, run_id)
    form = AcceptForm()
    if form.validate_on_submit():
        try:
            created = calibration.accept(run, request.form.getlist("items"), actor=current_user)
        except calibration.CalibrationError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("New calibrated versions of %(n)d item(s) saved. They stay in pilot until approved as operational.",
                    n=len(created)), "success")
    return redirect(url_for("admin.bank_calibration_run", run_id=run.id))


@bp.route("/bank/import", methods=["GET", "POST"])
@admin_required
def bank_import():
    form = ImportForm()
    form.competency.choices = [("", _("None"))] + [(c.code, _competency_label(c)) for c in _competencies()]
    problems, result = None, None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = bank.import_upload(upload.filename or "upload", upload.read(), actor=current_user,
                                        dry_run=form.dry_run.data, update_existing=not form.new_only.data,
                                        default_competency=form.competency.data or None)
        except bank.BankValidationError as error:
            db.session.rollback()
            problems = error.problems
        else:
            if result.dry_run:
                db.session.rollback()
            else:
                audit.record("bank.import", actor=current_user,
                             detail={"file": upload.filename, "counts": result.counts})
                db.session.commit()
                flash(_("Imported %(file)s: %(summary)s.", file=upload.filename, summary=result.summary()), "success")
                return redirect(url_for("admin.bank_index"))
    status = 422 if problems or (request.method == "POST" and form.errors) else 200
    return render_template("admin/bank/import.html", form=form, problems=problems, result=result,
                           competencies=_competencies(), label=_competency_label,
                           formats=bank.EXPORT_FORMATS), status


@bp.route("/bank/export")
@admin_required
def bank_export():
    fmt = request.args.get("format", "yaml")
    codes = [c for c in request.args.getlist("competency") if c]
    if fmt not in bank.EXPORT_FORMATS:
        abort(400)
    known = set(db.session.execute(select(Competency.code)).scalars())
    if any(c not in known for c in codes):
        abort(404)
    data, name, mime = bank.export_bytes(fmt, codes or None)
    audit.record("bank.export", actor=current_user, detail={"format": fmt, "competencies": codes, "bytes": len(data)})
    db.session.commit()
    return send_file(io.BytesIO(data), mimetype=mime, as_attachment=True, download_name=name)
