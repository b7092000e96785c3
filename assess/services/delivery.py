"""Test delivery: drawing forms, saving answers, navigating, submitting, expiring.

Concurrency rules (the reason for the shapes below):
- Every write path starts with a conditional UPDATE of the attempt row. On PostgreSQL it takes the
  row lock, so a save and a submit of the same attempt serialise; on SQLite the first write takes
  the database write lock. A save is acknowledged only after its transaction commits, and a submit
  scores what was committed before it, so no acknowledged answer is missing from a score.
- Saves are idempotent: one row per (attempt, item), and a save carries a sequence number; an older
  or equal sequence never overwrites a newer one.
- Submitting and expiring are one conditional UPDATE each (status 'in_progress' → ...), so two tabs
  submitting at once give one submission and one score.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

import numpy as np
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from assess.extensions import db
from assess.irt.cat import ContentTargets, next_item
from assess.irt.models import ItemBank
from assess.models import (
    Attempt, AttemptEvent, Competency, Enrollment, Item, ItemVersion, Response, TestSection,
    TestSpec, User, Wave, utcnow,
)
from assess.services import scoring

# What each AttemptEvent kind means, for assessors and admins (the code stays visible beside it).
EVENT_LABELS = {
    "start": _l("started the test"),
    "resume": _l("continued in a new session"),
    "takeover": _l("opened in another window or device (took over)"),
    "client_change": _l("network address or browser changed"),
    "focus_lost": _l("left the test window"),
    "page_hidden": _l("test page hidden (tab or app switched)"),
    "paste": _l("pasted text"),
    "offline": _l("connection lost"),
    "online": _l("connection back"),
    "fullscreen_exit": _l("left full screen"),
    "rapid_answer": _l("answered faster than reading allows"),
    "section_time_up": _l("time for a part ran out"),
    "submitted": _l("submitted"),
    "expired": _l("closed at the deadline"),
    "admin_extend": _l("time extended by an admin"),
    "admin_reopen": _l("reopened by an admin"),
    "admin_pause": _l("paused by an admin"),
    "admin_resume": _l("resumed by an admin"),
}


def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind))


DEFAULT_GRACE_SECONDS = 15
RAPID_ANSWER_MS = 1500
CAT_RANDOMESQUE = 3


class DeliveryError(Exception):
    """A refused action with a message for the participant and an HTTP status for the API."""

    def __init__(self, code: str, message, status: int = 409):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.status = status


# --------------------------------------------------------------------------------- waves
def wave_state(wave: Wave, now: Optional[datetime] = None) -> str:
    now = now or utcnow()
    if now < wave.opens_at:
        return "scheduled"
    if now >= wave.closes_at:
        return "closed"
    return "open"


def participant_waves(user: User) -> list[tuple[Enrollment, Wave, Optional[Attempt]]]:
    rows = db.session.execute(
        select(Enrollment, Wave).join(Wave, Enrollment.wave_id == Wave.id)
        .where(Enrollment.user_id == user.id).order_by(Wave.opens_at)
    ).all()
    attempts = {}
    for attempt in db.session.execute(
        select(Attempt).where(Attempt.user_id == user.id, Attempt.status != "void")
        .order_by(Attempt.number)
    ).scalars():
        attempts[attempt.wave_id] = attempt
    return [(e, w, attempts.get(w.id)) for e, w in rows]


def enroll_by_rule(wave: Wave) -> int:
    """Enrol every participant of the wave's agencies/units (or whole cluster); returns how many."""
    from assess.models import Agency, Unit

    query = select(User.id).where(User.role == "participant", User.is_active_account.is_(True))
    targets = wave.targets or {}
    if targets.get("unit_ids"):
        query = query.where(User.unit_id.in_(targets["unit_ids"]))
    elif targets.get("agency_ids"):
        query = query.where(User.agency_id.in_(targets["agency_ids"]))
    elif wave.cluster is not None:
        unit_cluster = select(Unit.id).join(Agency, Unit.agency_id == Agency.id).where(
            func.coalesce(Unit.cluster, Agency.cluster) == wave.cluster)
        query = query.outerjoin(Agency, User.agency_id == Agency.id).where(
            (User.unit_id.in_(unit_cluster)) | ((User.unit_id.is_(None)) & (Agency.cluster == wave.cluster)))
    already = set(db.session.execute(select(Enrollment.user_id).where(Enrollment.wave_id == wave.id)).scalars())
    added = 0
    for user_id in db.session.execute(query).scalars():
        if user_id not in already:
            db.session.add(Enrollment(wave_id=wave.id, user_id=user_id, source="rule"))
            added += 1
    db.session.flush()
    return added


