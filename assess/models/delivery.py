"""Test specifications, waves, enrolment, attempts, responses and attempt events."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assess.extensions import db
from assess.models.base import JSONType, UTCDateTime, utcnow
from assess.models.people import _in

SELECTION_METHODS = ("fixed", "random", "cat")
ATTEMPT_STATUSES = ("in_progress", "submitted", "expired", "void")
TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")  # WIB, WITA, WIT


class TestSpec(db.Model):
    """A named battery composition: sections per competency, timing and presentation."""

    __tablename__ = "test_specs"
    __test__ = False  # not a pytest class

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[Optional[str]] = mapped_column(Text)
    time_limit_minutes: Mapped[Optional[int]]  # whole test; sections may set their own
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    is_active: Mapped[bool] = mapped_column(default=False)
    validation: Mapped[Optional[dict]] = mapped_column(JSONType)  # last check against the bank
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sections: Mapped[list["TestSection"]] = relationship(
        back_populates="spec", order_by="TestSection.position", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TestSection(db.Model):
    """One competency in a test spec: a fixed form, a random (LOFT) form or a CAT."""

    __tablename__ = "test_sections"
    __test__ = False
    __table_args__ = (
        UniqueConstraint("spec_id", "position"),
        CheckConstraint(f"method IN {_in(SELECTION_METHODS)}", name="method_valid"),
        CheckConstraint(
            "min_items IS NULL OR max_items IS NULL OR min_items <= max_items", name="item_bounds"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spec_id: Mapped[int] = mapped_column(ForeignKey("test_specs.id", ondelete="CASCADE"), index=True)
    competency_id: Mapped[int] = mapped_column(ForeignKey("competencies.id", ondelete="RESTRICT"))
    position: Mapped[int]
    method: Mapped[str] = mapped_column(String(8))
    n_items: Mapped[Optional[int]]  # fixed and random forms
    min_items: Mapped[Optional[int]]  # CAT
    max_items: Mapped[Optional[int]]  # CAT
    se_target: Mapped[Optional[float]]  # CAT
    time_limit_minutes: Mapped[Optional[int]]
    # Fixed form item codes, LOFT blueprint (per level/subdomain), CAT exposure/content settings.
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)

    spec: Mapped[TestSpec] = relationship(back_populates="sections")
    competency: Mapped["Competency"] = relationship()  # noqa: F821


class Wave(db.Model):
    """A scheduled assessment window for a cluster, agencies or units, with one test spec."""

    __tablename__ = "waves"
    __table_args__ = (
        CheckConstraint("cluster IS NULL OR cluster BETWEEN 1 AND 5", name="cluster_range"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
        CheckConstraint(f"timezone IN {_in(TIMEZONES)}", name="timezone_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    spec_id: Mapped[int] = mapped_column(ForeignKey("test_specs.id", ondelete="RESTRICT"))
    cluster: Mapped[Optional[int]]
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(32), default="Asia/Jakarta")
    show_scores: Mapped[bool] = mapped_column(default=False)
    # Agencies and units the wave is for (lists of ids); empty means the whole cluster.
    targets: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    spec: Mapped[TestSpec] = relationship()


class Enrollment(db.Model):
    """A participant enrolled in a wave, with accommodations."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("wave_id", "user_id"),
        CheckConstraint("extra_minutes >= 0", name="extra_minutes_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    extra_minutes: Mapped[int] = mapped_column(default=0)
    source: Mapped[Optional[str]] = mapped_column(String(32))  # rule | upload | manual
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    wave: Mapped[Wave] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821


class Attempt(db.Model):
    """One participant's sitting of one wave. The deadline is set and enforced by the server.

    A re-test voids the attempt and starts another: ``number`` counts them per (wave, user).
    """

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("wave_id", "user_id", "number"),
        CheckConstraint(f"status IN {_in(ATTEMPT_STATUSES)}", name="status_valid"),
        Index("ix_attempts_wave_status", "wave_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    scored_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    paused_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # The drawn form (item ids per section), CAT state and the current position.
    form: Mapped[dict] = mapped_column(JSONType, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    # The live session holding the attempt (a second one takes over and is logged).
    session_nonce: Mapped[Optional[str]] = mapped_column(String(64))
    # Optimistic-locking counter for state changes (submit, expire, CAT step).
    row_version: Mapped[int] = mapped_column(default=1)

    wave: Mapped[Wave] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821
    responses: Mapped[list["Response"]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": row_version}


class Response(db.Model):
    """The saved answer of one attempt to one item: one row per (attempt, item)."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("attempt_id", "item_id"),
        CheckConstraint("seq >= 0", name="seq_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id", ondelete="RESTRICT"))
    choice: Mapped[Optional[int]]  # option index in canonical order (NULL: cleared)
    category: Mapped[Optional[int]]  # IRT category 0..K-1 derived from the choice
    points: Mapped[Optional[int]]  # option score (sjt 1..5, mc 0/1, likert 1..5 after keying)
    seq: Mapped[int] = mapped_column(default=0)  # client sequence number: older never overwrites
    flagged: Mapped[bool] = mapped_column(default=False)
    elapsed_ms: Mapped[Optional[int]]  # time on the item as reported by the page
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="responses")


class AttemptEvent(db.Model):
    """Integrity and audit events of an attempt (focus lost, resume, IP change, paste ...)."""

    __tablename__ = "attempt_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[Optional[str]] = mapped_column(String(64))
    user_agent: Mapped[Optional[str]] = mapped_column(String(300))
    detail: Mapped[Optional[dict]] = mapped_column(JSONType)
