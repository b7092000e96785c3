"""The admin's talent-map pages: dashboards and the 9-box, settings, SKP import, computation,
exports, relocation planning and API tokens.

Registered on the admin blueprint (imported at the end of routes.py). Rules live in
assess.services.talent (rules, compute, SKP), talent_reports (counts), relocation and exports.
"""
from __future__ import annotations

import re
from functools import partial

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import func, select

from assess.admin.routes import bp
from assess.admin.talent_forms import ComputeForm, ConfirmForm, TokenForm, UploadForm, scheme_form, settings_form
from assess.auth.access import admin_required
from assess.extensions import db
from assess.models import ApiToken, Battery, PerformanceRating, RelocationScheme, TalentSettings, Wave
from assess.services import api_tokens, audit, exports, jobs, orgs, relocation, talent
from assess.services import talent_reports as reports
from assess.admin.uploads import apply_upload


class GridLabels:
    """Axis labels of the 9-box for the templates."""

    rows = talent.GRID_ROWS
    columns = talent.GRID_COLUMNS
    potential = talent.POTENTIAL_LABELS
    performance = talent.PERFORMANCE_LABELS


def _band_set(settings) -> str:
    return talent.with_defaults(settings.settings)["band_set"] if settings is not None else "mapping"


@bp.route("/talent/")
@admin_required
def talent_dashboard():
    filters = reports.Filters.from_args(request.args)
    settings = reports.settings_for(filters)
    if filters.version is not None and settings is None:
        abort(404)
    settings_id = settings.id if settings is not None else None
    by = "unit" if filters.agency_id else "agency" if filters.cluster else "cluster"
    total, groups = reports.aggregate(filters, settings_id, by=by)
    if by == "cluster":
        have = {g.key for g in groups}
        groups += [reports.GroupRow(n, str(n), None, reports.Tally()) for n in orgs.CLUSTERS if n not in have]
        groups.sort(key=lambda g: (g.key is None, g.key or 0))
    compute_form = ComputeForm()
    compute_form.wave.choices = [("", _("Each participant's latest attempt"))] + [
        (str(w.id), f"{w.code} · {w.name}") for w in db.session.execute(select(Wave).order_by(Wave.opens_at.desc())).scalars()]
    latest = talent.latest_settings()
    return render_template(
        "admin/talent/dashboard.html", filters=filters, settings=settings, latest=latest, total=total, groups=groups,
        by=by, levels=reports.level_distribution(filters, settings_id), choices=reports.filter_choices(filters),
        names=orgs.cluster_names(str(get_locale())), grid=GridLabels, bands=talent.BANDS,
        band_labels=talent.BAND_LABELS[_band_set(settings)], job_labels=talent.JOB_LEVEL_LABELS,
        ready_labels=talent.READINESS_LABELS, compute_form=compute_form,
        inline_limit=current_app.config["TALENT_INLINE_LIMIT"])


@bp.route("/talent/box/<int:box>")
@admin_required
def talent_box(box: int):
    if not 0 <= box <= 9:
        abort(404)
    filters = reports.Filters.from_args(request.args)
    settings = reports.settings_for(filters)
    page = reports.box_people(filters, settings.id if settings else None, box,
                              page=request.args.get("page", 1, type=int))
    audit.record("talent.view_box", actor=current_user, target_type="talent_placements",
                 detail={"box": box, "filters": filters.describe(), "page": page.page})
    db.session.commit()
    return render_template("admin/talent/box.html", box=box, page=page, filters=filters, settings=settings,
                           recommendation=talent.BOX_RECOMMENDATIONS.get(box), axes=talent.BOX_AXES.get(box),
                           grid=GridLabels, band_labels=talent.BAND_LABELS[_band_set(settings)],
                           job_labels=talent.JOB_LEVEL_LABELS, ready_labels=talent.READINESS_LABELS,
                           missing=talent.missing_labels)