# --------------------------------------------------------------------------------- forms
def operational_items(competency_id: int) -> list[Item]:
    """A competency's operational items by code, with their versions loaded (``item.current``)."""
    return list(db.session.execute(
        select(Item).where(Item.competency_id == competency_id, Item.status == "operational")
        .options(selectinload(Item.versions)).order_by(Item.code)
    ).scalars())


def _entry(item: Item, shuffle: bool, rng: random.Random) -> dict:
    version = item.current
    n = 5 if version.item_type == "likert" else len(version.options)
    order = list(range(n))
    if shuffle and version.item_type != "likert":
        rng.shuffle(order)
    return {"item_id": item.id, "version_id": version.id, "order": order}


def _draw_section(section: TestSection, shuffle: bool, rng: random.Random) -> dict:
    settings = section.settings or {}
    pool = operational_items(section.competency_id)
    competency = db.session.get(Competency, section.competency_id)
    out: dict[str, Any] = {
        "section_id": section.id, "competency_id": section.competency_id,
        "competency": competency.code, "method": section.method,
        "layout": settings.get("layout", "item"), "state": "pending", "items": [],
    }
    if section.time_limit_minutes:
        out["seconds"] = section.time_limit_minutes * 60  # the part's own clock, from entering it
    if section.method == "fixed":
        by_code = {item.code: item for item in pool}
        codes = settings.get("items") or [item.code for item in pool[: section.n_items or len(pool)]]
        missing = [c for c in codes if c not in by_code]
        if missing:
            raise DeliveryError("form", _l("The test form refers to items that are not operational: %(codes)s",
                                           codes=", ".join(missing)))
        out["items"] = [_entry(by_code[c], shuffle, rng) for c in codes]
    elif section.method == "random":
        n = section.n_items or 10
        by_level: dict[int, list[Item]] = {}
        for item in pool:
            by_level.setdefault(item.current.level, []).append(item)
        per_level = {int(k): int(v) for k, v in (settings.get("per_level") or {}).items()}
        chosen: list[Item] = []
        if per_level:
            for level, count in sorted(per_level.items()):
                candidates = by_level.get(level, [])
                if len(candidates) < count:
                    raise DeliveryError("form", _l("Not enough operational items at level %(level)d.", level=level))
                chosen += rng.sample(candidates, count)
        else:
            if len(pool) < n:
                raise DeliveryError("form", _l("Not enough operational items for a random form."))
            # Stratified: spread the draw evenly over the levels present, then fill at random.
            levels = sorted(by_level)
            for i in range(n):
                level = levels[i % len(levels)]
                left = [it for it in by_level[level] if it not in chosen]
                if left:
                    chosen.append(rng.choice(left))
            rest = [it for it in pool if it not in chosen]
            chosen += rng.sample(rest, n - len(chosen))
            chosen.sort(key=lambda it: (it.current.level, rng.random()))
        out["items"] = [_entry(item, shuffle, rng) for item in chosen]
    else:  # cat
        if not pool:
            raise DeliveryError("form", _l("The adaptive section has no operational items."))
        out["cat"] = {
            "pool": [item.id for item in pool], "min": section.min_items or 5,
            "max": section.max_items or 20, "se": section.se_target or 0.35,
            "theta": 0.0, "se_now": 1.0, "stop": None,
            "content": list((settings.get("content") or {}).get("subdomains") or []),
        }
        if settings.get("exposure_k"):  # Sympson-Hetter parameters calibrated for this design
            out["cat"]["exposure_k"] = dict(settings["exposure_k"])
    return out


