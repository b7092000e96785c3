"""Signing in and out: credential checks, session tokens and the audit trail."""
from __future__ import annotations

import secrets
import threading
from typing import Optional

from sqlalchemy import select

from assess.extensions import db
from assess.models import User, utcnow
from assess.services import audit

# A hash to check against when the account does not exist, so that a wrong NIP and a wrong
# password take the same time (no account enumeration by timing).
_DUMMY_HASH: Optional[str] = None


def _dummy_check(password: str) -> None:
    global _DUMMY_HASH
    from werkzeug.security import check_password_hash, generate_password_hash

    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash(secrets.token_hex(8), method="scrypt")
    check_password_hash(_DUMMY_HASH, password)


_SLOTS: dict[int, threading.BoundedSemaphore] = {}


def password_check_slot() -> threading.BoundedSemaphore:
    """A per-process limit on concurrent password checks (scrypt costs ~90 ms of CPU each)."""
    from flask import current_app

    n = int(current_app.config["LOGIN_CONCURRENCY"])
    if n not in _SLOTS:
        _SLOTS[n] = threading.BoundedSemaphore(max(n, 1)) if n > 0 else _Closed()
    return _SLOTS[n]


class _Closed:
    """LOGIN_CONCURRENCY = 0: no sign-in is admitted (maintenance)."""

    def acquire(self, timeout=None) -> bool:
        return False

    def release(self) -> None:  # pragma: no cover - never acquired
        pass


def new_session_token() -> str:
    return secrets.token_hex(16)


def authenticate(*, role_group: str, login: str, password: str) -> Optional[User]:
    """Return the user whose credentials match, or None; audit both outcomes.

    ``role_group`` is ``participant`` (login is a NIP) or ``staff`` (login is a username).
    """
    if role_group == "participant":
        user = db.session.execute(
            select(User).where(User.nip == login, User.role == "participant")
        ).scalar_one_or_none()
    else:
        user = db.session.execute(
            select(User).where(User.username == login, User.role != "participant")
        ).scalar_one_or_none()
    if user is None:
        _dummy_check(password)
        audit.record("auth.login_failed", target_type="login", target_id=login[:64],
                     detail={"reason": "unknown_account", "group": role_group},
                     actor_label=f"anonymous:{login[:64]}")
        return None
    if not user.check_password(password) or not user.is_active:
        audit.record("auth.login_failed", target=user, actor_label=f"anonymous:{login[:64]}",
                     detail={"reason": "bad_password" if user.is_active else "inactive",
                             "group": role_group})
        return None
    user.last_login_at = utcnow()
    audit.record("auth.login", actor=user, target=user)
    return user


def end_all_sessions(user: User) -> None:
    """Rotate the user's session token: every cookie that carries the old one stops working."""
    user.session_token = new_session_token()
    db.session.flush()
