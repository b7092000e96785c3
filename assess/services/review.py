"""Assessor review: cases, the queue, assignment, decisions under four eyes, and the report data.

Rules:
- An assessor never reviews a participant of their own agency (queue, report, assignment and
  decisions all check it).
- Approve and "second opinion" are final at once. An override of a level, and a request for a
  re-test, wait for a second assessor; the one who asked cannot confirm (also a database check).
- The original score is never changed: an override is a Review row that says which level counts.
- Every decision writes an append-only audit row; the report shows them as a timeline.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import selectinload

from assess.extensions import db
from assess.models import (
    Agency, Attempt, AuditLog, Review, ReviewCase, Score, Unit, User, Wave, utcnow,
)
from assess.services import audit
from assess.services.flags import PRECISION_CODES, compute_flags

REASON_CODES = ("measurement_error", "administration_problem", "additional_evidence", "misfit_confirmed", "other")
FLAG_CODES = ("misfit", "rapid_guessing", "integrity_events", "straight_lining", "large_se", "reverse_inconsistency")
QUEUE_STATES = ("awaiting", "flagged", "second_opinion", "pending_confirmation", "approved", "overridden", "retest")


class ReviewError(Exception):
    def __init__(self, message, status: int = 409):
        super().__init__(str(message))
        self.message = message
        self.status = status


def refresh_case(attempt: Attempt, scores: Optional[list[Score]] = None) -> ReviewCase:
    """Create or update the attempt's review case with fresh flags (after scoring); flush."""
    flags = compute_flags(attempt, scores)
    case_ = db.session.execute(select(ReviewCase).where(ReviewCase.attempt_id == attempt.id)).scalar_one_or_none()
    if case_ is None:
        case_ = ReviewCase(attempt_id=attempt.id, state="awaiting")
        db.session.add(case_)
    case_.flags = flags
    case_.flag_count = sum(1 for f in flags if f["code"] not in PRECISION_CODES)
    db.session.flush()
    return case_


# ------------------------------------------------------------------------------ the queue
@dataclass
class QueueFilters:
    wave_id: Optional[int] = None
    cluster: Optional[int] = None
    agency_id: Optional[int] = None
    unit_id: Optional[int] = None
    state: Optional[str] = None
    flag: Optional[str] = None
    mine: bool = False


def visible_to(assessor: User):
    """Condition: the participant is not of the assessor's own agency (admins see everything)."""
    if assessor.role == "admin" or assessor.agency_id is None:
        return true()
    return User.agency_id.is_distinct_from(assessor.agency_id)


def queue_query(assessor: User, f: QueueFilters):
    participant_cluster = func.coalesce(Unit.cluster, Agency.cluster)
    query = (
        select(ReviewCase)
        .join(Attempt, ReviewCase.attempt_id == Attempt.id)
        .join(User, Attempt.user_id == User.id)
        .join(Wave, Attempt.wave_id == Wave.id)
        .outerjoin(Agency, User.agency_id == Agency.id)
        .outerjoin(Unit, User.unit_id == Unit.id)
        .where(visible_to(assessor))
        .options(selectinload(ReviewCase.attempt).selectinload(Attempt.user).selectinload(User.agency),
                 selectinload(ReviewCase.attempt).selectinload(Attempt.wave))
    )
    if f.wave_id:
        query = query.where(Attempt.wave_id == f.wave_id)
    if f.cluster:
        query = query.where(participant_cluster == f.cluster)
    if f.agency_id:
        query = query.where(User.agency_id == f.agency_id)
    if f.unit_id:
        query = query.where(User.unit_id == f.unit_id)
    if f.state == "flagged":
        query = query.where(ReviewCase.flag_count > 0, ReviewCase.state.in_(("awaiting", "second_opinion")))
    elif f.state:
        query = query.where(ReviewCase.state == f.state)
    if f.flag:
        # flags is JSON; a LIKE on its text works on SQLite and PostgreSQL alike.
        query = query.where(func.cast(ReviewCase.flags, db.String).like(f'%"code": "{f.flag}"%'))
    if f.mine:
        query = query.where(ReviewCase.assessor_id == assessor.id)
    urgency = case(
        (ReviewCase.state == "pending_confirmation", 0), (ReviewCase.state == "second_opinion", 1),
        (and_(ReviewCase.state == "awaiting", ReviewCase.flag_count > 0), 2),
        (ReviewCase.state == "awaiting", 3), else_=4)
    return query.order_by(urgency, ReviewCase.flag_count.desc(), Attempt.submitted_at, ReviewCase.id)


