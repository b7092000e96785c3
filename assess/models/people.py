"""Agencies, units, users and performance ratings (the people aggregate)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from assess.extensions import db
from assess.models.base import JSONType, UTCDateTime, utcnow

ROLES = ("participant", "assessor", "admin")
STAFF_ROLES = ("assessor", "admin")

# Job levels (jenjang jabatan) with the expected managerial level (DOMAIN.md, configurable later).
JOB_LEVELS: dict[str, int] = {
    "jpt_utama": 5,
    "jpt_madya": 5,
    "jpt_pratama": 4,
    "administrator": 3,
    "pengawas": 2,
    "pelaksana": 1,
    "ahli_utama": 4,
    "ahli_madya": 3,
    "ahli_muda": 2,
    "ahli_pertama": 1,
    "terampil": 1,
}

AGENCY_KINDS = ("lembaga_negara", "kementerian", "lpnk", "lns", "lainnya")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Agency(db.Model):
    """A ministry or agency (K/L) and its relocation cluster."""

    __tablename__ = "agencies"
    __table_args__ = (
        CheckConstraint("cluster BETWEEN 1 AND 5", name="cluster_range"),
        CheckConstraint(f"kind IN {_in(AGENCY_KINDS)}", name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[Optional[str]] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="kementerian")
    cluster: Mapped[int]
    # Strategic-role attributes (DOMAIN.md): free-form tags and a priority rank within the cluster.
    strategic_role: Mapped[Optional[dict]] = mapped_column(JSONType)
    priority: Mapped[Optional[int]]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    units: Mapped[list["Unit"]] = relationship(
        back_populates="agency", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Unit.code",
    )

    def __repr__(self) -> str:
        return f"<Agency {self.code} cluster={self.cluster}>"


class Unit(db.Model):
    """An organisational unit (unit organisasi, e.g. Eselon I/II) of an agency."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("agency_id", "code"),
        CheckConstraint("cluster IS NULL OR cluster BETWEEN 1 AND 5", name="cluster_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    echelon: Mapped[Optional[str]] = mapped_column(String(20))
    # NULL: inherits the agency's cluster (a unit can sit in a different cluster from its agency).
    cluster: Mapped[Optional[int]]
    # Rank within its cluster for relocation (1 first); NULL: the agency's priority.
    priority: Mapped[Optional[int]]
    # Strategic-role attributes, as on Agency: {"roles": [...], "proximity": ..., "urgency": ...}.
    strategic_role: Mapped[Optional[dict]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="units")
    parent: Mapped[Optional["Unit"]] = relationship(remote_side="Unit.id")

    @property
    def effective_cluster(self) -> int:
        return self.cluster if self.cluster is not None else self.agency.cluster

    def __repr__(self) -> str:
        return f"<Unit {self.code} of agency {self.agency_id}>"


class User(UserMixin, db.Model):
    """A person who signs in: a participant (ASN, by NIP) or staff (assessor, admin, by username)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {_in(ROLES)}", name="role_valid"),
        CheckConstraint(
            "(role = 'participant' AND nip IS NOT NULL) OR (role <> 'participant' AND username IS NOT NULL)",
            name="credential_for_role",
        ),
        CheckConstraint("nip IS NULL OR length(nip) = 18", name="nip_length"),
        CheckConstraint(
            f"job_level IS NULL OR job_level IN {_in(JOB_LEVELS)}", name="job_level_valid"
        ),
        CheckConstraint("sex IS NULL OR sex IN (1, 2)", name="sex_valid"),
        Index("ix_users_agency_unit", "agency_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    nip: Mapped[Optional[str]] = mapped_column(String(18), unique=True)
    username: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    agency_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    position: Mapped[Optional[str]] = mapped_column(String(200))  # jabatan
    job_level: Mapped[Optional[str]] = mapped_column(String(32))  # jenjang, JOB_LEVELS
    birth_date: Mapped[Optional[date]]
    sex: Mapped[Optional[int]]
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Rotated at sign-out: every session cookie carrying the old token stops working.
    session_token: Mapped[str] = mapped_column(String(64))
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    agency: Mapped[Optional[Agency]] = relationship()
    unit: Mapped[Optional[Unit]] = relationship()

    # Flask-Login ---------------------------------------------------------------------------
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.is_active_account)

    # Passwords -----------------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def login_name(self) -> str:
        return self.nip if self.role == "participant" else self.username  # type: ignore[return-value]

    @property
    def cluster(self) -> Optional[int]:
        if self.unit is not None:
            return self.unit.effective_cluster
        return self.agency.cluster if self.agency is not None else None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role} {self.login_name}>"


PREDIKAT = ("sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang")


class PerformanceRating(db.Model):
    """An SKP appraisal (predikat kinerja) per ASN and year, imported by admins."""

    __tablename__ = "performance_ratings"
    __table_args__ = (
        UniqueConstraint("user_id", "year"),
        CheckConstraint(f"predikat IN {_in(PREDIKAT)}", name="predikat_valid"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    predikat: Mapped[str] = mapped_column(String(20))
    score: Mapped[Optional[float]]
    source: Mapped[Optional[str]] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Cluster(db.Model):
    """The name and description of one of the five relocation clusters (numbers are fixed, 1-5).

    A cluster without a row uses the published defaults (assess.services.orgs.CLUSTER_DEFAULTS).
    """

    __tablename__ = "clusters"
    __table_args__ = (CheckConstraint("number BETWEEN 1 AND 5", name="number_range"),)

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ClusterChange(db.Model):
    """The history of an agency's or a unit's relocation cluster: one row per change.

    ``unit_id`` NULL: the agency's own cluster changed. For a unit, NULL clusters mean "inherits
    the agency's".
    """

    __tablename__ = "cluster_changes"
    __table_args__ = (
        CheckConstraint("old_cluster IS NULL OR old_cluster BETWEEN 1 AND 5", name="old_cluster_range"),
        CheckConstraint("new_cluster IS NULL OR new_cluster BETWEEN 1 AND 5", name="new_cluster_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    unit_label: Mapped[Optional[str]] = mapped_column(String(240))  # survives the unit's deletion
    old_cluster: Mapped[Optional[int]]
    new_cluster: Mapped[Optional[int]]
    reason: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="form")  # form | import
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Optional[User]] = relationship()


class ApiToken(db.Model):
    """A bearer token for other systems (SI-ASN ...) to read the talent API.

    Only the SHA-256 of the token is stored; the token itself is shown once, at creation.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    created_by: Mapped[Optional[User]] = relationship()