@bp.route("/talent/compute", methods=["POST"])
@admin_required
def talent_compute():
    form = ComputeForm()
    form.wave.choices = []
    wave_id = int(form.wave.data) if (form.wave.data or "").isdigit() else None
    if wave_id is not None and db.session.get(Wave, wave_id) is None:
        abort(404)
    settings = talent.ensure_settings(current_user)
    if jobs.queue() is not None and talent.participants_to_place(wave_id) > current_app.config["TALENT_INLINE_LIMIT"]:
        try:
            job = jobs.enqueue_talent_compute(settings.id, wave_id, current_user.id)
        except RedisError:
            current_app.logger.exception("job queue unreachable: computing the talent map in the request")
            flash(_("The job queue is unreachable, so the talent map was computed here; this took longer."), "warning")
        else:
            db.session.commit()  # the settings version the job reads
            return redirect(url_for("admin.talent_job", job_id=job.id))
    report = talent.compute(settings, wave_id=wave_id)
    audit.record("talent.compute", actor=current_user, target=settings,
                 detail={"version": settings.version, "wave": wave_id, "participants": report.participants,
                         "created": report.created, "updated": report.updated})
    db.session.commit()
    flash(_("Talent map computed with settings version %(v)s: %(n)d participant(s), %(nobox)d without a box (data incomplete).",
            v=settings.version, n=report.participants, nobox=report.no_box), "success")
    return redirect(url_for("admin.talent_dashboard", wave=wave_id))


def _settings_data(doc: dict, batteries) -> dict:
    s = talent.with_defaults(doc)
    data = {
        "band_set": s["band_set"], "mapping_upper": s["bands"]["mapping"][0], "mapping_lower": s["bands"]["mapping"][1],
        "selection_upper": s["bands"]["selection"][0], "selection_lower": s["bands"]["selection"][1],
        "jpm_batteries": s["jpm_batteries"], "potential_low": s["potential_cuts"][0],
        "potential_high": s["potential_cuts"][1], "performance_low": s["performance_cuts"][0],
        "performance_high": s["performance_cuts"][1], "skp_year": s["skp_year"],
        "readiness_aggregate": s["readiness_aggregate"], "readiness_excluded_bands": s["readiness_excluded_bands"],
    }
    for job, level in s["expected_levels"].items():
        data[f"expected_{job}"] = level
    for battery in batteries:
        data[f"weight_{battery.code}"] = s["potential_weights"].get(battery.code)
        level = s["readiness_levels"].get(battery.code)
        data[f"ready_{battery.code}"] = "" if level is None else str(int(level))
    for predikat, score in s["predikat_scores"].items():
        data[f"predikat_{predikat}"] = score
    return data


def _settings_doc(form, batteries) -> dict:
    from assess.models import JOB_LEVELS
    from assess.models.people import PREDIKAT

    return {
        "expected_levels": {job: getattr(form, f"expected_{job}").data for job in JOB_LEVELS},
        "jpm_batteries": form.jpm_batteries.data or [],
        "band_set": form.band_set.data,
        "bands": {"mapping": [form.mapping_upper.data, form.mapping_lower.data],
                  "selection": [form.selection_upper.data, form.selection_lower.data]},
        "potential_weights": {b.code: getattr(form, f"weight_{b.code}").data for b in batteries
                              if getattr(form, f"weight_{b.code}").data},
        "potential_cuts": [form.potential_low.data, form.potential_high.data],
        "performance_cuts": [form.performance_low.data, form.performance_high.data],
        "predikat_scores": {p: getattr(form, f"predikat_{p}").data for p in PREDIKAT},
        "skp_year": form.skp_year.data,
        "readiness_levels": {b.code: int(getattr(form, f"ready_{b.code}").data) for b in batteries
                             if getattr(form, f"ready_{b.code}").data},
        "readiness_aggregate": form.readiness_aggregate.data,
        "readiness_excluded_bands": form.readiness_excluded_bands.data or [],
    }


@bp.route("/talent/settings", methods=["GET", "POST"])
@admin_required
def talent_settings():
    batteries = list(db.session.execute(select(Battery).order_by(Battery.position)).scalars())
    latest = talent.latest_settings()
    Form = settings_form(batteries)
    form = Form(data=_settings_data(latest.settings if latest else {}, batteries)) if request.method == "GET" else Form()
    form.jpm_batteries.choices = [(b.code, b.name_id if str(get_locale()) == 'id' else b.name_en) for b in batteries]
    if form.validate_on_submit():
        try:
            row = talent.save_settings(_settings_doc(form, batteries), actor=current_user, note=form.note.data)
        except talent.TalentError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            for key, message in error.problems.items():
                flash(f"{key}: {message}", "danger")
        else:
            db.session.commit()
            flash(_("Settings saved as version %(v)s. Compute the talent map to apply them.", v=row.version), "success")
            return redirect(url_for("admin.talent_settings"))
    versions = list(db.session.execute(select(TalentSettings).order_by(TalentSettings.version.desc())).scalars())
    return render_template("admin/talent/settings.html", form=form, batteries=batteries, versions=versions,
                           latest=latest), 422 if form.errors else 200