def get_case(assessor: User, attempt_id: int) -> ReviewCase:
    """The case of an attempt if this assessor may see it, else ReviewError 404/403."""
    row = db.session.execute(
        select(ReviewCase, User).join(Attempt, ReviewCase.attempt_id == Attempt.id)
        .join(User, Attempt.user_id == User.id).where(ReviewCase.attempt_id == attempt_id)
    ).first()
    if row is None:
        raise ReviewError(_l("There is no scored attempt with this number."), 404)
    case_, participant = row
    if assessor.role != "admin" and assessor.agency_id is not None and participant.agency_id == assessor.agency_id:
        raise ReviewError(_l("You cannot review a participant of your own agency."), 403)
    return case_


def assign(case_: ReviewCase, assessor: User, *, by: User) -> None:
    participant = case_.attempt.user
    if assessor.role not in ("assessor", "admin"):
        raise ReviewError(_l("Only assessors can be assigned."))
    if assessor.agency_id is not None and participant.agency_id == assessor.agency_id:
        raise ReviewError(_l("An assessor cannot review a participant of their own agency."), 403)
    if by.role != "admin" and by.id != assessor.id:
        raise ReviewError(_l("Only an admin can assign attempts to someone else."), 403)
    case_.assessor_id = assessor.id
    case_.assigned_at = utcnow()
    audit.record("review.assign", actor=by, target=case_.attempt, detail={"assessor_id": assessor.id})


# ------------------------------------------------------------------------------ decisions
def _decide(case_: ReviewCase, by: User, decision: str, *, state: str, **fields) -> Review:
    review = Review(attempt_id=case_.attempt_id, assessor_id=by.id, decision=decision, state=state, **fields)
    db.session.add(review)
    db.session.flush()
    audit.record(f"review.{decision}", actor=by, target=case_.attempt,
                 detail={"review_id": review.id, "state": state,
                         **{k: v for k, v in fields.items() if v is not None}})
    return review


def _pending(case_: ReviewCase) -> Optional[Review]:
    return db.session.execute(
        select(Review).where(Review.attempt_id == case_.attempt_id, Review.state == "pending")
        .order_by(Review.id.desc())).scalars().first()


def _open(case_: ReviewCase) -> None:
    if case_.state in ("approved", "overridden", "retest"):
        raise ReviewError(_l("This attempt has already been decided."))
    if case_.state == "pending_confirmation":
        raise ReviewError(_l("A decision on this attempt waits for a second assessor's confirmation."))


def approve(case_: ReviewCase, by: User, note: str = "") -> Review:
    _open(case_)
    case_.state = "approved"
    return _decide(case_, by, "approve", state="final", reason_text=note or None)


def ask_second_opinion(case_: ReviewCase, by: User, note: str) -> Review:
    _open(case_)
    if not note.strip():
        raise ReviewError(_l("Say what the second assessor should look at."), 400)
    case_.state = "second_opinion"
    case_.assessor_id = None  # back to the pool for another assessor
    return _decide(case_, by, "flag", state="final", reason_text=note)


def request_override(case_: ReviewCase, by: User, *, competency_id: int, new_level: int,
                     reason_code: str, reason_text: str) -> Review:
    _open(case_)
    score = db.session.execute(select(Score).where(Score.attempt_id == case_.attempt_id,
                                                   Score.competency_id == competency_id)).scalar_one_or_none()
    if score is None:
        raise ReviewError(_l("This attempt has no score for that competency."), 400)
    if reason_code not in REASON_CODES or not reason_text.strip():
        raise ReviewError(_l("An override needs a reason code and an explanation."), 400)
    if not 1 <= new_level <= 5 or new_level == score.level:
        raise ReviewError(_l("Choose a level from 1 to 5 that differs from the scored level."), 400)
    case_.state = "pending_confirmation"
    return _decide(case_, by, "override", state="pending", competency_id=competency_id,
                   old_level=score.level, new_level=new_level, reason_code=reason_code, reason_text=reason_text)


def request_retest(case_: ReviewCase, by: User, *, reason_code: str, reason_text: str) -> Review:
    _open(case_)
    if reason_code not in REASON_CODES or not reason_text.strip():
        raise ReviewError(_l("A re-test needs a reason code and an explanation."), 400)
    case_.state = "pending_confirmation"
    return _decide(case_, by, "retest", state="pending", reason_code=reason_code, reason_text=reason_text)


def confirm(case_: ReviewCase, by: User, *, accept: bool, note: str = "") -> Review:
    """The second assessor accepts or rejects a pending override or re-test (four eyes)."""
    pending = _pending(case_)
    if pending is None:
        raise ReviewError(_l("Nothing on this attempt waits for confirmation."))
    if pending.assessor_id == by.id:
        raise ReviewError(_l("The assessor who asked cannot confirm their own request."), 403)
    pending.state = "confirmed" if accept else "rejected"
    pending.confirmed_by_id = by.id
    pending.confirmed_at = utcnow()
    if accept and pending.decision == "override":
        case_.state = "overridden"
    elif accept and pending.decision == "retest":
        case_.state = "retest"
        attempt = case_.attempt
        attempt.status = "void"  # the participant may start the wave again (a new attempt number)
    else:
        case_.state = "awaiting"
    audit.record("review.confirm" if accept else "review.reject", actor=by, target=case_.attempt,
                 detail={"review_id": pending.id, "decision": pending.decision, "note": note or None})
    db.session.flush()
    return pending


