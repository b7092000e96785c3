"""The admin's test delivery pages: test specifications, waves, enrolment, monitoring, attempts.

Registered on the admin blueprint (imported at the end of assess/admin/routes.py). Views parse,
call one service, commit, flash and redirect; the rules are in assess/services/specs.py and
assess/services/waves.py.
"""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from assess.admin.delivery_forms import (
    EnrolRuleForm, EnrolUploadForm, ExtendForm, ExtraMinutesForm, PauseForm, ReopenForm, SpecActionForm, SpecForm,
    WaveForm, WavePauseForm,
)
from assess.admin.routes import bp
from assess.auth.access import admin_required
from assess.extensions import db
from assess.models import (
    Agency, Attempt, AttemptEvent, Battery, Competency, Enrollment, Score, TestSpec, Unit, Wave,
)
from assess.models import Response as Answer
from assess.services import audit, delivery, specs as spec_service, waves as wave_service
from assess.services.tabular import whole_number
from assess.services.specs import SpecError
from assess.services.waves import EnrolmentFileError, WaveError

PER_PAGE = 50
EMPTY_SECTION_ROWS = 2


def _label(comp: Competency) -> str:
    return f"{comp.code} · {comp.name_id if str(get_locale()) == 'id' else comp.name_en}"


def _competency_choices() -> list[tuple[str, str]]:
    comps = db.session.execute(
        select(Competency).join(Battery).order_by(Battery.position, Competency.position, Competency.code)
    ).scalars()
    return [(str(c.id), _label(c)) for c in comps]


# ------------------------------------------------------------------------------------------ specs
@bp.route("/specs/")
@admin_required
def specs():
    rows = db.session.execute(
        select(TestSpec, func.count(func.distinct(Wave.id)))
        .outerjoin(Wave, Wave.spec_id == TestSpec.id)
        .group_by(TestSpec.id).order_by(TestSpec.is_active.desc(), TestSpec.code)
    ).all()
    return render_template("admin/specs/index.html", rows=rows, methods=spec_service.METHOD_LABELS)


def _spec_form_page(form: SpecForm, spec: TestSpec | None):
    form.set_competencies(_competency_choices())
    if request.method == "POST" and form.add_section.data:
        if len(form.sections) < form.sections.max_entries:
            form.sections.append_entry()
            form.set_competencies(_competency_choices())
        return render_template("admin/specs/edit.html", form=form, spec=spec)
    if form.validate_on_submit():
        data = form.to_input()
        try:
            if spec is None:
                saved = spec_service.create_spec(data)
                action = "spec.create"
            else:
                was_active = spec.is_active
                saved = spec_service.update_spec(spec, data)
                action = "spec.update"
            deactivated = spec is not None and was_active and not saved.is_active
            audit.record(action, target=saved, detail={"code": saved.code, "deactivated": deactivated})
            db.session.commit()
        except SpecError as error:
            db.session.rollback()
            for problem in form.add_problems(error.problems):
                flash(problem.message, "danger")
        except IntegrityError:  # the same code saved by someone else a moment ago
            db.session.rollback()
            form.code.errors = list(form.code.errors) + [_("This code is already used by another test specification.")]
        else:
            flash(_("Test specification %(code)s saved.", code=saved.code), "success")
            if deactivated:
                flash(_("The new composition does not pass the check against the bank: the test "
                        "specification is no longer active."), "warning")
            return redirect(url_for("admin.spec_view", spec_id=saved.id))
    return render_template("admin/specs/edit.html", form=form, spec=spec)


@bp.route("/specs/new", methods=["GET", "POST"])
@admin_required
def spec_new():
    form = SpecForm()
    if request.method == "GET":
        for _i in range(EMPTY_SECTION_ROWS):
            form.sections.append_entry()
    return _spec_form_page(form, None)


