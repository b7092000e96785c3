"""Writing items by hand: create, edit (a new version each time), the status workflow, browsing,
revision history with differences, and usage counts.

The workflow: draft → review → pilot → operational → retired (see :data:`TRANSITIONS`). Moving an
item to pilot or to operational is an approval, which neither the item's author nor the writer
of its current version may give. Every move records who, when and why.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from assess.extensions import db
from assess.models import (
    Attempt, Battery, Competency, Item, ItemStatusChange, ItemVersion, Response, Stimulus, User,
)
from assess.models.bank import ITEM_STATUSES
from assess.services import audit
from assess.services.bank import (
    ARCHIVED_MARK, FIELD_NAMES, ITEM_ID_DIGITS, BankProblem, BankValidationError, current_fields,
    validate_item, version_fields,
)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("review", "retired"),
    "review": ("draft", "pilot", "retired"),
    "pilot": ("operational", "review", "retired"),
    "operational": ("retired",),
    "retired": ("draft",),
}
APPROVALS = frozenset({("review", "pilot"), ("pilot", "operational")})
STATUS_LABELS = {
    "draft": _l("Draft"), "review": _l("In review"), "pilot": _l("Pilot"),
    "operational": _l("Operational"), "retired": _l("Retired"),
}
TYPE_LABELS = {"mc": _l("Multiple choice"), "sjt": _l("Situational judgement"), "likert": _l("Likert")}
ACTION_LABELS = {
    ("draft", "review"): _l("Submit for review"),
    ("review", "draft"): _l("Return to the author"),
    ("review", "pilot"): _l("Approve for piloting"),
    ("pilot", "operational"): _l("Approve as operational"),
    ("pilot", "review"): _l("Send back to review"),
    ("retired", "draft"): _l("Revive as a draft"),
    **{(status, "retired"): _l("Retire the item") for status in ("draft", "review", "pilot", "operational")},
}


class WorkflowError(ValueError):
    """A refused workflow step or edit; ``message`` is a translated sentence for people."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


def reason_required(from_status: str, to_status: str) -> bool:
    """Returning, sending back, retiring and reviving need a reason; forward steps may have one."""
    return to_status == "retired" or (from_status, to_status) in {
        ("review", "draft"), ("pilot", "review"), ("retired", "draft")}


def _is_own(item: Item, actor: User) -> bool:
    writer = item.current.created_by_id if item.versions else None
    return actor is not None and actor.id in {item.author_id, writer}


def available_transitions(item: Item, actor: User) -> list[dict]:
    """The moves from the item's status, each with whether ``actor`` may make it and why not."""
    out = []
    for to_status in TRANSITIONS.get(item.status, ()):
        blocked = None
        if (item.status, to_status) in APPROVALS and _is_own(item, actor):
            blocked = _l("You wrote this item or its current version; another admin must approve it.")
        out.append({
            "to": to_status,
            "label": ACTION_LABELS.get((item.status, to_status), _l("Move to %(s)s", s=STATUS_LABELS[to_status])),
            "approval": (item.status, to_status) in APPROVALS,
            "reason_required": reason_required(item.status, to_status),
            "blocked": blocked,
        })
    return out


def transition(item: Item, to_status: str, *, actor: User, reason: Optional[str] = None) -> ItemStatusChange:
    """Move ``item`` to ``to_status``; raise :class:`WorkflowError` when the move is refused."""
    reason = (reason or "").strip() or None
    if to_status not in ITEM_STATUSES:
        raise WorkflowError(_l("unknown status %(s)r", s=to_status))
    if to_status not in TRANSITIONS.get(item.status, ()):
        raise WorkflowError(_l("An item cannot move from %(a)s to %(b)s.",
                               a=STATUS_LABELS[item.status], b=STATUS_LABELS[to_status]))
    if (item.status, to_status) in APPROVALS and _is_own(item, actor):
        raise WorkflowError(_l("You wrote this item or its current version; another admin must approve it."))
    if reason_required(item.status, to_status) and not reason:
        raise WorkflowError(_l("Give a reason for this step."))
    if to_status == "operational":
        problems: list[BankProblem] = []
        validate_item(item_raw_for_validation(item), problems, item.code,
                      [s for s in stimulus_choices(item.competency_id)])
        if problems:
            raise WorkflowError(_l("The current version has problems; fix them before approving: %(p)s",
                                   p="; ".join(str(p.message) for p in problems)))
    change = ItemStatusChange(item_id=item.id, from_status=item.status, to_status=to_status,
                              actor_id=actor.id if actor else None, reason=reason)
    db.session.add(change)
    before = item.status
    item.status = to_status
    if (before, to_status) in APPROVALS:
        item.reviewer_id = actor.id
    db.session.flush()
    audit.record("bank.item_status", actor=actor, target=item,
                 detail={"code": item.code, "from": before, "to": to_status, "reason": reason,
                         "version": item.current_version})
    return change


