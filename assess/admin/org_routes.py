"""The admin's pages for agencies, units and the five relocation clusters.

Registered on the admin blueprint (imported at the end of routes.py). Rules live in
assess.services.orgs; these views parse, call it, commit and redirect.
"""
from __future__ import annotations

from functools import partial

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from assess.admin.routes import bp
from assess.admin.talent_forms import AgencyForm, ClusterForm, ConfirmForm, UnitForm, UploadForm
from assess.auth.access import admin_required
from assess.extensions import db
from assess.models import Agency, Unit, User
from assess.services import orgs
from assess.admin.uploads import apply_upload


def _raw(form) -> dict:
    data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "submit")}
    data["priority"] = form.priority.data
    return data


def _apply_problems(form, error: orgs.OrgError) -> None:
    problems = getattr(error, "problems", None) or {error.field or "": error.message}
    for name, message in problems.items():
        name = {"strategic_role": "strategic_roles"}.get(name, name)
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [str(message)]
        else:
            flash(str(message), "danger")


@bp.route("/orgs/")
@admin_required
def orgs_index():
    cluster = request.args.get("cluster", type=int)
    q = (request.args.get("q") or "").strip()
    rows = orgs.agency_rows(cluster if cluster in orgs.CLUSTERS else None, q)
    return render_template("admin/orgs/index.html", rows=rows, clusters=orgs.cluster_overview(),
                           names=orgs.cluster_names(str(get_locale())), cluster=cluster, q=q,
                           kinds=orgs.KIND_LABELS)


@bp.route("/orgs/agencies/new", methods=["GET", "POST"])
@admin_required
def orgs_agency_new():
    form = AgencyForm()
    if request.method == "GET":
        form.cluster.data = request.args.get("cluster") or "1"
    if form.validate_on_submit():
        try:
            agency = orgs.save_agency(None, _raw(form), actor=current_user)
        except orgs.OrgError as error:
            db.session.rollback()
            _apply_problems(form, error)
        else:
            db.session.commit()
            flash(_("Agency %(code)s created.", code=agency.code), "success")
            return redirect(url_for("admin.orgs_agency", agency_id=agency.id))
    return render_template("admin/orgs/agency_form.html", form=form, agency=None), 422 if form.errors else 200


@bp.route("/orgs/agencies/<int:agency_id>")
@admin_required
def orgs_agency(agency_id: int):
    agency = db.get_or_404(Agency, agency_id)
    people = dict(db.session.execute(
        select(User.unit_id, func.count(User.id)).where(User.agency_id == agency.id, User.role == "participant")
        .group_by(User.unit_id)).all())
    return render_template("admin/orgs/agency.html", agency=agency, people=people,
                           history=orgs.cluster_history(agency), names=orgs.cluster_names(str(get_locale())),
                           roles=orgs.STRATEGIC_ROLES, grades=orgs.GRADES, kinds=orgs.KIND_LABELS,
                           confirm=ConfirmForm())


@bp.route("/orgs/agencies/<int:agency_id>/edit", methods=["GET", "POST"])
@admin_required
def orgs_agency_edit(agency_id: int):
    agency = db.get_or_404(Agency, agency_id)
    form = AgencyForm()
    if request.method == "GET":
        doc = agency.strategic_role or {}
        form.process(obj=agency, cluster=str(agency.cluster), strategic_roles=doc.get("roles") or [],
                     proximity=doc.get("proximity") or "", urgency=doc.get("urgency") or "")
    if form.validate_on_submit():
        try:
            orgs.save_agency(agency, _raw(form), actor=current_user, reason=form.reason.data)
        except orgs.OrgError as error:
            db.session.rollback()
            _apply_problems(form, error)
        else:
            db.session.commit()
            flash(_("Agency %(code)s saved.", code=agency.code), "success")
            return redirect(url_for("admin.orgs_agency", agency_id=agency.id))
    return render_template("admin/orgs/agency_form.html", form=form, agency=agency), 422 if form.errors else 200


@bp.route("/orgs/agencies/<int:agency_id>/delete", methods=["POST"])
@admin_required
def orgs_agency_delete(agency_id: int):
    agency = db.get_or_404(Agency, agency_id)
    code = agency.code
    try:
        orgs.delete_agency(agency, actor=current_user)
    except orgs.OrgError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return redirect(url_for("admin.orgs_agency", agency_id=agency_id))
    db.session.commit()
    flash(_("Agency %(code)s deleted.", code=code), "success")
    return redirect(url_for("admin.orgs_index"))


