"""Scores, assessor reviews and talent placements."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assess.extensions import db
from assess.models.base import JSONType, UTCDateTime, utcnow
from assess.models.people import _in

SCORE_METHODS = ("eap", "map", "mle")
REVIEW_DECISIONS = ("approve", "flag", "override", "retest")
REVIEW_STATES = ("pending", "confirmed", "rejected", "final")
BANDS = ("optimal", "cukup_optimal", "kurang_optimal")
POTENTIAL = ("rendah", "menengah", "tinggi")
PERFORMANCE = ("bawah", "sesuai", "atas")


class Score(db.Model):
    """The score of one attempt on one competency, with the item versions it was computed from."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("attempt_id", "competency_id"),
        CheckConstraint(f"method IN {_in(SCORE_METHODS)}", name="method_valid"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("se > 0", name="se_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    competency_id: Mapped[int] = mapped_column(
        ForeignKey("competencies.id", ondelete="RESTRICT"), index=True
    )
    theta: Mapped[float]
    se: Mapped[float]
    method: Mapped[str] = mapped_column(String(8), default="eap")
    level: Mapped[int]
    n_items: Mapped[int]
    person_fit: Mapped[Optional[float]]  # lz*
    item_versions: Mapped[list] = mapped_column(JSONType, default=list)  # item_version ids used
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Review(db.Model):
    """An assessor's decision on an attempt; overrides and re-tests need a second assessor."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(f"decision IN {_in(REVIEW_DECISIONS)}", name="decision_valid"),
        CheckConstraint(f"state IN {_in(REVIEW_STATES)}", name="state_valid"),
        CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id <> assessor_id", name="four_eyes"
        ),
        CheckConstraint(
            "new_level IS NULL OR new_level BETWEEN 1 AND 5", name="new_level_range"
        ),
        Index("ix_reviews_attempt", "attempt_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    assessor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="final")
    competency_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("competencies.id", ondelete="RESTRICT")
    )
    old_level: Mapped[Optional[int]]
    new_level: Mapped[Optional[int]]
    reason_code: Mapped[Optional[str]] = mapped_column(String(32))
    reason_text: Mapped[Optional[str]] = mapped_column(Text)
    confirmed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class TalentSettings(db.Model):
    """A versioned set of talent-mapping settings; placements record the version they used."""

    __tablename__ = "talent_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    settings: Mapped[dict] = mapped_column(JSONType)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[Optional[str]] = mapped_column(Text)  # why this version was made


class TalentPlacement(db.Model):
    """A participant's place on the talent map: JPM, band, potential, performance, 9-box."""

    __tablename__ = "talent_placements"
    __table_args__ = (
        UniqueConstraint("user_id", "settings_id", "wave_id"),
        CheckConstraint("box IS NULL OR box BETWEEN 1 AND 9", name="box_range"),
        CheckConstraint("cluster IS NULL OR cluster BETWEEN 1 AND 5", name="cluster_range"),
        CheckConstraint(f"band IS NULL OR band IN {_in(BANDS)}", name="band_valid"),
        CheckConstraint(f"potential IS NULL OR potential IN {_in(POTENTIAL)}", name="potential_valid"),
        CheckConstraint(
            f"performance IS NULL OR performance IN {_in(PERFORMANCE)}", name="performance_valid"
        ),
        Index("ix_talent_placements_cluster_box", "cluster", "box"),
        Index("ix_talent_placements_settings_current", "settings_id", "is_current", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    wave_id: Mapped[Optional[int]] = mapped_column(ForeignKey("waves.id", ondelete="SET NULL"))
    attempt_id: Mapped[Optional[int]] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"))
    settings_id: Mapped[int] = mapped_column(ForeignKey("talent_settings.id", ondelete="RESTRICT"))
    jpm: Mapped[Optional[float]]
    band: Mapped[Optional[str]] = mapped_column(String(16))
    potential_index: Mapped[Optional[float]]
    potential: Mapped[Optional[str]] = mapped_column(String(10))
    performance: Mapped[Optional[str]] = mapped_column(String(10))
    box: Mapped[Optional[int]]
    ready: Mapped[Optional[bool]]
    cluster: Mapped[Optional[int]]
    note: Mapped[Optional[str]] = mapped_column(Text)  # e.g. "data incomplete: no SKP"
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The participant's latest attempt under these settings (one current row per user and version).
    is_current: Mapped[bool] = mapped_column(default=True)
    # The levels the placement was computed from ({competency code: level}) and the working.
    levels: Mapped[Optional[dict]] = mapped_column(JSONType)
    detail: Mapped[Optional[dict]] = mapped_column(JSONType)

    settings: Mapped[TalentSettings] = relationship()


class RelocationScheme(db.Model):
    """A relocation scheme (e.g. 118,000 or 180,000 movers): housing capacity per cluster and stage."""

    __tablename__ = "relocation_schemes"
    __table_args__ = (CheckConstraint("movers IS NULL OR movers >= 0", name="movers_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    movers: Mapped[Optional[int]]  # the scheme's planned number of movers, for reference
    description: Mapped[Optional[str]] = mapped_column(Text)
    stage_labels: Mapped[list] = mapped_column(JSONType, default=list)  # e.g. ["2025", "2026"]
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    capacities: Mapped[list["RelocationCapacity"]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(RelocationCapacity.cluster, RelocationCapacity.stage)",
    )


class RelocationCapacity(db.Model):
    """Housing available at IKN for one cluster in one stage of a scheme."""

    __tablename__ = "relocation_capacities"
    __table_args__ = (
        UniqueConstraint("scheme_id", "cluster", "stage"),
        CheckConstraint("cluster BETWEEN 1 AND 5", name="cluster_range"),
        CheckConstraint("stage >= 1", name="stage_positive"),
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("relocation_schemes.id", ondelete="CASCADE"))
    cluster: Mapped[int]
    stage: Mapped[int]
    capacity: Mapped[int]

    scheme: Mapped[RelocationScheme] = relationship(back_populates="capacities")


CASE_STATES = (
    "awaiting",              # scored, no decision yet
    "second_opinion",        # an assessor asked for a second assessor's view
    "pending_confirmation",  # an override or re-test waits for a second assessor
    "approved",
    "overridden",
    "retest",
)


class ReviewCase(db.Model):
    """The review state of one scored attempt: its flags with evidence, its assessor, its state.

    One row per attempt, refreshed when the attempt is (re)scored. Decisions themselves are Review
    rows (append-only history); this row is what the queue filters and sorts on.
    """

    __tablename__ = "review_cases"
    __table_args__ = (
        CheckConstraint(f"state IN {_in(CASE_STATES)}", name="state_valid"),
        Index("ix_review_cases_queue", "state", "flag_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(24), default="awaiting")
    flags: Mapped[list] = mapped_column(JSONType, default=list)  # [{code, value, threshold, evidence}]
    flag_count: Mapped[int] = mapped_column(default=0)
    assessor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    assigned_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    attempt: Mapped["Attempt"] = relationship()  # noqa: F821
