"""Builders for the talent-map tests: a small bank of the five batteries, agencies, participants,
finished attempts with given scores, SKP ratings. Plain functions; call inside an app context."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

from assess.extensions import db
from assess.models import (
    Agency, Attempt, Battery, Competency, Enrollment, PerformanceRating, Score, TestSpec, Unit, User, Wave, utcnow,
)
from assess.services.identity import make_nip

BANK = {  # battery code -> competency codes
    "managerial": ["M.01", "M.02"],
    "sociocultural": ["SK.01"],
    "digital": ["DL.01", "DL.02"],
    "emerging": ["ES.01"],
    "berakhlak": ["BA.01"],
}
_serial = itertools.count(1)


def make_bank() -> dict[str, int]:
    """The five batteries with a few competencies each; returns {competency code: id}."""
    ids = {}
    for position, (code, comps) in enumerate(BANK.items()):
        battery = Battery(code=code, name_id=code.title(), name_en=code.title(), position=position)
        db.session.add(battery)
        for i, comp in enumerate(comps):
            competency = Competency(code=comp, name_id=f"Kompetensi {comp}", name_en=f"Competency {comp}",
                                    item_type="mc", irt_model="2pl", battery=battery, position=i)
            db.session.add(competency)
            db.session.flush()
            ids[comp] = competency.id
    return ids


def make_agency(code: str, cluster: int, priority: int | None = None, units=("SET",)) -> Agency:
    agency = Agency(code=code, name=f"Instansi {code}", kind="kementerian", cluster=cluster, priority=priority)
    for unit in units:
        agency.units.append(Unit(code=unit, name=f"Unit {unit} {code}"))
    db.session.add(agency)
    db.session.flush()
    return agency


def make_wave(code: str = "W1") -> Wave:
    spec = TestSpec(code=f"SPEC-{code}", name="Tes", time_limit_minutes=60)
    now = utcnow()
    wave = Wave(code=code, name=f"Gelombang {code}", spec=spec, opens_at=now - timedelta(days=10),
                closes_at=now + timedelta(days=10))
    db.session.add(wave)
    db.session.flush()
    return wave


def make_participant(agency: Agency, unit: Unit | None = None, job_level: str = "administrator",
                     name: str | None = None) -> User:
    n = next(_serial)
    birth = date(1970 + n % 25, 1 + n % 12, 1 + n % 27)
    nip = make_nip(birth, birth.year + 22, 1 + n % 12, 1 + n % 2, n % 999 + 1)
    user = User(role="participant", nip=nip, name=name or f"Peserta {n:03d}", agency_id=agency.id,
                unit_id=(unit or agency.units[0]).id, job_level=job_level, session_token=f"t{n}",
                password_hash="x")
    db.session.add(user)
    db.session.flush()
    return user


def add_attempt(user: User, wave: Wave, scores: dict[str, tuple[float, int]], comp_ids: dict[str, int], *,
                status: str = "submitted", hours_ago: float = 1.0, number: int | None = None) -> Attempt:
    """A finished attempt with Score rows {competency code: (theta, level)}."""
    if db.session.query(Enrollment).filter_by(wave_id=wave.id, user_id=user.id).first() is None:
        db.session.add(Enrollment(wave_id=wave.id, user_id=user.id, source="manual"))
    when = utcnow() - timedelta(hours=hours_ago)
    number = number or 1 + db.session.query(Attempt).filter_by(wave_id=wave.id, user_id=user.id).count()
    attempt = Attempt(wave_id=wave.id, user_id=user.id, number=number, status=status, started_at=when,
                      deadline_at=when + timedelta(hours=1), submitted_at=when, scored_at=when, form={"sections": []})
    db.session.add(attempt)
    db.session.flush()
    for code, (theta, level) in scores.items():
        db.session.add(Score(attempt_id=attempt.id, competency_id=comp_ids[code], theta=theta, se=0.3,
                             level=level, n_items=10))
    db.session.flush()
    return attempt


def add_skp(user: User, predikat: str = "baik", year: int = 2025, score: float | None = None) -> None:
    db.session.add(PerformanceRating(user_id=user.id, year=year, predikat=predikat, score=score))
    db.session.flush()


def good_scores(level: int = 3, theta: float = 0.0) -> dict[str, tuple[float, int]]:
    return {code: (theta, level) for comps in BANK.values() for code in comps}
