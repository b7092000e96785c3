"""Bearer tokens for other systems: created by an admin, shown once, stored as a SHA-256 hash.

Tokens carry 256 bits of randomness, so a plain SHA-256 (not a slow password hash) is the right
tool: it cannot be brute-forced, and a lookup by hash is one indexed query.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Optional

from sqlalchemy import select

from assess.extensions import db
from assess.models import ApiToken, User, utcnow

PREFIX = "asx_"
TOUCH_EVERY = timedelta(minutes=5)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(name: str, *, days: Optional[int], actor: Optional[User] = None) -> tuple[ApiToken, str]:
    """Make a token; returns the row and the token text (shown to the admin once, never stored)."""
    from assess.services import audit

    raw = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=" ".join((name or "").split())[:120] or "API", token_hash=hash_token(raw), prefix=raw[:10],
                   created_by_id=actor.id if actor is not None else None,
                   expires_at=utcnow() + timedelta(days=days) if days else None)
    db.session.add(row)
    db.session.flush()
    audit.record("api.token_create", actor=actor, target=row, detail={"name": row.name, "days": days})
    return row, raw


def verify(raw: Optional[str]) -> Optional[ApiToken]:
    """The live token matching ``raw`` (not revoked, not expired), or None."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
    return row


def revoke(row: ApiToken, *, actor: Optional[User] = None) -> None:
    from assess.services import audit

    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("api.token_revoke", actor=actor, target=row, detail={"name": row.name})
    db.session.flush()


def tokens() -> list[ApiToken]:
    return list(db.session.execute(select(ApiToken).order_by(ApiToken.created_at.desc())).scalars())