@bp.route("/specs/<int:spec_id>/edit", methods=["GET", "POST"])
@admin_required
def spec_edit(spec_id: int):
    spec = db.get_or_404(TestSpec, spec_id)
    if spec_service.is_locked(spec):  # the view page says why and offers a copy
        return redirect(url_for("admin.spec_view", spec_id=spec.id))
    form = SpecForm()
    if request.method == "GET":
        form.fill(spec_service.input_of(spec))
        form.sections.append_entry()
    return _spec_form_page(form, spec)


@bp.route("/specs/<int:spec_id>")
@admin_required
def spec_view(spec_id: int):
    spec = db.get_or_404(TestSpec, spec_id)
    return render_template("admin/specs/view.html", spec=spec, report=spec.validation,
                           locked=spec_service.is_locked(spec), waves=spec_service.waves_using(spec),
                           action_form=SpecActionForm(), methods=spec_service.METHOD_LABELS,
                           layouts=spec_service.LAYOUT_LABELS, problem_text=spec_service.problem_text,
                           label=_label, checked_at=spec_service.checked_at(spec.validation))


def _spec_action(spec_id: int):
    spec = db.get_or_404(TestSpec, spec_id)
    if not SpecActionForm().validate_on_submit():
        abort(400)
    return spec


@bp.route("/specs/<int:spec_id>/validate", methods=["POST"])
@admin_required
def spec_validate(spec_id: int):
    spec = _spec_action(spec_id)
    report = spec_service.check_against_bank(spec)
    db.session.commit()
    if report["ok"]:
        flash(_("The test specification passes the check against the bank."), "success")
    else:
        flash(_("The test specification does not pass the check against the bank; see the problems below."), "danger")
    return redirect(url_for("admin.spec_view", spec_id=spec.id))


@bp.route("/specs/<int:spec_id>/activate", methods=["POST"])
@admin_required
def spec_activate(spec_id: int):
    spec = _spec_action(spec_id)
    report = spec_service.activate(spec)
    if report["ok"]:
        audit.record("spec.activate", target=spec, detail={"code": spec.code})
        flash(_("Test specification %(code)s is active: waves can use it.", code=spec.code), "success")
    else:
        flash(_("The test specification does not pass the check against the bank; it stays inactive."), "danger")
    db.session.commit()
    return redirect(url_for("admin.spec_view", spec_id=spec.id))


@bp.route("/specs/<int:spec_id>/deactivate", methods=["POST"])
@admin_required
def spec_deactivate(spec_id: int):
    spec = _spec_action(spec_id)
    spec_service.deactivate(spec)
    audit.record("spec.deactivate", target=spec, detail={"code": spec.code})
    db.session.commit()
    flash(_("Test specification %(code)s is inactive: new waves cannot choose it, and nobody can start a wave that uses it until it is active again.", code=spec.code), "info")
    return redirect(url_for("admin.spec_view", spec_id=spec.id))


@bp.route("/specs/<int:spec_id>/copy", methods=["POST"])
@admin_required
def spec_copy(spec_id: int):
    spec = _spec_action(spec_id)
    copy = spec_service.copy_spec(spec)
    audit.record("spec.copy", target=copy, detail={"from": spec.code, "code": copy.code})
    db.session.commit()
    flash(_("Copied to %(code)s (inactive). Change it, then validate and activate it.", code=copy.code), "success")
    return redirect(url_for("admin.spec_edit", spec_id=copy.id))


# ------------------------------------------------------------------------------------------ waves
@bp.route("/waves/")
@admin_required
def waves():
    enrolled = dict(db.session.execute(
        select(Enrollment.wave_id, func.count(Enrollment.id)).group_by(Enrollment.wave_id)).all())
    rows = db.session.execute(select(Wave, TestSpec).join(TestSpec, Wave.spec_id == TestSpec.id)
                              .order_by(Wave.opens_at.desc(), Wave.code)).all()
    return render_template("admin/waves/index.html", rows=rows, enrolled=enrolled, state=delivery.wave_state)


