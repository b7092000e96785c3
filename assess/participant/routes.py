"""The participant's pages: my assessments, instructions, the test, review, submit, finished.

Everything works as plain HTML forms; static/js/attempt.js adds autosave, the offline queue and the
live timer on top (progressive enhancement).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from assess.auth.access import participant_required
from assess.extensions import client_ip, db
from assess.models import Attempt, Competency, ItemVersion, Score, Wave
from assess.participant.forms import ConsentForm, SubmitForm
from assess.services import bank, delivery
from assess.services.delivery import DeliveryError

bp = Blueprint("participant", __name__)


def _nonce_key(attempt_id: int) -> str:
    return f"attempt-{attempt_id}"


def _ua() -> str:
    return (request.user_agent.string or "")[:300]


def _own_attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    if delivery.expire_if_due(attempt):
        db.session.commit()
    return attempt


def _clock(attempt: Attempt) -> dict:
    """What the page's clock shows: the current part's own time when it ends first."""
    return {"remaining": int(delivery.remaining_seconds(attempt)), "clock_scope": delivery.clock_scope(attempt),
            "test_remaining": int(delivery.test_remaining_seconds(attempt)), "paused": attempt.paused_at is not None}


def _moved_on(attempt: Attempt, s: int) -> bool:
    """Is part ``s`` no longer the current one? Says so when its own time ran out."""
    if attempt.form["current"] == s:
        return False
    sections = attempt.form["sections"]
    if 0 <= s < len(sections) and sections[s].get("timed_out"):
        flash(_("Time for this part is up. Answers saved before its time ran out are kept; the test continues with the next part."), "warning")
    return True


def _live(attempt: Attempt) -> str:
    """Claim the attempt for this browser session (resume/takeover are logged); returns the nonce."""
    nonce = delivery.claim_session(attempt, session.get(_nonce_key(attempt.id)), ip=client_ip(), user_agent=_ua())
    delivery.note_client(attempt, client_ip(), _ua())
    session[_nonce_key(attempt.id)] = nonce
    db.session.commit()
    return nonce


@bp.route("/")
@participant_required
def home():
    rows = delivery.participant_waves(current_user)
    return render_template("participant/home.html", rows=rows, wave_state=delivery.wave_state,
                           time_limit=delivery.time_limit)


@bp.route("/waves/<int:wave_id>/start", methods=["GET", "POST"])
@participant_required
def start(wave_id: int):
    wave = db.get_or_404(Wave, wave_id)
    form = ConsentForm()
    if form.validate_on_submit():
        try:
            attempt = delivery.start_attempt(current_user, wave, ip=client_ip(), user_agent=_ua())
        except DeliveryError as error:
            db.session.rollback()
            flash(str(error.message), "warning")
            return redirect(url_for("participant.home"))
        session[_nonce_key(attempt.id)] = attempt.session_nonce
        db.session.commit()
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    return render_template("participant/start.html", wave=wave, form=form,
                           minutes=delivery.time_limit(wave.spec), state=delivery.wave_state(wave))


@bp.route("/attempts/<int:attempt_id>")
@participant_required
def resume(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status != "in_progress":
        return redirect(url_for("participant.finished", attempt_id=attempt.id))
    _live(attempt)
    section = delivery.current_section(attempt)
    if section is None:
        return redirect(url_for("participant.confirm", attempt_id=attempt.id))
    return redirect(url_for("participant.question", attempt_id=attempt.id,
                            s=attempt.form["current"], q=attempt.position))


def _page_items(attempt: Attempt, section: dict, q: int) -> list[dict]:
    entries = section["items"] if section["layout"] == "section" and section["method"] != "cat" else [section["items"][q]]
    responses = delivery.responses_of(attempt)
    versions = {v.id: v for v in db.session.execute(
        db.select(ItemVersion).where(ItemVersion.id.in_([e["version_id"] for e in entries]))).scalars()}
    out = []
    for entry in entries:
        version = versions[entry["version_id"]]
        response = responses.get(entry["item_id"])
        chosen = entry["order"].index(response.choice) if response and response.choice is not None else None
        if version.item_type == "likert":
            labels = [str(label) for label in bank.likert_labels(version)]  # its own, or the standard five
            options = [labels[i] for i in entry["order"]]
        else:
            options = [version.options[i]["text"] for i in entry["order"]]  # texts only, never scores
        out.append({"item_id": entry["item_id"], "number": section["items"].index(entry) + 1,
                    "type": version.item_type, "stem": version.stem, "stimulus": version.stimulus,
                    "options": options, "chosen": chosen, "seq": response.seq if response else 0,
                    "flagged": bool(response and response.flagged), "locked": bool(entry.get("locked"))})
    return out


@bp.route("/attempts/<int:attempt_id>/s/<int:s>/q/<int:q>", methods=["GET", "POST"])
@participant_required
def question(attempt_id: int, s: int, q: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status != "in_progress":
        return redirect(url_for("participant.finished", attempt_id=attempt.id))
    nonce = _live(attempt)
    if _moved_on(attempt, s):
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    section = delivery.current_section(attempt)
    if section is None or not 0 <= q < len(section["items"]):
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    if section["method"] == "cat" and q != attempt.position:
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    if request.method == "POST":
        return _post_question(attempt, section, q, nonce)
    if section["method"] != "cat" and attempt.position != q:
        attempt.position = q
        db.session.commit()
    return render_template(
        "participant/question.html", attempt=attempt, section=section, s=s, q=q,
        items=_page_items(attempt, section, q), n_sections=len(attempt.form["sections"]),
        answered=set(delivery.responses_of(attempt)), **_clock(attempt),
    )


def _post_question(attempt: Attempt, section: dict, q: int, nonce: str):
    """The no-JavaScript path (and the Next/Previous buttons): save what the form carries, move."""
    s = attempt.form["current"]
    try:
        attempt = delivery.lock_attempt(attempt.id, current_user, nonce)
        if _moved_on(attempt, s):
            db.session.commit()
            return redirect(url_for("participant.resume", attempt_id=attempt.id))
        answers = []
        for key, value in request.form.items():
            if key.startswith("choice-"):
                item_id = int(key.removeprefix("choice-"))
                seq = int(request.form.get(f"seq-{item_id}", 0) or 0) + 1
                answers.append({"item": item_id, "choice": int(value), "seq": seq,
                                "flagged": request.form.get(f"flag-{item_id}") == "1"})
        if answers:
            delivery.save_answers(attempt, answers, ip=client_ip(), user_agent=_ua())
        action = request.form.get("action", "next")
        section = delivery.current_section(attempt)
        if section["method"] == "cat":
            delivery.cat_next(attempt)
            target = url_for("participant.resume", attempt_id=attempt.id)
        elif action == "prev" and q > 0:
            target = url_for("participant.question", attempt_id=attempt.id, s=attempt.form["current"], q=q - 1)
        elif action.startswith("goto-"):
            target = url_for("participant.question", attempt_id=attempt.id, s=attempt.form["current"],
                             q=int(action.removeprefix("goto-")))
        elif action == "review" or section["layout"] == "section" or q + 1 >= len(section["items"]):
            target = url_for("participant.section_review", attempt_id=attempt.id, s=attempt.form["current"])
        else:
            target = url_for("participant.question", attempt_id=attempt.id, s=attempt.form["current"], q=q + 1)
        db.session.commit()
    except (DeliveryError, ValueError) as error:
        db.session.rollback()
        flash(str(getattr(error, "message", _("The answer could not be read."))), "warning")
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    return redirect(target)


@bp.route("/attempts/<int:attempt_id>/s/<int:s>/review", methods=["GET", "POST"])
@participant_required
def section_review(attempt_id: int, s: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status != "in_progress":
        return redirect(url_for("participant.finished", attempt_id=attempt.id))
    nonce = _live(attempt)
    section = delivery.current_section(attempt)
    if _moved_on(attempt, s) or section is None or section["method"] == "cat":
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    form = SubmitForm()
    if form.validate_on_submit():
        try:
            attempt = delivery.lock_attempt(attempt.id, current_user, nonce)
            if not _moved_on(attempt, s):
                delivery.finish_section(attempt)
            db.session.commit()
        except DeliveryError as error:
            db.session.rollback()
            flash(str(error.message), "warning")
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    responses = delivery.responses_of(attempt)
    rows = [{"number": i + 1, "answered": e["item_id"] in responses and responses[e["item_id"]].choice is not None,
             "flagged": e["item_id"] in responses and responses[e["item_id"]].flagged} for i, e in enumerate(section["items"])]
    last = attempt.form["current"] + 1 >= len(attempt.form["sections"])
    return render_template("participant/section_review.html", attempt=attempt, section=section, s=s,
                           rows=rows, form=form, last=last, **_clock(attempt))


@bp.route("/attempts/<int:attempt_id>/confirm", methods=["GET", "POST"])
@participant_required
def confirm(attempt_id: int):
    """The last page before submitting: every section is done."""
    attempt = _own_attempt(attempt_id)
    if attempt.status != "in_progress":
        return redirect(url_for("participant.finished", attempt_id=attempt.id))
    _live(attempt)
    if delivery.current_section(attempt) is not None:
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    form = SubmitForm()
    if form.validate_on_submit():
        return _submit(attempt)
    return render_template("participant/confirm.html", attempt=attempt, form=form, **_clock(attempt))


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@participant_required
def submit(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    return _submit(attempt)


def _submit(attempt: Attempt):
    if attempt.status == "in_progress":
        try:
            attempt = delivery.lock_attempt(attempt.id, current_user, session.get(_nonce_key(attempt.id)))
            delivery.submit(attempt)
            db.session.commit()
        except DeliveryError as error:
            db.session.rollback()
            if error.code not in ("closed", "time_up"):
                flash(str(error.message), "warning")
                return redirect(url_for("participant.resume", attempt_id=attempt.id))
    return redirect(url_for("participant.finished", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/finished")
@participant_required
def finished(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status == "in_progress":
        return redirect(url_for("participant.resume", attempt_id=attempt.id))
    scores = []
    if attempt.wave.show_scores and attempt.status != "void":
        scores = db.session.execute(
            db.select(Score, Competency).join(Competency, Score.competency_id == Competency.id)
            .where(Score.attempt_id == attempt.id).order_by(Competency.position)).all()
    return render_template("participant/finished.html", attempt=attempt, scores=scores)