def content_targets(subdomains: list[str], item_subdomains: list[Optional[str]]) -> Optional[ContentTargets]:
    """Equal shares over the listed subdomains; other items only as a last resort (target 0)."""
    if not subdomains:
        return None
    labels = [sd if sd in subdomains else "_other" for sd in item_subdomains]
    targets = {sd: 1.0 / len(subdomains) for sd in subdomains}
    if "_other" in labels:
        targets["_other"] = 0.0
    return ContentTargets(labels, targets)


def draw_form(spec: TestSpec, rng: Optional[random.Random] = None) -> dict:
    rng = rng or random.Random(secrets.randbits(64))
    return {"sections": [_draw_section(s, spec.shuffle_options, rng) for s in spec.sections],
            "current": 0}


# --------------------------------------------------------------------------------- attempts
def grace() -> timedelta:
    return timedelta(seconds=current_app.config.get("DEADLINE_GRACE_SECONDS", DEFAULT_GRACE_SECONDS))


def time_limit(spec: TestSpec) -> int:
    if spec.time_limit_minutes:
        return spec.time_limit_minutes
    return sum(s.time_limit_minutes or 0 for s in spec.sections) or 90


def start_attempt(user: User, wave: Wave, *, ip: str = "", user_agent: str = "") -> Attempt:
    """Start (or return the live) attempt of ``user`` in ``wave``; the server sets the deadline."""
    enrollment = db.session.execute(
        select(Enrollment).where(Enrollment.wave_id == wave.id, Enrollment.user_id == user.id)
    ).scalar_one_or_none()
    if enrollment is None:
        raise DeliveryError("not_enrolled", _l("You are not enrolled in this assessment."), 403)
    existing = db.session.execute(
        select(Attempt).where(Attempt.wave_id == wave.id, Attempt.user_id == user.id,
                              Attempt.status != "void").order_by(Attempt.number.desc())
    ).scalars().first()
    if existing is not None:
        return existing
    state = wave_state(wave)
    if state != "open":
        raise DeliveryError("closed", _l("This assessment is not open now."), 409)
    if not wave.spec.is_active:
        # The spec was changed or deactivated after the wave was set up: nobody starts a form that
        # has not passed the bank check. Attempts already started keep their drawn form.
        raise DeliveryError("not_ready", _l("This assessment is not ready yet. Please try again later or contact the organiser."), 409)
    now = utcnow()
    minutes = time_limit(wave.spec) + (enrollment.extra_minutes or 0)
    deadline = min(now + timedelta(minutes=minutes), wave.closes_at + timedelta(minutes=enrollment.extra_minutes or 0))
    number = 1 + (db.session.scalar(select(func.max(Attempt.number)).where(
        Attempt.wave_id == wave.id, Attempt.user_id == user.id)) or 0)
    form = draw_form(wave.spec)
    if enrollment.extra_minutes:
        # Extra time is an accommodation on the whole test; a timed part gets the same share.
        factor = 1.0 + enrollment.extra_minutes / time_limit(wave.spec)
        for section in form["sections"]:
            if section.get("seconds"):
                section["seconds"] = int(round(section["seconds"] * factor))
    attempt = Attempt(wave_id=wave.id, user_id=user.id, number=number, status="in_progress",
                      started_at=now, deadline_at=deadline, form=form, position=0,
                      session_nonce=secrets.token_hex(16), last_seen_at=now)
    db.session.add(attempt)
    db.session.flush()
    _enter_section(attempt, 0)
    log_event(attempt, "start", ip=ip, user_agent=user_agent)
    return attempt