def _wave_choices(form: WaveForm, wave: Wave | None) -> None:
    active = select(TestSpec).where(TestSpec.is_active.is_(True))
    if wave is not None:
        active = select(TestSpec).where(TestSpec.is_active.is_(True) | (TestSpec.id == wave.spec_id))
    form.spec_id.choices = [("", _("Choose…"))] + [
        (str(s.id), f"{s.code} · {s.name}" + ("" if s.is_active else f" ({_('inactive')})"))
        for s in db.session.execute(active.order_by(TestSpec.code)).scalars()]
    agencies = db.session.execute(select(Agency).order_by(Agency.cluster, Agency.code)).scalars().all()
    form.agency_ids.choices = [(a.id, "%s · %s (%s)" % (a.code, a.name, _("cluster %(n)s", n=a.cluster)))
                               for a in agencies]
    units: dict[str, list] = {}
    for unit, agency_code in db.session.execute(
        select(Unit, Agency.code).join(Agency, Unit.agency_id == Agency.id).order_by(Agency.code, Unit.code)
    ).all():
        units.setdefault(agency_code, []).append((unit.id, f"{unit.code} · {unit.name}"))
    form.unit_ids.choices = units


def _wave_input(form: WaveForm) -> wave_service.WaveInput:
    return wave_service.WaveInput(
        code=form.code.data or "", name=form.name.data or "",
        spec_id=whole_number(form.spec_id.data),
        opens_local=form.opens_at.data, closes_local=form.closes_at.data, timezone=form.timezone.data,
        cluster=(int(form.cluster.data) if form.cluster.data.isdigit() else 0) if form.cluster.data else None,
        agency_ids=list(form.agency_ids.data or []), unit_ids=list(form.unit_ids.data or []),
        show_scores=form.show_scores.data)


def _wave_form_page(form: WaveForm, wave: Wave | None):
    _wave_choices(form, wave)
    if form.validate_on_submit():
        try:
            data = _wave_input(form)
            if wave is None:
                saved = wave_service.create_wave(data)
                action = "wave.create"
            else:
                saved = wave_service.update_wave(wave, data)
                action = "wave.update"
            audit.record(action, target=saved, detail={"code": saved.code, "opens_at": saved.opens_at.isoformat(),
                                                       "closes_at": saved.closes_at.isoformat()})
            db.session.commit()
        except WaveError as error:
            db.session.rollback()
            for name, message in error.problems:
                field = getattr(form, name, None) if name else None
                if field is None:
                    flash(str(message), "danger")
                else:
                    field.errors = list(field.errors) + [str(message)]
        except IntegrityError:  # the same code saved by someone else a moment ago
            db.session.rollback()
            form.code.errors = list(form.code.errors) + [_("This code is already used by another wave.")]
        else:
            flash(_("Wave %(code)s saved.", code=saved.code), "success")
            return redirect(url_for("admin.wave_view", wave_id=saved.id))
    return render_template("admin/waves/edit.html", form=form, wave=wave,
                           has_attempts=wave is not None and wave_service.has_attempts(wave))


@bp.route("/waves/new", methods=["GET", "POST"])
@admin_required
def wave_new():
    form = WaveForm()
    return _wave_form_page(form, None)


@bp.route("/waves/<int:wave_id>/edit", methods=["GET", "POST"])
@admin_required
def wave_edit(wave_id: int):
    wave = db.get_or_404(Wave, wave_id)
    form = WaveForm()
    if request.method == "GET":
        data = wave_service.input_of(wave)
        form.code.data, form.name.data, form.spec_id.data = data.code, data.name, str(data.spec_id)
        form.timezone.data, form.opens_at.data, form.closes_at.data = data.timezone, data.opens_local, data.closes_local
        form.cluster.data = str(data.cluster) if data.cluster else ""
        form.agency_ids.data, form.unit_ids.data = data.agency_ids, data.unit_ids
        form.show_scores.data = data.show_scores
    return _wave_form_page(form, wave)