def _unit_form(agency: Agency, unit: Unit | None) -> UnitForm:
    form = UnitForm()
    others = [u for u in agency.units if unit is None or u.id != unit.id]
    form.set_choices(agency, others)
    return form


def _save_unit(form: UnitForm, agency: Agency, unit: Unit | None):
    parent_id = int(form.parent.data) if (form.parent.data or "").isdigit() else None
    try:
        saved = orgs.save_unit(unit, agency, _raw(form), parent_id=parent_id, actor=current_user,
                               reason=form.reason.data)
    except orgs.OrgError as error:
        db.session.rollback()
        _apply_problems(form, error)
        return None
    db.session.commit()
    flash(_("Unit %(code)s saved.", code=saved.code), "success")
    return redirect(url_for("admin.orgs_agency", agency_id=agency.id))


@bp.route("/orgs/agencies/<int:agency_id>/units/new", methods=["GET", "POST"])
@admin_required
def orgs_unit_new(agency_id: int):
    agency = db.get_or_404(Agency, agency_id)
    form = _unit_form(agency, None)
    if form.validate_on_submit():
        response = _save_unit(form, agency, None)
        if response is not None:
            return response
    return render_template("admin/orgs/unit_form.html", form=form, agency=agency, unit=None), 422 if form.errors else 200


@bp.route("/orgs/units/<int:unit_id>/edit", methods=["GET", "POST"])
@admin_required
def orgs_unit_edit(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    agency = unit.agency
    form = _unit_form(agency, unit)
    if request.method == "GET":
        doc = unit.strategic_role or {}
        form.process(obj=unit, cluster="" if unit.cluster is None else str(unit.cluster),
                     parent="" if unit.parent_id is None else str(unit.parent_id),
                     strategic_roles=doc.get("roles") or [], proximity=doc.get("proximity") or "",
                     urgency=doc.get("urgency") or "")
    if form.validate_on_submit():
        response = _save_unit(form, agency, unit)
        if response is not None:
            return response
    return render_template("admin/orgs/unit_form.html", form=form, agency=agency, unit=unit), 422 if form.errors else 200


@bp.route("/orgs/units/<int:unit_id>/delete", methods=["POST"])
@admin_required
def orgs_unit_delete(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    agency_id, code = unit.agency_id, unit.code
    try:
        orgs.delete_unit(unit, actor=current_user)
    except orgs.OrgError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        db.session.commit()
        flash(_("Unit %(code)s deleted.", code=code), "success")
    return redirect(url_for("admin.orgs_agency", agency_id=agency_id))


@bp.route("/orgs/clusters/<int:number>/edit", methods=["GET", "POST"])
@admin_required
def orgs_cluster_edit(number: int):
    if number not in orgs.CLUSTERS:
        abort(404)
    cluster = orgs.get_cluster(number)
    form = ClusterForm(obj=cluster if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            orgs.save_cluster(number, name_id=form.name_id.data, name_en=form.name_en.data,
                              description=form.description.data)
        except orgs.OrgError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            flash(_("Cluster %(n)s saved.", n=number), "success")
            return redirect(url_for("admin.orgs_index", cluster=number))
    return render_template("admin/orgs/cluster_form.html", form=form, number=number), 422 if form.errors else 200


@bp.route("/orgs/import", methods=["GET", "POST"])
@admin_required
def orgs_import():
    form = UploadForm()
    problems, result = None, None
    if form.validate_on_submit():
        upload = form.file.data
        problems, result = apply_upload(partial(orgs.import_orgs, actor=current_user), upload,
                                        dry_run=form.dry_run.data)
        if result is not None and not result.dry_run:
            flash(_("Imported %(file)s.", file=upload.filename), "success")
            return redirect(url_for("admin.orgs_index"))
    status = 422 if problems or form.errors else 200
    return render_template("admin/orgs/import.html", form=form, problems=problems, result=result,
                           agency_columns=orgs.AGENCY_COLUMNS, unit_columns=orgs.UNIT_COLUMNS,
                           roles=orgs.STRATEGIC_ROLES), status


@bp.route("/orgs/export.xlsx")
@admin_required
def orgs_export():
    import io

    data = orgs.export_orgs_xlsx()
    from assess.services import audit

    audit.record("orgs.export", actor=current_user, detail={"bytes": len(data)})
    db.session.commit()
    from assess.services.exports import XLSX_MIME

    return send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name="agencies-units.xlsx")