def log_event(attempt: Attempt, kind: str, *, ip: str = "", user_agent: str = "",
              detail: Optional[dict] = None) -> None:
    db.session.add(AttemptEvent(attempt_id=attempt.id, kind=kind, ip=ip[:64] or None,
                                user_agent=(user_agent or "")[:300] or None, detail=detail))


def section_deadline(attempt: Attempt) -> Optional[datetime]:
    """The deadline of the current part when it has its own time limit, else None."""
    return section_deadline_of(attempt.form)


def section_deadline_of(form: Optional[dict]) -> Optional[datetime]:
    """:func:`section_deadline` from an attempt's ``form`` alone (for set-based work on many)."""
    if not form:
        return None
    sections, index = form["sections"], form.get("current", 0)
    section = sections[index] if index < len(sections) else None
    if not section or not section.get("deadline"):
        return None
    return datetime.fromisoformat(section["deadline"])


def set_section_deadline(attempt: Attempt, when: datetime) -> None:
    """Move the current part's own deadline (enter, extend, resume)."""
    attempt.form["sections"][attempt.form["current"]]["deadline"] = when.isoformat()
    flag_modified(attempt, "form")


def effective_deadline(attempt: Attempt) -> datetime:
    """What the participant's clock counts down to now: the part's deadline or the test's."""
    part = section_deadline(attempt)
    return attempt.deadline_at if part is None else min(part, attempt.deadline_at)


def clock_scope(attempt: Attempt) -> str:
    """'section' when the current part's own limit ends before the whole test, else 'test'."""
    part = section_deadline(attempt)
    return "section" if part is not None and part < attempt.deadline_at else "test"


def _clock_now(attempt: Attempt, now: Optional[datetime]) -> datetime:
    """The attempt's own time: it stands still while an admin has paused the attempt."""
    return attempt.paused_at if attempt.paused_at is not None else (now or utcnow())


def remaining_seconds(attempt: Attempt, now: Optional[datetime] = None) -> float:
    """Seconds left on the participant's clock (the current part's, when it ends first)."""
    return max(0.0, (effective_deadline(attempt) - _clock_now(attempt, now)).total_seconds())


def test_remaining_seconds(attempt: Attempt, now: Optional[datetime] = None) -> float:
    """Seconds left for the whole test."""
    return max(0.0, (attempt.deadline_at - _clock_now(attempt, now)).total_seconds())


def is_past_deadline(attempt: Attempt, now: Optional[datetime] = None) -> bool:
    return _clock_now(attempt, now) > attempt.deadline_at


