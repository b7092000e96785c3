"""The item bank: batteries, competencies (one IRT scale each), items and their versions."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assess.extensions import db
from assess.models.base import JSONType, UTCDateTime, utcnow
from assess.models.people import _in

ITEM_TYPES = ("mc", "sjt", "likert")
IRT_MODELS = ("rasch", "2pl", "3pl", "grm", "gpcm")
ITEM_STATUSES = ("draft", "review", "pilot", "operational", "retired")
DEFAULT_CUT_SCORES = [-1.5, -0.5, 0.5, 1.5]


class Battery(db.Model):
    """A battery of the assessment (managerial, sociocultural, digital, emerging, BerAKHLAK)."""

    __tablename__ = "batteries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    source: Mapped[Optional[str]] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    competencies: Mapped[list["Competency"]] = relationship(
        back_populates="battery", order_by="Competency.position", passive_deletes=True
    )


class Competency(db.Model):
    """A competency: one IRT scale, with the cut scores that turn θ into a level 1..5."""

    __tablename__ = "competencies"
    __table_args__ = (
        CheckConstraint(f"item_type IN {_in(ITEM_TYPES)}", name="item_type_valid"),
        CheckConstraint(f"irt_model IN {_in(IRT_MODELS)}", name="irt_model_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    battery_id: Mapped[int] = mapped_column(ForeignKey("batteries.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[Optional[str]] = mapped_column(Text)
    item_type: Mapped[str] = mapped_column(String(16))
    irt_model: Mapped[str] = mapped_column(String(8))
    cut_scores: Mapped[list] = mapped_column(JSONType, default=lambda: list(DEFAULT_CUT_SCORES))
    position: Mapped[int] = mapped_column(default=0)

    battery: Mapped[Battery] = relationship(back_populates="competencies")


class Stimulus(db.Model):
    """A shared passage or table that several items refer to."""

    __tablename__ = "stimuli"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    competency_id: Mapped[int] = mapped_column(ForeignKey("competencies.id", ondelete="RESTRICT"), index=True)
    title: Mapped[Optional[str]] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class Item(db.Model):
    """An item's identity and workflow state; its content and parameters live in versions."""

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(ITEM_STATUSES)}", name="status_valid"),
        Index("ix_items_competency_status", "competency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    competency_id: Mapped[int] = mapped_column(ForeignKey("competencies.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    current_version: Mapped[int] = mapped_column(default=1)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    exposure_count: Mapped[int] = mapped_column(default=0)
    # Sympson-Hetter exposure-control parameter, set by simulation (1.0 = no restriction).
    exposure_k: Mapped[float] = mapped_column(default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    competency: Mapped[Competency] = relationship()
    versions: Mapped[list["ItemVersion"]] = relationship(
        back_populates="item", order_by="ItemVersion.version", cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def current(self) -> "ItemVersion":
        for version in self.versions:
            if version.version == self.current_version:
                return version
        raise LookupError(f"item {self.code} has no version {self.current_version}")


class ItemVersion(db.Model):
    """One immutable revision of an item: content, scoring and IRT parameters.

    ``options`` is a list of ``{"text": str, "score": int}`` (mc: score 1 for the key, 0
    otherwise; sjt: 1..5; likert: empty, the five standard options are implied). Responses point at
    the version the participant saw, so later edits never change how an old attempt is scored.
    """

    __tablename__ = "item_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "version"),
        CheckConstraint(f"item_type IN {_in(ITEM_TYPES)}", name="item_type_valid"),
        CheckConstraint(f"irt_model IN {_in(IRT_MODELS)}", name="irt_model_valid"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("a IS NULL OR a > 0", name="slope_positive"),
        CheckConstraint("c IS NULL OR (c >= 0 AND c < 1)", name="guessing_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    item_type: Mapped[str] = mapped_column(String(16))
    level: Mapped[int]
    subdomain: Mapped[Optional[str]] = mapped_column(String(200))
    stimulus_id: Mapped[Optional[int]] = mapped_column(ForeignKey("stimuli.id", ondelete="SET NULL"))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSONType, default=list)
    reverse_keyed: Mapped[bool] = mapped_column(default=False)
    irt_model: Mapped[str] = mapped_column(String(8))
    a: Mapped[Optional[float]]
    b: Mapped[Optional[float]]
    c: Mapped[Optional[float]]
    thresholds: Mapped[Optional[list]] = mapped_column(JSONType)
    calibrated: Mapped[bool] = mapped_column(default=False)  # provisional author values if False
    change_note: Mapped[Optional[str]] = mapped_column(Text)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship(back_populates="versions")
    stimulus: Mapped[Optional[Stimulus]] = relationship()


class ItemStatusChange(db.Model):
    """The workflow history of an item: who moved it, from what to what, when and why."""

    __tablename__ = "item_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[Optional[str]] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


CALIBRATION_STATUSES = ("running", "done", "failed")


class CalibrationRun(db.Model):
    """One calibration of a competency's pilot items against its operational anchors.

    ``progress`` holds the stage and the last EM iteration while it runs (the admin's page polls
    it); ``result`` the proposed parameters, their standard errors and fit statistics per item.
    Accepting writes new item versions; the run records who accepted which items and when.
    """

    __tablename__ = "calibration_runs"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(CALIBRATION_STATUSES)}", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competency_id: Mapped[int] = mapped_column(ForeignKey("competencies.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    progress: Mapped[dict] = mapped_column(JSONType, default=dict)
    result: Mapped[Optional[dict]] = mapped_column(JSONType)
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    accepted_items: Mapped[Optional[list]] = mapped_column(JSONType)

    competency: Mapped[Competency] = relationship()