def item_raw_for_validation(item: Item) -> dict:
    from assess.services.bank import item_to_raw

    return item_to_raw(item)


# ----------------------------------------------------------------------------- editing
def stimulus_choices(competency_id: Optional[int]) -> list[str]:
    """Codes of the current stimuli of a competency (of every competency when None)."""
    query = select(Stimulus.code).order_by(Stimulus.code)
    if competency_id is not None:
        query = query.where(Stimulus.competency_id == competency_id)
    return [code for code in db.session.execute(query).scalars() if ARCHIVED_MARK not in code]


def next_item_code(competency: Competency) -> str:
    codes = db.session.execute(select(Item.code).where(Item.competency_id == competency.id)).scalars()
    numbers = [int(c.rsplit("-", 1)[1]) for c in codes if c.rsplit("-", 1)[1].isdigit()]
    return f"{competency.code}-{max(numbers, default=0) + 1:0{ITEM_ID_DIGITS[0]}d}"


def _validate(raw: dict, competency: Competency, label: str) -> None:
    problems: list[BankProblem] = []
    validate_item(raw, problems, label, stimulus_choices(competency.id))
    if problems:
        raise BankValidationError(problems)


def create_item(competency: Competency, raw: dict, *, actor: User, note: Optional[str] = None) -> Item:
    """A new draft item written by ``actor``; raises :class:`BankValidationError`."""
    code = next_item_code(competency)
    raw = {**raw, "id": code, "status": "draft"}
    _validate(raw, competency, code)
    fields = version_fields(raw)
    stimulus = _stimulus_id(competency, fields.pop("stimulus"))
    item = Item(code=code, competency_id=competency.id, status="draft", current_version=1, author_id=actor.id)
    item.versions.append(ItemVersion(version=1, stimulus_id=stimulus, created_by_id=actor.id,
                                     change_note=note or "created", **fields))
    db.session.add(item)
    db.session.flush()
    db.session.add(ItemStatusChange(item_id=item.id, from_status=None, to_status="draft", actor_id=actor.id,
                                    reason=note or "created"))
    audit.record("bank.item_create", actor=actor, target=item, detail={"code": code})
    return item


def _stimulus_id(competency: Competency, code: Optional[str]) -> Optional[int]:
    if not code:
        return None
    return db.session.execute(select(Stimulus.id).where(
        Stimulus.code == code, Stimulus.competency_id == competency.id)).scalar_one()


def edit_item(item: Item, raw: dict, *, actor: User, note: Optional[str] = None) -> Optional[ItemVersion]:
    """Save an edit as a new version (None when nothing changed). Old versions never change, so
    attempts scored with them keep their scoring and parameters."""
    if item.status == "retired":
        raise WorkflowError(_l("A retired item cannot be edited; revive it as a draft first."))
    raw = {**raw, "id": item.code, "status": item.status}
    _validate(raw, item.competency, item.code)
    fields = version_fields(raw)
    before = current_fields(item.current)
    changed = [FIELD_NAMES[k] for k, v in fields.items() if before.get(k) != v]
    if not changed:
        return None
    stimulus = _stimulus_id(item.competency, fields.pop("stimulus"))
    item.current_version += 1
    version = ItemVersion(version=item.current_version, stimulus_id=stimulus, created_by_id=actor.id,
                          change_note=(note or "").strip() or "edit", **fields)
    item.versions.append(version)
    db.session.flush()
    audit.record("bank.item_edit", actor=actor, target=item,
                 detail={"code": item.code, "version": item.current_version, "fields": changed,
                         "status": item.status})
    return version


# ----------------------------------------------------------------------------- browsing
@dataclass
class BankFilters:
    battery: Optional[str] = None
    competency: Optional[str] = None
    level: Optional[int] = None
    status: Optional[str] = None
    type: Optional[str] = None
    q: Optional[str] = None

    @classmethod
    def from_args(cls, args) -> "BankFilters":
        level = args.get("level", "")
        return cls(battery=args.get("battery") or None, competency=args.get("competency") or None,
                   level=int(level) if level.isdigit() and 1 <= int(level) <= 5 else None,
                   status=args.get("status") if args.get("status") in ITEM_STATUSES else None,
                   type=args.get("type") if args.get("type") in TYPE_LABELS else None,
                   q=(args.get("q") or "").strip()[:200] or None)

    def as_args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def browse_query(filters: BankFilters):
    """Items (filtered on their current version), ordered by battery, competency and code.

    The versions and the competency are loaded with them: ``item.current``, ``item.competency``.
    """
    query = (
        select(Item)
        .options(selectinload(Item.versions), joinedload(Item.competency))
        .join(ItemVersion, (ItemVersion.item_id == Item.id) & (ItemVersion.version == Item.current_version))
        .join(Competency, Competency.id == Item.competency_id)
        .join(Battery, Battery.id == Competency.battery_id)
        .order_by(Battery.position, Competency.position, Item.code)
    )
    if filters.battery:
        query = query.where(Battery.code == filters.battery)
    if filters.competency:
        query = query.where(Competency.code == filters.competency)
    if filters.level:
        query = query.where(ItemVersion.level == filters.level)
    if filters.status:
        query = query.where(Item.status == filters.status)
    if filters.type:
        query = query.where(ItemVersion.item_type == filters.type)
    if filters.q:
        like = "%" + filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(ItemVersion.stem).like(like, escape="\\"),
                                func.lower(Item.code).like(like, escape="\\"),
                                func.lower(func.coalesce(ItemVersion.subdomain, "")).like(like, escape="\\")))
    return query