def close_attempt(attempt_id: int, status: str) -> bool:
    """Close an in-progress attempt as 'submitted' or 'expired' and score it, exactly once.

    Returns True when this call closed it, False when it was already closed.
    """
    now = utcnow()
    result = db.session.execute(
        update(Attempt).where(Attempt.id == attempt_id, Attempt.status == "in_progress")
        .values(status=status, submitted_at=now, row_version=Attempt.row_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    attempt = db.session.get(Attempt, attempt_id, populate_existing=True)
    scores = scoring.score_attempt(attempt)
    count_exposure(attempt)
    log_event(attempt, status)
    from assess.services import review

    review.refresh_case(attempt, scores)
    return True


def count_exposure(attempt: Attempt) -> None:
    """Add one to the exposure count of every item the closed attempt was given (answered or not;
    an adaptive part's items as administered). Once per attempt, as it closes: counting at delivery
    would lock the most informative items' rows on every adaptive step of every participant."""
    ids = sorted({entry["item_id"] for section in (attempt.form or {}).get("sections", [])
                  for entry in section.get("items", [])})
    if ids:  # one statement, rows in key order: concurrent closes queue rather than deadlock
        db.session.execute(update(Item).where(Item.id.in_(ids)).values(exposure_count=Item.exposure_count + 1)
                           .execution_options(synchronize_session=False))


def expire_if_due(attempt: Attempt) -> bool:
    """Catch up with the clock: close an attempt whose deadline (plus grace) has passed, or close
    the timed parts whose own time has run out. True if something changed (the caller commits)."""
    if attempt.status != "in_progress" or attempt.paused_at is not None:
        return False  # a paused attempt's clock stands still
    if utcnow() > attempt.deadline_at + grace():
        return close_attempt(attempt.id, "expired")
    try:
        return close_timed_sections(attempt)
    except StaleDataError:
        # Another request (a save, the clock) closed the same part at the same moment.
        db.session.rollback()
        return False


def close_timed_sections(attempt: Attempt, now: Optional[datetime] = None) -> bool:
    """Close every part whose own deadline (plus grace) has passed and enter the next one, whose
    clock starts now; when the last part closes this way the attempt expires and is scored.

    Answers saved in time stay; the part is locked like a finished one. Flush (or close).
    """
    now = now or utcnow()
    changed = False
    while True:
        part = section_deadline(attempt)
        if part is None or now <= part + grace():
            break
        index = attempt.form["current"]
        attempt.form["sections"][index]["timed_out"] = True
        log_event(attempt, "section_time_up", detail={"section": index})
        finish_section(attempt, now=now)
        changed = True
        if current_section(attempt) is None:
            db.session.flush()
            close_attempt(attempt.id, "expired")
            return True
    if changed:
        db.session.flush()
    return changed


def expire_due(now: Optional[datetime] = None) -> int:
    """Close and score every in-progress attempt past its deadline (CLI ``attempts expire``)."""
    cutoff = (now or utcnow()) - grace()
    ids = list(db.session.execute(
        select(Attempt.id).where(Attempt.status == "in_progress", Attempt.paused_at.is_(None),
                                 Attempt.deadline_at < cutoff)
    ).scalars())
    closed = 0
    for attempt_id in ids:
        closed += close_attempt(attempt_id, "expired")
        db.session.commit()
    return closed


def lock_attempt(attempt_id: int, user: User, nonce: Optional[str]) -> Attempt:
    """Lock a live attempt of ``user`` for a write, or raise the reason it cannot be written.

    The conditional UPDATE takes the row lock (PostgreSQL) / write lock (SQLite) first.
    """
    now = utcnow()
    result = db.session.execute(
        update(Attempt).where(
            Attempt.id == attempt_id, Attempt.user_id == user.id, Attempt.status == "in_progress",
            Attempt.deadline_at >= now - grace(), Attempt.session_nonce == nonce,
            Attempt.paused_at.is_(None),
        ).values(last_seen_at=now).execution_options(synchronize_session=False)
    )
    attempt = db.session.get(Attempt, attempt_id, populate_existing=True)
    if attempt is None or attempt.user_id != user.id:
        raise DeliveryError("not_found", _l("This test does not exist."), 404)
    if result.rowcount == 1:
        if close_timed_sections(attempt, now):
            # The clock moved the test on: that stands whatever happens to this request (a refused
            # save rolls back), so commit it now, then lock again for the rest of the request.
            db.session.commit()
            if attempt.status != "in_progress":  # the last part's time ran out: closed and scored
                raise DeliveryError("time_up", _l("Time is up. Answers saved before the deadline have been scored."))
            return lock_attempt(attempt_id, user, nonce)
        return attempt
    if attempt.status == "in_progress" and attempt.paused_at is not None:
        raise DeliveryError("paused", _l("The organiser has paused your test and stopped its clock. Your saved answers are safe; the test continues when it is resumed."))
    if attempt.status == "in_progress" and is_past_deadline(attempt, now - grace()):
        expire_if_due(attempt)
        db.session.commit()
        raise DeliveryError("time_up", _l("Time is up. Answers saved before the deadline have been scored."))
    if attempt.status != "in_progress":
        raise DeliveryError("closed", _l("This test has already been submitted."))
    raise DeliveryError("taken_over", _l("This test was opened in another window or device. Continue there, or reload this page to continue here."))


def claim_session(attempt: Attempt, session_nonce: Optional[str], *, ip: str, user_agent: str) -> str:
    """Make this browser session the live one for the attempt; log resume and takeover."""
    if attempt.session_nonce and session_nonce == attempt.session_nonce:
        return attempt.session_nonce
    previous = attempt.session_nonce
    attempt.session_nonce = secrets.token_hex(16)
    log_event(attempt, "takeover" if previous else "resume", ip=ip, user_agent=user_agent,
              detail={"previous_session": bool(previous)})
    return attempt.session_nonce


def note_client(attempt: Attempt, ip: str, user_agent: str) -> None:
    """Record an IP or user-agent change as an integrity event."""
    client = attempt.form.get("client") or {}
    changes = {}
    if client.get("ip") and client["ip"] != ip:
        changes["ip"] = [client["ip"], ip]
    if client.get("ua") and client["ua"] != user_agent:
        changes["user_agent"] = [client["ua"], user_agent]
    if changes:
        log_event(attempt, "client_change", ip=ip, user_agent=user_agent, detail=changes)
    if client.get("ip") != ip or client.get("ua") != user_agent:
        attempt.form["client"] = {"ip": ip, "ua": user_agent}
        flag_modified(attempt, "form")


# --------------------------------------------------------------------------------- sections
def current_section(attempt: Attempt) -> Optional[dict]:
    sections = attempt.form["sections"]
    index = attempt.form.get("current", 0)
    return sections[index] if index < len(sections) else None


def _enter_section(attempt: Attempt, index: int, now: Optional[datetime] = None) -> None:
    attempt.form["current"] = index
    attempt.position = 0
    if index < len(attempt.form["sections"]):
        section = attempt.form["sections"][index]
        section["state"] = "active"
        if section.get("seconds") and not section.get("deadline"):
            start = now or utcnow()
            set_section_deadline(attempt, min(start + timedelta(seconds=section["seconds"]), attempt.deadline_at))
        if section["method"] == "cat" and not section["items"]:
            _cat_step(attempt, section)
    flag_modified(attempt, "form")


def finish_section(attempt: Attempt, now: Optional[datetime] = None) -> None:
    """Lock the current section and enter the next one (the last one leads to the submit page)."""
    section = current_section(attempt)
    if section is None:
        return
    section["state"] = "done"
    _enter_section(attempt, attempt.form["current"] + 1, now)


def _versions(ids: list[int]) -> dict[int, ItemVersion]:
    return {v.id: v for v in db.session.execute(select(ItemVersion).where(ItemVersion.id.in_(ids))).scalars()}


def _cat_step(attempt: Attempt, section: dict) -> None:
    """Update the interim θ of a CAT section and add the next item, or stop the section.

    The engine's :func:`assess.irt.cat.next_item` does the work: interim EAP (finite after the
    first answers), the stopping rules, then maximum information at θ̂, randomesque among the top
    few, the items' Sympson-Hetter exposure parameters and, when the section sets targets,
    content balancing over subdomains. Answered items keep the version the participant saw.
    """
    cat = section["cat"]
    pool: list[int] = cat["pool"]
    seen = {e["item_id"]: e for e in section["items"]}
    answered = {r.item_id: r for r in db.session.execute(
        select(Response).where(Response.attempt_id == attempt.id, Response.item_id.in_(list(seen) or [-1]),
                               Response.category.is_not(None))).scalars()}
    items = {i.id: i for i in db.session.execute(select(Item).where(Item.id.in_(pool))).scalars()}
    pinned = _versions([e["version_id"] for e in section["items"]])
    positions, versions = [], []
    for item_id in pool:
        if item_id in seen:
            versions.append(pinned[seen[item_id]["version_id"]])
        elif item_id in items and items[item_id].status == "operational":
            versions.append(items[item_id].current)
        else:
            continue  # retired since the form was drawn
        positions.append(item_id)
    records = [dict(scoring.irt_record(v), item_id=str(item_id)) for item_id, v in zip(positions, versions)]
    bank = ItemBank.from_records(records)
    index = {item_id: n for n, item_id in enumerate(positions)}
    done = [e["item_id"] for e in section["items"] if e["item_id"] in answered]
    exclude = [index[i] for i in cat.get("rejected", []) + [i for i in seen if i not in answered] if i in index]
    content = content_targets(cat.get("content") or [], [v.subdomain for v in versions])
    # The section's own exposure parameters (calibrated for its design when the spec was checked)
    # come first; otherwise each item's bank-wide parameter.
    section_k = cat.get("exposure_k") or {}
    exposure_k = [section_k.get(str(i), items[i].exposure_k if i in items else 1.0) for i in positions]
    step = next_item(
        bank, [index[i] for i in done], [answered[i].category for i in done],
        exclude=exclude or None, min_items=cat["min"], max_items=cat["max"], se_target=cat["se"],
        randomesque=CAT_RANDOMESQUE, exposure_k=exposure_k,
        content=content, rng=np.random.default_rng(secrets.randbits(64)),
    )
    cat["theta"], cat["se_now"] = float(step.theta), float(step.se)
    cat["rejected"] = cat.get("rejected", []) + [positions[j] for j in (step.rejected or [])]
    if step.stop_reason:
        cat["stop"] = step.stop_reason
        return
    choice = items[positions[step.item]]
    section["items"].append(_entry(choice, True, random.Random(secrets.randbits(64))))
    attempt.position = len(section["items"]) - 1


def cat_next(attempt: Attempt) -> None:
    """After the current CAT item is answered: lock it, update θ, pick the next or stop."""
    section = current_section(attempt)
    entry = section["items"][attempt.position]
    response = db.session.execute(select(Response).where(
        Response.attempt_id == attempt.id, Response.item_id == entry["item_id"])).scalar_one_or_none()
    if response is None or response.category is None:
        raise DeliveryError("answer_required", _l("Choose an answer before going on: an adaptive test has no going back."), 400)
    entry["locked"] = True
    _cat_step(attempt, section)
    if section["cat"]["stop"]:
        finish_section(attempt)
    flag_modified(attempt, "form")


# --------------------------------------------------------------------------------- answers
@dataclass
class Ack:
    item_id: int
    seq: int
    status: str  # saved | stale

    def as_dict(self) -> dict:
        return {"item": self.item_id, "seq": self.seq, "status": self.status}


def _answerable(attempt: Attempt) -> dict[int, tuple[dict, dict]]:
    """Items the participant may answer now: the current section's, minus locked CAT items."""
    section = current_section(attempt)
    if section is None:
        return {}
    return {e["item_id"]: (section, e) for e in section["items"] if not e.get("locked")}


def save_answers(attempt: Attempt, answers: list[dict], *, ip: str = "", user_agent: str = "") -> list[Ack]:
    """Upsert answers (already locked attempt); an older sequence never overwrites a newer one.

    Each answer: ``{"item": id, "choice": displayed position or None, "seq": int,
    "elapsed_ms": int?, "flagged": bool?}``. Raises DeliveryError (400) for an item that is not on
    the attempt's current page set or a choice out of range; nothing is written then.
    """
    allowed = _answerable(attempt)
    all_entries = {e["item_id"]: e for s in attempt.form["sections"] for e in s["items"]}
    timed_out = {e["item_id"] for s in attempt.form["sections"] if s.get("timed_out") for e in s["items"]}
    rows = []
    versions = _versions([all_entries[a["item"]]["version_id"] for a in answers
                          if isinstance(a.get("item"), int) and a["item"] in all_entries])
    for answer in answers:
        item_id, seq, choice = answer.get("item"), answer.get("seq"), answer.get("choice")
        if not isinstance(item_id, int) or item_id not in all_entries:
            raise DeliveryError("bad_item", _l("An answer refers to an item that is not in this test."), 400)
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**31:
            raise DeliveryError("bad_seq", _l("An answer has no valid sequence number."), 400)
        entry = all_entries[item_id]
        if item_id not in allowed:
            # A retry of something already saved is harmless; a new answer to a locked item is not.
            rows.append((item_id, seq, None, entry, "timed_out" if item_id in timed_out else "locked"))
            continue
        category = points = canonical = None
        if choice is not None:
            if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < len(entry["order"]):
                raise DeliveryError("bad_choice", _l("An answer chose an option that does not exist."), 400)
            canonical = entry["order"][choice]
            category, points = scoring.category_of(versions[entry["version_id"]], canonical)
        rows.append((item_id, seq, dict(choice=canonical, category=category, points=points,
                                        flagged=bool(answer.get("flagged", False)),
                                        elapsed_ms=_int_or_none(answer.get("elapsed_ms"))), entry, "ok"))
    acks = []
    now = utcnow()
    for item_id, seq, values, entry, kind in rows:
        if kind in ("locked", "timed_out"):
            stored = db.session.scalar(select(Response.seq).where(
                Response.attempt_id == attempt.id, Response.item_id == item_id))
            if stored is not None and seq <= stored:
                acks.append(Ack(item_id, stored, "stale"))
                continue
            if kind == "timed_out":
                raise DeliveryError("section_time_up", _l("Time for this part is up. Answers saved before its time ran out are kept; the test continues with the next part."), 409)
            raise DeliveryError("locked", _l("This question can no longer be changed."), 409)
        stored = _upsert(attempt.id, item_id, entry["version_id"], seq, values, now)
        acks.append(Ack(item_id, stored, "saved" if stored == seq else "stale"))
        if values["elapsed_ms"] is not None and values["choice"] is not None and values["elapsed_ms"] < RAPID_ANSWER_MS:
            log_event(attempt, "rapid_answer", ip=ip, user_agent=user_agent,
                      detail={"item": item_id, "elapsed_ms": values["elapsed_ms"]})
    db.session.flush()
    return acks


def _int_or_none(value) -> Optional[int]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 2**31:
        return int(value)
    return None


def _upsert(attempt_id: int, item_id: int, version_id: int, seq: int, values: dict, now) -> int:
    """INSERT ... ON CONFLICT (attempt, item) DO UPDATE WHERE stored.seq < new.seq; return stored seq."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = Response.__table__
    stmt = insert(table).values(attempt_id=attempt_id, item_id=item_id, item_version_id=version_id,
                                seq=seq, answered_at=now, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.attempt_id, table.c.item_id],
        set_={**{k: stmt.excluded[k] for k in values}, "seq": stmt.excluded.seq,
              "answered_at": stmt.excluded.answered_at},
        where=table.c.seq < stmt.excluded.seq,
    ).returning(table.c.seq)
    written = db.session.execute(stmt).scalar_one_or_none()
    if written is not None:
        return written
    # Nothing written: the stored answer has an equal or newer sequence; report it.
    return db.session.scalar(select(Response.seq).where(Response.attempt_id == attempt_id,
                                                        Response.item_id == item_id))


def responses_of(attempt: Attempt) -> dict[int, Response]:
    return {r.item_id: r for r in db.session.execute(
        select(Response).where(Response.attempt_id == attempt.id)).scalars()}


def submit(attempt: Attempt) -> bool:
    """Submit and score; idempotent (a second submit returns False and changes nothing)."""
    return close_attempt(attempt.id, "submitted")