def bulk_approve(assessor: User, attempt_ids: list[int]) -> int:
    """Approve the listed cases that are unflagged and awaiting (and visible); returns how many."""
    rows = db.session.execute(
        select(ReviewCase).join(Attempt, ReviewCase.attempt_id == Attempt.id)
        .join(User, Attempt.user_id == User.id)
        .where(ReviewCase.attempt_id.in_(attempt_ids), ReviewCase.flag_count == 0,
               ReviewCase.state == "awaiting", visible_to(assessor))
    ).scalars().all()
    for case_ in rows:
        approve(case_, assessor, note="bulk")
    return len(rows)


def effective_levels(attempt_id: int) -> dict[int, int]:
    """Competency → the level that counts: the scored one, or a confirmed override."""
    levels = dict(db.session.execute(select(Score.competency_id, Score.level).where(Score.attempt_id == attempt_id)).all())
    for review in db.session.execute(
        select(Review).where(Review.attempt_id == attempt_id, Review.decision == "override",
                             Review.state == "confirmed").order_by(Review.id)).scalars():
        levels[review.competency_id] = review.new_level
    return levels


def timeline(attempt_id: int) -> list[AuditLog]:
    return list(db.session.execute(
        select(AuditLog).where(AuditLog.target_type == "attempts", AuditLog.target_id == str(attempt_id),
                               AuditLog.action.like("review.%")).order_by(AuditLog.id)).scalars())


# ------------------------------------------------------------------------------ rescoring
@dataclass
class RescoreChange:
    attempt_id: int
    participant: str
    nip: str
    competency: str
    old_level: int
    new_level: int
    old_theta: float
    new_theta: float


def rescore_preview(wave_id: int) -> tuple[int, list[RescoreChange], dict]:
    """What a rescore with the bank's current parameters would change, without writing.

    Returns (attempts considered, level changes, band changes {attempt_id: (old, new)}); bands
    follow the talent settings in force, as the report and the talent map do.
    """
    from assess.models import Battery, Competency
    from assess.services import report, scoring

    rules = report.jpm_rules()
    attempts = db.session.execute(
        select(Attempt).where(Attempt.wave_id == wave_id, Attempt.status.in_(("submitted", "expired")))
        .options(selectinload(Attempt.user))).scalars().all()
    codes = dict(db.session.execute(select(Competency.id, Competency.code)).all())
    jpm_competencies = set(db.session.execute(
        select(Competency.id).join(Battery, Competency.battery_id == Battery.id)
        .where(Battery.code.in_(rules.batteries))).scalars())
    stored: dict[int, dict[int, Score]] = {}
    for score in db.session.execute(select(Score).where(Score.attempt_id.in_([a.id for a in attempts]))).scalars():
        stored.setdefault(score.attempt_id, {})[score.competency_id] = score
    changes, bands = [], {}
    for attempt in attempts:
        old = stored.get(attempt.id, {})
        new = {v["competency_id"]: v for v in scoring.compute_scores(attempt, current_parameters=True)}
        for cid, values in new.items():
            if cid in old and values["level"] != old[cid].level:
                changes.append(RescoreChange(attempt.id, attempt.user.name, attempt.user.nip, codes[cid],
                                             old[cid].level, values["level"], old[cid].theta, values["theta"]))
        expected = rules.expected_levels.get(attempt.user.job_level or "")
        keys = sorted(c for c in new if c in jpm_competencies and c in old)
        if expected and keys:
            before = report.band_of(report.jpm([old[c].level for c in keys], [expected] * len(keys)), rules.cuts)
            after = report.band_of(report.jpm([new[c]["level"] for c in keys], [expected] * len(keys)), rules.cuts)
            if before != after:
                bands[attempt.id] = (before, after)
    return len(attempts), changes, bands


def rescore_apply(wave_id: int, by: User) -> int:
    """Rescore every closed attempt of the wave with current parameters; refresh their cases."""
    from assess.services import scoring

    attempts = db.session.execute(
        select(Attempt).where(Attempt.wave_id == wave_id, Attempt.status.in_(("submitted", "expired")))).scalars().all()
    for attempt in attempts:
        refresh_case(attempt, scoring.score_attempt(attempt, current_parameters=True))
    audit.record("review.rescore", actor=by, target_type="waves", target_id=wave_id,
                 detail={"attempts": len(attempts)})
    return len(attempts)