@bp.route("/talent/skp", methods=["GET", "POST"])
@admin_required
def talent_skp():
    form = UploadForm()
    problems, result = None, None
    if form.validate_on_submit():
        upload = form.file.data
        problems, result = apply_upload(partial(talent.import_skp, actor=current_user), upload,
                                        dry_run=form.dry_run.data)
        if result is not None and not result.dry_run:
            flash(_("SKP ratings imported: %(new)d new, %(updated)d updated, %(same)d unchanged. Compute the talent map to use them.",
                    new=result.created, updated=result.updated, same=result.unchanged), "success")
            return redirect(url_for("admin.talent_skp"))
    years = db.session.execute(select(PerformanceRating.year, PerformanceRating.predikat, func.count(PerformanceRating.id))
                               .group_by(PerformanceRating.year, PerformanceRating.predikat)
                               .order_by(PerformanceRating.year.desc())).all()
    return render_template("admin/talent/skp.html", form=form, problems=problems, result=result, years=years,
                           predikat_labels=talent.PREDIKAT_LABELS), 422 if problems or form.errors else 200


def _streamed(make_body):
    """Run ``make_body()``'s generator in an app context of its own, started on the first chunk.

    Unlike stream_with_context, nothing is pushed until the server reads the body, and the
    request's context (and its signed-in user) never outlives the request.
    """
    app = current_app._get_current_object()
    locale = str(get_locale())

    def generate():
        with app.app_context(), force_locale(locale):
            yield from make_body()

    return generate()