def _stuck_minutes() -> int:
    return max(1, min(request.args.get("stuck", wave_service.STUCK_MINUTES, type=int) or 1, 24 * 60))


def _list_args() -> dict:
    """The participant list's query arguments, to come back to the same page after an action."""
    return {k: request.args[k] for k in ("page", "status", "q", "stuck") if request.args.get(k)}


@bp.route("/waves/<int:wave_id>")
@admin_required
def wave_view(wave_id: int):
    wave = db.get_or_404(Wave, wave_id)
    stuck = _stuck_minutes()
    status = request.args.get("status") or None
    if status not in wave_service.STATUS_FILTERS:
        status = None
    q = (request.args.get("q") or "").strip()
    counts = wave_service.agency_counts(wave)
    pause_form = WavePauseForm()
    pause_form.agency.choices = [("", _("All agencies"))] + [(str(r["agency_id"]), r["code"]) for r in counts if r["agency_id"]]
    stuck_page = db.paginate(wave_service.stuck_query(wave, stuck), page=1, per_page=10, error_out=False)
    page = db.paginate(wave_service.participants_query(wave, status=status, q=q, stuck_minutes=stuck),
                       per_page=PER_PAGE, max_per_page=200)
    attempts = wave_service.attempts_for(wave, [e.user_id for e in page.items])
    audit.record("admin.view_personal_data", target=wave, detail={"page": page.page, "status": status, "query": q or None})
    db.session.commit()
    return render_template(
        "admin/waves/view.html", wave=wave, counts=counts, totals=wave_service.totals(counts),
        stuck_page=stuck_page, stuck=stuck, page=page, attempts=attempts, status=status, q=q,
        state=delivery.wave_state(wave), targets=wave_service.target_labels(wave),
        rule_form=EnrolRuleForm(), minutes_form=ExtraMinutesForm(), list_args=_list_args(), pause_form=pause_form,
        time_limit=delivery.time_limit(wave.spec), statuses=wave_service.STATUS_FILTERS)


@bp.route("/waves/<int:wave_id>/enroll/rule", methods=["POST"])
@admin_required
def wave_enroll_rule(wave_id: int):
    wave = db.get_or_404(Wave, wave_id)
    if not EnrolRuleForm().validate_on_submit():
        abort(400)
    try:
        added = wave_service.enroll_rule(wave)
        audit.record("wave.enroll_rule", target=wave, detail={"added": added})
        db.session.commit()
    except IntegrityError:  # another enrolment of the same people committed first
        db.session.rollback()
        flash(_("Another enrolment of this wave ran at the same time; nothing was changed. Try again."), "warning")
        return redirect(url_for("admin.wave_view", wave_id=wave.id))
    flash(_("%(n)d participants enrolled by rule.", n=added), "success")
    return redirect(url_for("admin.wave_view", wave_id=wave.id))


