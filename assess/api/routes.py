"""JSON API: the participant's autosave, integrity events and clock; JSON errors everywhere."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, session
from flask_login import current_user

from assess.auth.access import participant_required, roles_required
from assess.extensions import client_ip, db
from assess.models import ROLES, Attempt
from assess.services import delivery
from assess.services.delivery import DeliveryError

bp = Blueprint("api", __name__)

EVENT_KINDS = {"focus_lost", "page_hidden", "paste", "offline", "online", "fullscreen_exit"}
MAX_BATCH = 200


@bp.route("/me")
@roles_required(*ROLES)
def me():
    """Who is signed in: no credentials, no hashes."""
    user = current_user
    return jsonify(
        id=user.id, role=user.role, name=user.name, nip=user.nip, username=user.username,
        agency=user.agency.code if user.agency else None, cluster=user.cluster,
        locale=user.locale,
    )


def _error(error: DeliveryError):
    return jsonify(error=error.code, message=str(error.message)), error.status


@bp.route("/attempts/<int:attempt_id>/answers", methods=["POST"])
@participant_required
def save_answers(attempt_id: int):
    """Save a batch of answers; acknowledged only once committed.

    Body: ``{"answers": [{"item": id, "choice": position|null, "seq": n, "elapsed_ms": ms,
    "flagged": bool}, ...]}``. Answer: ``{"acks": [{"item", "seq", "status"}], "remaining_ms",
    "test_remaining_ms", "section"}`` (as for the clock).
    """
    body = request.get_json(silent=True)
    answers = body.get("answers") if isinstance(body, dict) else None
    if not isinstance(answers, list) or not answers or len(answers) > MAX_BATCH:
        return jsonify(error="bad_request", message="answers must be a list of 1 to 200 answers"), 400
    try:
        attempt = delivery.lock_attempt(attempt_id, current_user, session.get(f"attempt-{attempt_id}"))
        acks = delivery.save_answers(attempt, answers, ip=client_ip(),
                                     user_agent=(request.user_agent.string or "")[:300])
        remaining_ms = int(delivery.remaining_seconds(attempt) * 1000)  # before the commit expires it
        test_remaining_ms = int(delivery.test_remaining_seconds(attempt) * 1000)
        section = attempt.form.get("current")
        db.session.commit()
    except DeliveryError as error:
        db.session.rollback()
        return _error(error)
    return jsonify(acks=[a.as_dict() for a in acks], remaining_ms=remaining_ms,
                   test_remaining_ms=test_remaining_ms, section=section)


@bp.route("/attempts/<int:attempt_id>/events", methods=["POST"])
@participant_required
def events(attempt_id: int):
    """Integrity signals from the page (focus lost, page hidden, paste ...); never block answers."""
    body = request.get_json(silent=True) or {}
    items = body.get("events") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > 50:
        return jsonify(error="bad_request", message="events must be a list of at most 50"), 400
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        return jsonify(error="not_found", message="not found"), 404
    if attempt.status != "in_progress":
        return jsonify(recorded=0)
    recorded = 0
    for event in items:
        kind = event.get("kind") if isinstance(event, dict) else None
        if kind in EVENT_KINDS:
            detail = {k: v for k, v in event.items() if k in ("item", "at", "duration_ms") and isinstance(v, (int, float, str))}
            delivery.log_event(attempt, kind, ip=client_ip(), user_agent=request.user_agent.string or "",
                               detail=detail or None)
            recorded += 1
    db.session.commit()
    return jsonify(recorded=recorded)


@bp.route("/attempts/<int:attempt_id>/clock")
@participant_required
def clock(attempt_id: int):
    """The server's remaining time, for the page to resynchronise its countdown.

    ``remaining_ms`` counts down to the current part's own deadline when it ends first (``scope``
    "section"), else to the test's; ``section`` is the current part, which the server moves on
    when a part's time runs out; ``paused`` says an admin has stopped the clock.
    """
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        return jsonify(error="not_found", message="not found"), 404
    if delivery.expire_if_due(attempt):
        db.session.commit()
    live = attempt.status == "in_progress"
    return jsonify(status=attempt.status,
                   remaining_ms=int(delivery.remaining_seconds(attempt) * 1000) if live else 0,
                   test_remaining_ms=int(delivery.test_remaining_seconds(attempt) * 1000) if live else 0,
                   section=attempt.form.get("current") if live else None,
                   scope=delivery.clock_scope(attempt) if live else "test",
                   paused=live and attempt.paused_at is not None,
                   live=session.get(f"attempt-{attempt_id}") == attempt.session_nonce)


# The talent API for other systems (bearer tokens, not the session).
from assess.api import talent_routes  # noqa: E402,F401