@bp.route("/talent/export")
@admin_required
def talent_export():
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        abort(400)
    filters = reports.Filters.from_args(request.args)
    if filters.unread(request.args):  # e.g. cluster=9: refuse rather than export everyone
        abort(400)
    settings = reports.settings_for(filters)
    rows = exports.count_people(filters, settings.id if settings else None)
    exports.record_export(fmt, filters, settings, rows, actor=current_user)
    db.session.commit()
    name = exports.filename(fmt, filters, settings)
    if settings is not None:
        filters.version = settings.version  # the stream reads the same version, even if a newer one appears
    names = orgs.cluster_names(str(get_locale()))

    def body():
        settings = reports.settings_for(filters)
        if fmt == "csv":
            return exports.csv_chunks(filters, settings)
        return exports.xlsx_chunks(filters, settings, cluster_names=names)

    response = Response(_streamed(body), content_type=exports.CSV_MIME if fmt == "csv" else exports.XLSX_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------ relocation planning
def _scheme(arg: str):
    value = request.args.get(arg, type=int)
    return db.session.get(RelocationScheme, value) if value else None


@bp.route("/talent/planning")
@admin_required
def talent_planning():
    schemes = relocation.schemes()
    a = _scheme("a") or (schemes[0] if schemes else None)
    b = _scheme("b") or next((s for s in schemes if s is not a), None)
    filters = reports.Filters(version=request.args.get("version", type=int))
    settings = reports.settings_for(filters)
    counts = relocation.ready_counts(settings.id if settings else None)
    plans = [relocation.plan(s, counts) for s in (a, b) if s is not None]
    return render_template("admin/talent/planning.html", schemes=schemes, a=a, b=b, plans=plans, counts=counts,
                           settings=settings, names=orgs.cluster_names(str(get_locale())), confirm=ConfirmForm())


@bp.route("/talent/planning/<int:scheme_id>/cluster/<int:cluster>")
@admin_required
def talent_planning_list(scheme_id: int, cluster: int):
    scheme = db.get_or_404(RelocationScheme, scheme_id)
    if cluster not in relocation.CLUSTERS:
        abort(404)
    filters = reports.Filters(version=request.args.get("version", type=int))
    settings = reports.settings_for(filters)
    caps = relocation.capacities_of(scheme)[cluster]
    page = relocation.ordered_ready(settings.id if settings else None, cluster, page=request.args.get("page", 1, type=int))
    audit.record("talent.view_planning", actor=current_user, target=scheme, detail={"cluster": cluster, "page": page.page})
    db.session.commit()
    return render_template("admin/talent/planning_list.html", scheme=scheme, cluster=cluster, caps=caps, page=page,
                           stage_of=relocation.stage_of, settings=settings, names=orgs.cluster_names(str(get_locale())),
                           band_labels=talent.BAND_LABELS[_band_set(settings)], job_labels=talent.JOB_LEVEL_LABELS)


def _scheme_form_page(scheme):
    Form = scheme_form()
    form = Form()
    if request.method == "GET" and scheme is not None:
        data = {"code": scheme.code, "name": scheme.name, "movers": scheme.movers, "description": scheme.description}
        for i, label in enumerate(scheme.stage_labels or [], start=1):
            data[f"stage_{i}"] = label
        for c in scheme.capacities:
            data[f"cap_{c.cluster}_{c.stage}"] = c.capacity
        form = Form(data=data)
    if form.validate_on_submit():
        capacities = {(c, s): getattr(form, f"cap_{c}_{s}").data for c in relocation.CLUSTERS
                      for s in range(1, relocation.MAX_STAGES + 1) if getattr(form, f"cap_{c}_{s}").data is not None}
        try:
            saved = relocation.save_scheme(
                scheme, code=form.code.data, name=form.name.data, movers=form.movers.data,
                description=form.description.data, capacities=capacities, actor=current_user,
                stage_labels=[getattr(form, f"stage_{s}").data or "" for s in range(1, relocation.MAX_STAGES + 1)])
        except relocation.PlanningError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            for key, message in error.problems.items():
                field = getattr(form, key, None)
                if field is not None:
                    field.errors = list(field.errors or []) + [str(message)]
                else:
                    flash(str(message), "danger")
        else:
            db.session.commit()
            flash(_("Scheme %(code)s saved.", code=saved.code), "success")
            return redirect(url_for("admin.talent_planning", a=saved.id))
    status = 422 if form.errors else 200
    return render_template("admin/talent/scheme_form.html", form=form, scheme=scheme, clusters=relocation.CLUSTERS,
                           stages=range(1, relocation.MAX_STAGES + 1)), status


@bp.route("/talent/schemes/new", methods=["GET", "POST"])
@admin_required
def talent_scheme_new():
    return _scheme_form_page(None)


@bp.route("/talent/schemes/<int:scheme_id>/edit", methods=["GET", "POST"])
@admin_required
def talent_scheme_edit(scheme_id: int):
    return _scheme_form_page(db.get_or_404(RelocationScheme, scheme_id))


@bp.route("/talent/schemes/<int:scheme_id>/delete", methods=["POST"])
@admin_required
def talent_scheme_delete(scheme_id: int):
    scheme = db.get_or_404(RelocationScheme, scheme_id)
    code = scheme.code
    relocation.delete_scheme(scheme, actor=current_user)
    db.session.commit()
    flash(_("Scheme %(code)s deleted.", code=code), "success")
    return redirect(url_for("admin.talent_planning"))


# ------------------------------------------------------------------------------ API tokens
@bp.route("/talent/tokens", methods=["GET", "POST"])
@admin_required
def talent_tokens():
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        row, created = api_tokens.create_token(form.name.data, days=int(form.days.data) if form.days.data else None,
                                               actor=current_user)
        db.session.commit()
        flash(_("Token created. Copy it now: it is shown only once."), "warning")
    return render_template("admin/talent/tokens.html", form=form, tokens=api_tokens.tokens(), created=created,
                           confirm=ConfirmForm()), 422 if form.errors else 200


@bp.route("/talent/tokens/<int:token_id>/revoke", methods=["POST"])
@admin_required
def talent_token_revoke(token_id: int):
    row = db.get_or_404(ApiToken, token_id)
    api_tokens.revoke(row, actor=current_user)
    db.session.commit()
    flash(_("Token %(name)s revoked.", name=row.name), "success")
    return redirect(url_for("admin.talent_tokens"))


@bp.route("/talent/jobs/<job_id>")
@admin_required
def talent_job(job_id: str):
    """A background talent computation: queued, running (with progress) or done."""
    try:
        job = jobs.fetch(job_id) if re.fullmatch(r"[0-9a-f-]{8,64}", job_id) else None
    except RedisError:
        abort(503)
    if job is None or (job.meta or {}).get("kind") != "talent_compute":
        abort(404)
    status = getattr(job.get_status(refresh=True), "value", None) or "queued"  # an RQ JobStatus
    meta = job.meta or {}
    return render_template("admin/talent/job.html", job=job, status=status, meta=meta,
                           result=job.return_value() if status == "finished" else None)
