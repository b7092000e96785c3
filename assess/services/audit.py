"""Writing the append-only audit log."""
from __future__ import annotations

from typing import Any, Optional

from flask import has_request_context
from sqlalchemy import insert

from assess.extensions import client_ip, db
from assess.models import AuditLog, User, utcnow


def record(
    action: str,
    *,
    actor: Optional[User] = None,
    target: Any = None,
    target_type: Optional[str] = None,
    target_id: Any = None,
    detail: Optional[dict] = None,
    actor_label: Optional[str] = None,
) -> AuditLog:
    """Add one audit row (UTC time, actor, action, target, IP) and flush it.

    ``target`` may be a model instance (its table name and id are recorded) or left out in favour
    of explicit ``target_type``/``target_id``.
    """
    if target is not None:
        target_type = target_type or getattr(target, "__tablename__", type(target).__name__)
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    row = AuditLog(action=action, target_type=target_type,
                   target_id=str(target_id) if target_id is not None else None, detail=detail,
                   **_who(actor, actor_label))
    db.session.add(row)
    db.session.flush()
    return row


def record_many(action: str, target_type: str, details: dict[Any, dict], *,
                actor: Optional[User] = None) -> None:
    """One audit row per target (id → detail), as :func:`record` writes them, in one bulk insert."""
    if not details:
        return
    who = _who(actor, None)
    now = utcnow()
    db.session.execute(insert(AuditLog.__table__),
                       [{"at": now, "action": action, "target_type": target_type, "target_id": str(target_id),
                         "detail": detail, **who} for target_id, detail in details.items()])


def _who(actor: Optional[User], actor_label: Optional[str]) -> dict:
    """The actor columns and the IP (the signed-in user when no actor is given)."""
    if actor is None and has_request_context():
        from flask_login import current_user

        if current_user and getattr(current_user, "is_authenticated", False):
            actor = current_user._get_current_object()
    return {"actor_id": actor.id if actor is not None else None,
            "actor_label": actor_label or (f"{actor.role}:{actor.login_name}" if actor is not None else None),
            "ip": client_ip() if has_request_context() else "cli"}