def response_counts(item_ids: list[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    return dict(db.session.execute(
        select(Response.item_id, func.count(Response.id)).where(Response.item_id.in_(item_ids))
        .group_by(Response.item_id)).all())


def usage(item: Item) -> dict:
    """Exposure (times delivered), responses per version and in total, finished attempts."""
    per_version = dict(db.session.execute(
        select(ItemVersion.version, func.count(Response.id))
        .join(Response, Response.item_version_id == ItemVersion.id)
        .where(ItemVersion.item_id == item.id).group_by(ItemVersion.version)).all())
    finished = db.session.scalar(
        select(func.count(func.distinct(Response.attempt_id)))
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Response.item_id == item.id, Attempt.status.in_(("submitted", "expired")))) or 0
    last = db.session.scalar(select(func.max(Response.answered_at)).where(Response.item_id == item.id))
    return {"exposure": item.exposure_count, "responses": sum(per_version.values()),
            "per_version": per_version, "finished_attempts": finished, "last_answered": last}


def item_people(item: Item) -> dict:
    """The item's author and its last approving reviewer (None when imported or not yet approved)."""
    ids = {i for i in (item.author_id, item.reviewer_id) if i}
    users = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()} if ids else {}
    return {"author": users.get(item.author_id), "reviewer": users.get(item.reviewer_id)}


# ----------------------------------------------------------------------------- history
_WORDS = re.compile(r"\s+|[^\s]+")


def text_diff(old: Optional[str], new: Optional[str]) -> Markup:
    """Word-level difference as HTML: removed words in ``<del>``, added ones in ``<ins>``."""
    a, b = _WORDS.findall(old or ""), _WORDS.findall(new or "")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(Markup('<del class="bg-danger-subtle">') + escape("".join(a[i1:i2])) + Markup("</del>"))
        if j2 > j1:
            out.append(Markup('<ins class="bg-success-subtle">') + escape("".join(b[j1:j2])) + Markup("</ins>"))
    return Markup("").join(out)


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def version_diff(old: Optional[ItemVersion], new: ItemVersion) -> list[dict]:
    """What changed from ``old`` to ``new``: one entry per field, texts as word diffs."""
    if old is None:
        return []
    a, b = current_fields(old), current_fields(new)
    out = []
    for key in a:
        if a[key] == b[key]:
            continue
        name = FIELD_NAMES[key]
        if key == "stem":
            out.append({"field": name, "diff": text_diff(a[key], b[key])})
        elif key == "options":
            for n in range(max(len(a[key]), len(b[key]))):
                o = a[key][n] if n < len(a[key]) else {"text": "", "score": None}
                p = b[key][n] if n < len(b[key]) else {"text": "", "score": None}
                if o != p:
                    diff = text_diff(o.get("text"), p.get("text"))
                    if o.get("score") != p.get("score"):
                        diff += Markup(" (") + escape(_show(o.get("score"))) + Markup(" → ") + \
                            escape(_show(p.get("score"))) + Markup(")")
                    out.append({"field": f"options[{n + 1}]", "diff": diff})
        else:
            out.append({"field": name, "diff": escape(_show(a[key])) + Markup(" → ") + escape(_show(b[key]))})
    return out


def history(item: Item) -> list[dict]:
    """Versions newest first, each with its writer and its differences from the one before."""
    users = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(
        {v.created_by_id for v in item.versions if v.created_by_id}))).scalars()}
    out = []
    previous = None
    for version in item.versions:
        out.append({"version": version, "by": users.get(version.created_by_id),
                    "changes": version_diff(previous, version)})
        previous = version
    return list(reversed(out))


def status_history(item: Item) -> list[tuple[ItemStatusChange, Optional[User]]]:
    changes = db.session.execute(select(ItemStatusChange).where(ItemStatusChange.item_id == item.id)
                                 .order_by(ItemStatusChange.at.desc(), ItemStatusChange.id.desc())).scalars().all()
    users = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(
        {c.actor_id for c in changes if c.actor_id}))).scalars()}
    return [(c, users.get(c.actor_id)) for c in changes]