@bp.route("/waves/<int:wave_id>/enroll", methods=["GET", "POST"])
@admin_required
def wave_enroll_upload(wave_id: int):
    wave = db.get_or_404(Wave, wave_id)
    form = EnrolUploadForm()
    problems, conflict = [], False
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(wave_service.MAX_UPLOAD_BYTES + 1)
        try:
            result = wave_service.enroll_file(wave, upload.filename or "", data)
            audit.record("wave.enroll_upload", target=wave, detail={
                "file": upload.filename, "added": result.added, "updated": result.updated,
                "unchanged": result.unchanged})
            db.session.commit()
        except EnrolmentFileError as error:
            db.session.rollback()
            problems = error.problems
        except IntegrityError:  # another enrolment of the same people committed first
            db.session.rollback()
            conflict = True
            flash(_("Another enrolment of this wave ran at the same time; nothing was changed. Try again."), "warning")
        else:
            flash(_("File accepted: %(added)d enrolled, %(updated)d accommodations changed, %(unchanged)d already "
                    "enrolled.", added=result.added, updated=result.updated, unchanged=result.unchanged), "success")
            return redirect(url_for("admin.wave_view", wave_id=wave.id))
    status = 409 if conflict else 422 if problems or form.errors else 200
    return render_template("admin/waves/enroll.html", wave=wave, form=form, problems=problems,
                           max_mb=wave_service.MAX_UPLOAD_BYTES // (1024 * 1024)), status


@bp.route("/waves/enroll-template.csv")
@admin_required
def wave_enroll_template():
    body = "\ufeffnip,extra_minutes\n198507142010011003,0\n"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=enrolment-template.csv"})


@bp.route("/waves/<int:wave_id>/enrollments/<int:enrollment_id>", methods=["POST"])
@admin_required
def wave_enrollment_update(wave_id: int, enrollment_id: int):
    enrollment = db.get_or_404(Enrollment, enrollment_id)
    if enrollment.wave_id != wave_id:
        abort(404)
    form = ExtraMinutesForm()
    if form.validate_on_submit():
        old = enrollment.extra_minutes
        wave_service.set_extra_minutes(enrollment, form.extra_minutes.data)
        audit.record("enrollment.extra_minutes", target=enrollment, detail={
            "wave_id": wave_id, "user_id": enrollment.user_id, "old": old, "new": enrollment.extra_minutes})
        db.session.commit()
        flash(_("Extra minutes saved for %(name)s.", name=enrollment.user.name), "success")
    else:
        flash(_("Extra minutes must be a whole number from 0 to %(max)d.", max=wave_service.MAX_EXTRA_MINUTES), "danger")
    return redirect(url_for("admin.wave_view", wave_id=wave_id, **_list_args()))


def _wave_attempt(wave_id: int, attempt_id: int) -> Attempt:
    attempt = db.get_or_404(Attempt, attempt_id)
    if attempt.wave_id != wave_id:
        abort(404)
    return attempt


def _section_choices(attempt: Attempt) -> list[tuple[str, str]]:
    comps = {c.id: c for c in db.session.execute(select(Competency)).scalars()}
    choices = [("", _("Where the participant stopped"))]
    for i in wave_service.reopenable_sections(attempt):
        section = attempt.form["sections"][i]
        comp = comps.get(section["competency_id"])
        choices.append((str(i), _("Part %(n)d: %(name)s", n=i + 1, name=_label(comp) if comp else section["competency"])))
    return choices


@bp.route("/waves/<int:wave_id>/attempts/<int:attempt_id>")
@admin_required
def wave_attempt(wave_id: int, attempt_id: int):
    attempt = _wave_attempt(wave_id, attempt_id)
    enrollment = db.session.execute(select(Enrollment).where(
        Enrollment.wave_id == wave_id, Enrollment.user_id == attempt.user_id)).scalar_one_or_none()
    events = db.session.execute(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id)
                                .order_by(AttemptEvent.id.desc()).limit(200)).scalars().all()
    scores = db.session.execute(select(Score, Competency).join(Competency, Score.competency_id == Competency.id)
                                .where(Score.attempt_id == attempt.id).order_by(Competency.code)).all()
    answered = db.session.scalar(select(func.count()).select_from(Answer).where(
        Answer.attempt_id == attempt.id, Answer.choice.is_not(None)))
    reopen = ReopenForm()
    reopen.section.choices = _section_choices(attempt)
    audit.record("admin.view_personal_data", target=attempt, detail={"user_id": attempt.user_id})
    db.session.commit()
    return render_template("admin/waves/attempt.html", wave=attempt.wave, attempt=attempt, enrollment=enrollment,
                           events=events, scores=scores, answered=answered, extend=ExtendForm(), reopen=reopen,
                           pause=PauseForm(), remaining=int(delivery.remaining_seconds(attempt)),
                           label=_label, overdue=delivery.is_past_deadline(attempt))


