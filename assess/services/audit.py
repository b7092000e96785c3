"""Writing the append-only audit log."""
from __future__ import annotations

from typing import Any, Optional

from flask import has_request_context

from assess.extensions import client_ip, db
from assess.models import AuditLog, User


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
    if actor is None and has_request_context():
        from flask_login import current_user

        if current_user and getattr(current_user, "is_authenticated", False):
            actor = current_user._get_current_object()
    row = AuditLog(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label or (f"{actor.role}:{actor.login_name}" if actor is not None else None),
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=client_ip() if has_request_context() else "cli",
        detail=detail,
    )
    db.session.add(row)
    db.session.flush()
    return row