def _intervention(wave_id: int, attempt_id: int, form, act):
    attempt = _wave_attempt(wave_id, attempt_id)
    if form.validate_on_submit():
        try:
            deadline = act(attempt, form)
        except WaveError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            return attempt, deadline
    else:
        for field in form:
            for message in field.errors:
                flash(f"{field.label.text}: {message}", "danger")
    return attempt, None


@bp.route("/waves/<int:wave_id>/attempts/<int:attempt_id>/extend", methods=["POST"])
@admin_required
def wave_attempt_extend(wave_id: int, attempt_id: int):
    attempt, deadline = _intervention(
        wave_id, attempt_id, ExtendForm(),
        lambda a, f: wave_service.extend_attempt(a, f.minutes.data, f.reason.data, actor=current_user))
    if deadline is not None:
        from assess.services.timefmt import local_datetime

        flash(_("The new deadline is %(when)s.", when=local_datetime(deadline, attempt.wave.timezone)), "success")
    return redirect(url_for("admin.wave_attempt", wave_id=wave_id, attempt_id=attempt_id))


@bp.route("/waves/<int:wave_id>/attempts/<int:attempt_id>/reopen", methods=["POST"])
@admin_required
def wave_attempt_reopen(wave_id: int, attempt_id: int):
    form = ReopenForm()
    form.section.choices = []

    def act(attempt, f):
        section = int(f.section.data) if (f.section.data or "").isdigit() else None
        return wave_service.reopen_attempt(attempt, f.minutes.data, f.reason.data, section=section, actor=current_user)

    attempt, deadline = _intervention(wave_id, attempt_id, form, act)
    if deadline is not None:
        from assess.services.timefmt import local_datetime

        flash(_("The attempt is open again until %(when)s. Its scores are computed again when it is submitted.",
                when=local_datetime(deadline, attempt.wave.timezone)), "success")
    return redirect(url_for("admin.wave_attempt", wave_id=wave_id, attempt_id=attempt_id))


@bp.route("/waves/<int:wave_id>/attempts/<int:attempt_id>/pause", methods=["POST"])
@admin_required
def wave_attempt_pause(wave_id: int, attempt_id: int):
    _attempt, paused = _intervention(wave_id, attempt_id, PauseForm(),
                                     lambda a, f: wave_service.pause_attempt(a, f.reason.data, actor=current_user))
    if paused is not None:
        flash(_("The test is paused; its clock stands still until you resume it."), "success")
    return redirect(url_for("admin.wave_attempt", wave_id=wave_id, attempt_id=attempt_id))


@bp.route("/waves/<int:wave_id>/attempts/<int:attempt_id>/resume", methods=["POST"])
@admin_required
def wave_attempt_resume(wave_id: int, attempt_id: int):
    attempt, deadline = _intervention(
        wave_id, attempt_id, PauseForm(),
        lambda a, f: wave_service.resume_attempt(a, actor=current_user, reason=f.reason.data))
    if deadline is not None:
        from assess.services.timefmt import local_datetime

        flash(_("The test continues; the new deadline is %(when)s.", when=local_datetime(deadline, attempt.wave.timezone)), "success")
    return redirect(url_for("admin.wave_attempt", wave_id=wave_id, attempt_id=attempt_id))


@bp.route("/waves/<int:wave_id>/pause", methods=["POST"])
@admin_required
def wave_pause(wave_id: int):
    """Pause (or resume) every running test of the wave, or of one agency."""
    wave = db.get_or_404(Wave, wave_id)
    form = WavePauseForm()
    form.agency.choices = []
    if not form.validate_on_submit():
        abort(400)
    agency_id = int(form.agency.data) if (form.agency.data or "").isdigit() else None
    try:
        if form.resume.data:
            n = wave_service.resume_wave(wave, actor=current_user, agency_id=agency_id)
            message = _("%(n)d paused tests resumed.", n=n)
        else:
            n = wave_service.pause_wave(wave, form.reason.data, actor=current_user, agency_id=agency_id)
            message = _("%(n)d running tests paused.", n=n)
    except WaveError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("admin.wave_view", wave_id=wave_id))
