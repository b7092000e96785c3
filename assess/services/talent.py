"""Talent mapping: JPM and bands, potential, performance from SKP, the 9-box and IKN readiness.

The rules (DOMAIN.md; every "assumption" there is a setting here, versioned in TalentSettings):

- **JPM** (job-person match) = Σ min(level, expected) / Σ expected × 100 over the participant's
  scored managerial and sociocultural competencies, the expected level coming from their job
  level. Bands: Optimal ≥ 90, Cukup Optimal 78 to < 90, Kurang Optimal < 78 (the selection set,
  80 / 68, is the alternative).
- **Potential**: a weighted mean of competency θs (default: emerging skills, digital literacy and
  managerial, equal weights; a battery's θ is the mean of its scored competencies), cut into
  rendah / menengah / tinggi at θ = −0.5 and 0.5.
- **Performance**: the SKP rating (its score, or the predikat's default score) on 0-100, cut into
  di bawah / sesuai / di atas ekspektasi at 60 and 80.
- **9-box** as KemenPANRB numbers it (BOX_GRID). No SKP: no box ("data incomplete"), never a
  guessed one.
- **IKN readiness**: digital literacy and BerAKHLAK (mean level of their scored competencies) at
  or above set levels, and a band that is not Kurang Optimal. Missing data gives "unknown" (None).

Placements use each participant's latest submitted or expired attempt (``latest_attempts``), an
attempt that measured every JPM competency before a later one that did not; every placement records
the settings version it was computed with.
"""
from __future__ import annotations

import copy
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, insert, select, update

from assess.extensions import db
from assess.models import (
    JOB_LEVELS, Agency, Attempt, Battery, Competency, Item, PerformanceRating, Review, ReviewCase, Score,
    TalentPlacement, TalentSettings, Unit, User, utcnow,
)
from assess.models.people import PREDIKAT
from assess.models.results import BANDS, PERFORMANCE, POTENTIAL

# ------------------------------------------------------------------------------ the 9-box grid
# Rows: performance (kinerja) from top to bottom; columns: potential (potensi) from left to right.
GRID_ROWS = ("atas", "sesuai", "bawah")
GRID_COLUMNS = ("rendah", "menengah", "tinggi")
GRID = ((4, 7, 9),
        (2, 5, 8),
        (1, 3, 6))
BOX_GRID: dict[tuple[str, str], int] = {
    (performance, potential): GRID[r][c]
    for r, performance in enumerate(GRID_ROWS) for c, potential in enumerate(GRID_COLUMNS)
}
BOX_AXES: dict[int, tuple[str, str]] = {box: key for key, box in BOX_GRID.items()}
TALENT_POOL = (7, 8, 9)

BOX_RECOMMENDATIONS: dict[int, Any] = {
    9: _l("Promote and retain; national or agency succession pool."),
    8: _l("Retain; succession pool; rotation or job enlargement; coaching."),
    7: _l("Retain; succession pool; job enrichment; development."),
    6: _l("Suitable placement; coaching; counselling."),
    5: _l("Suitable placement; coaching; competency development."),
    4: _l("Rotation; competency development."),
    3: _l("Coaching; counselling; development; suitable placement."),
    2: _l("Coaching; development; suitable placement."),
    1: _l("Handled under the regulations."),
}
BAND_LABELS = {
    "mapping": {"optimal": _l("Optimal"), "cukup_optimal": _l("Cukup Optimal"),
                "kurang_optimal": _l("Kurang Optimal")},
    "selection": {"optimal": _l("Memenuhi Syarat (MS)"), "cukup_optimal": _l("Masih Memenuhi Syarat (MMS)"),
                  "kurang_optimal": _l("Kurang Memenuhi Syarat (KMS)")},
}
POTENTIAL_LABELS = {"rendah": _l("Low potential"), "menengah": _l("Medium potential"), "tinggi": _l("High potential")}
PERFORMANCE_LABELS = {"atas": _l("Above expectations"), "sesuai": _l("Meets expectations"),
                      "bawah": _l("Below expectations")}
PREDIKAT_LABELS = {"sangat_baik": "Sangat Baik", "baik": "Baik", "butuh_perbaikan": "Butuh Perbaikan",
                   "kurang": "Kurang", "sangat_kurang": "Sangat Kurang"}
MISSING_LABELS = {
    "no_skp": _l("no SKP rating"),
    "no_potential": _l("no score for the potential index"),
    "no_jpm": _l("no managerial or sociocultural score"),
    "jpm_incomplete": _l("JPM competencies not all measured"),
    "no_job_level": _l("job level without an expected level"),
    "readiness_unknown": _l("readiness not decidable"),
}
READINESS_LABELS = {True: _l("Ready"), False: _l("Not ready"), None: _l("Unknown")}
JOB_LEVEL_LABELS = {
    "jpt_utama": _l("JPT Utama"), "jpt_madya": _l("JPT Madya"), "jpt_pratama": _l("JPT Pratama"),
    "administrator": _l("Administrator"), "pengawas": _l("Pengawas"), "pelaksana": _l("Pelaksana"),
    "ahli_utama": _l("Ahli Utama"), "ahli_madya": _l("Ahli Madya"), "ahli_muda": _l("Ahli Muda"),
    "ahli_pertama": _l("Ahli Pertama"), "terampil": _l("Terampil (skilled functional)"),
}

# ------------------------------------------------------------------------------ settings
DEFAULT_SETTINGS: dict[str, Any] = {
    "expected_levels": dict(JOB_LEVELS),
    "jpm_batteries": ["managerial", "sociocultural"],
    "band_set": "mapping",
    "bands": {"mapping": [90.0, 78.0], "selection": [80.0, 68.0]},
    "potential_weights": {"emerging": 1.0, "digital": 1.0, "managerial": 1.0},
    "potential_cuts": [-0.5, 0.5],
    "performance_cuts": [60.0, 80.0],
    "predikat_scores": {"sangat_baik": 90.0, "baik": 75.0, "butuh_perbaikan": 55.0,
                        "kurang": 40.0, "sangat_kurang": 20.0},
    "skp_year": None,
    "readiness_levels": {"digital": 3, "berakhlak": 3},
    "readiness_aggregate": "mean",
    "readiness_excluded_bands": ["kurang_optimal"],
}
AGGREGATES = ("mean", "min")


class TalentError(Exception):
    """A refused talent action (bad settings ...), with a translated message."""

    def __init__(self, message, problems: Optional[dict] = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or {}


def with_defaults(settings: Optional[Mapping]) -> dict:
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (settings or {}).items():
        if key in merged:
            merged[key] = copy.deepcopy(value)
    return merged


def _number(value: Any) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def validate_settings(doc: Mapping, *, batteries: Iterable[str], competencies: Iterable[str] = ()) -> dict:
    """Return clean settings or raise TalentError with a problem per key."""
    batteries, competencies = set(batteries), set(competencies)
    s = with_defaults(doc)
    problems: dict[str, Any] = {}
    expected = {}
    for job, level in (s["expected_levels"] or {}).items():
        if job not in JOB_LEVELS:
            problems["expected_levels"] = _l("Unknown job level %(job)s.", job=job)
            continue
        number = _number(level)
        if number is None or not number.is_integer() or not 1 <= number <= 5:
            problems["expected_levels"] = _l("Expected levels are whole numbers from 1 to 5.")
        else:
            expected[job] = int(number)
    s["expected_levels"] = expected
    if not s["jpm_batteries"] or any(b not in batteries for b in s["jpm_batteries"]):
        problems["jpm_batteries"] = _l("JPM needs one or more batteries of the bank.")
    if s["band_set"] not in s["bands"] or s["band_set"] not in BAND_LABELS:
        problems["band_set"] = _l("Choose the mapping or the selection bands.")
    for name, pair in list(s["bands"].items()):
        values = [_number(v) for v in (pair or [])]
        if name not in BAND_LABELS or len(values) != 2 or None in values or not 0 < values[1] < values[0] <= 100:
            problems[f"bands_{name}"] = _l("Band thresholds: the upper above the lower, both between 0 and 100.")
        else:
            s["bands"][name] = values
    weights = {}
    for key, weight in (s["potential_weights"] or {}).items():
        number = _number(weight)
        if key not in batteries and key not in competencies:
            problems["potential_weights"] = _l("%(key)s is neither a battery nor a competency.", key=key)
        elif number is None or number < 0:
            problems["potential_weights"] = _l("Weights are numbers of zero or more.")
        elif number > 0:
            weights[key] = number
    if not weights and "potential_weights" not in problems:
        problems["potential_weights"] = _l("Give at least one weight above zero.")
    s["potential_weights"] = weights
    for key, low, high in (("potential_cuts", -6, 6), ("performance_cuts", 0, 100)):
        values = [_number(v) for v in (s[key] or [])]
        if len(values) != 2 or None in values or not low <= values[0] < values[1] <= high:
            problems[key] = _l("Two cut-offs, the first below the second, between %(low)s and %(high)s.", low=low, high=high)
        else:
            s[key] = values
    scores = {}
    for predikat in PREDIKAT:
        number = _number((s["predikat_scores"] or {}).get(predikat))
        if number is None or not 0 <= number <= 100:
            problems["predikat_scores"] = _l("Every predikat needs a score from 0 to 100.")
        else:
            scores[predikat] = number
    ordered = [scores[p] for p in PREDIKAT if p in scores]
    if "predikat_scores" not in problems and any(a < b for a, b in zip(ordered, ordered[1:])):
        # "Sangat Baik" below "Baik" would put the best-rated people in the bottom row of the 9-box
        problems["predikat_scores"] = _l("Predikat scores must not rise from Sangat Baik down to Sangat Kurang.")
    s["predikat_scores"] = scores
    if s["skp_year"] not in (None, ""):
        year = _number(s["skp_year"])
        if year is None or not year.is_integer() or not 2000 <= year <= 2100:
            problems["skp_year"] = _l("The SKP year is a year such as 2025, or empty for the latest.")
        else:
            s["skp_year"] = int(year)
    else:
        s["skp_year"] = None
    levels = {}
    for battery, level in (s["readiness_levels"] or {}).items():
        number = _number(level)
        if battery not in batteries:
            problems["readiness_levels"] = _l("%(key)s is not a battery of the bank.", key=battery)
        elif number is None or not 1 <= number <= 5:
            problems["readiness_levels"] = _l("Readiness levels are from 1 to 5.")
        else:
            levels[battery] = number
    s["readiness_levels"] = levels
    if s["readiness_aggregate"] not in AGGREGATES:
        problems["readiness_aggregate"] = _l("Use the mean or the minimum level.")
    if any(b not in BANDS for b in s["readiness_excluded_bands"] or []):
        problems["readiness_excluded_bands"] = _l("Unknown band.")
    if problems:
        raise TalentError(_l("The settings have problems; nothing was saved."), problems)
    return s


def latest_settings() -> Optional[TalentSettings]:
    return db.session.execute(select(TalentSettings).order_by(TalentSettings.version.desc()).limit(1)).scalar_one_or_none()


def ensure_settings(actor: Optional[User] = None) -> TalentSettings:
    """The latest settings version, creating version 1 with the defaults when there is none."""
    settings = latest_settings()
    if settings is None:
        settings = TalentSettings(version=1, settings=copy.deepcopy(DEFAULT_SETTINGS),
                                  created_by_id=actor.id if actor is not None else None,
                                  note="Defaults (DOMAIN.md)")
        db.session.add(settings)
        db.session.flush()
    return settings


def bank_codes() -> tuple[set[str], set[str]]:
    return (set(db.session.execute(select(Battery.code)).scalars()),
            set(db.session.execute(select(Competency.code)).scalars()))


def save_settings(doc: Mapping, *, actor: Optional[User] = None, note: Optional[str] = None) -> TalentSettings:
    """Validate and store ``doc`` as a new settings version (the old ones stay, placements keep
    pointing at the version they used). Raises TalentError when invalid or unchanged."""
    batteries, competencies = bank_codes()
    clean = validate_settings(doc, batteries=batteries, competencies=competencies)
    current = latest_settings()
    if current is not None and with_defaults(current.settings) == clean:
        raise TalentError(_l("The settings are unchanged; no new version was made."))
    version = (current.version if current is not None else 0) + 1
    row = TalentSettings(version=version, settings=clean, note=(note or "").strip() or None,
                         created_by_id=actor.id if actor is not None else None)
    db.session.add(row)
    db.session.flush()
    from assess.services import audit

    audit.record("talent.settings", actor=actor, target=row, detail={"version": version})
    return row


# ------------------------------------------------------------------------------ pure rules
def job_person_match(pairs: Iterable[tuple[int, int]]) -> Optional[float]:
    """JPM in percent from (achieved level, expected level) pairs; None without pairs.

    JPM = 100 × Σ min(level, expected) / Σ expected: a surplus on one competency never offsets a
    gap on another. Computed as 100 × a / b on integers, so whole percentages are exact.
    """
    achieved = expected = 0
    for level, wanted in pairs:
        achieved += min(int(level), int(wanted))
        expected += int(wanted)
    if expected <= 0:
        return None
    return 100 * achieved / expected


def band_of(jpm: Optional[float], thresholds: Sequence[float] = (90.0, 78.0)) -> Optional[str]:
    """Optimal at or above the upper threshold, Cukup Optimal at or above the lower, else Kurang."""
    if jpm is None:
        return None
    upper, lower = thresholds
    if jpm >= upper:
        return "optimal"
    if jpm >= lower:
        return "cukup_optimal"
    return "kurang_optimal"


def potential_of(index: Optional[float], cuts: Sequence[float] = (-0.5, 0.5)) -> Optional[str]:
    """rendah below the first cut, menengah from it to below the second, tinggi from the second."""
    if index is None:
        return None
    if index >= cuts[1]:
        return "tinggi"
    if index >= cuts[0]:
        return "menengah"
    return "rendah"


def performance_of(score: Optional[float], cuts: Sequence[float] = (60.0, 80.0)) -> Optional[str]:
    """di bawah ekspektasi below the first cut, sesuai up to below the second, di atas from it."""
    if score is None:
        return None
    if score >= cuts[1]:
        return "atas"
    if score >= cuts[0]:
        return "sesuai"
    return "bawah"


def box_of(performance: Optional[str], potential: Optional[str]) -> Optional[int]:
    """The KemenPANRB box number 1-9, or None when either axis is missing (never a guess)."""
    if performance is None or potential is None:
        return None
    return BOX_GRID[(performance, potential)]


def skp_score(predikat: Optional[str], score: Optional[float], predikat_scores: Mapping[str, float]) -> Optional[float]:
    """The performance score of an SKP rating: its own score when given, else its predikat's."""
    if score is not None:
        return float(score)
    if predikat is None:
        return None
    return float(predikat_scores[predikat])


@dataclass(frozen=True)
class ScoreInput:
    competency: str  # code
    battery: str  # battery code
    theta: float
    level: int


@dataclass
class Evaluation:
    levels: dict
    expected: Optional[int]
    jpm: Optional[float]
    band: Optional[str]
    potential_index: Optional[float]
    potential: Optional[str]
    performance_score: Optional[float]
    performance: Optional[str]
    box: Optional[int]
    ready: Optional[bool]
    missing: list = field(default_factory=list)
    detail: dict = field(default_factory=dict)

    @property
    def note(self) -> Optional[str]:
        return ",".join(self.missing) or None


def potential_index(scores: Sequence[ScoreInput], weights: Mapping[str, float]) -> tuple[Optional[float], dict]:
    """Weighted mean of θ over the weighted keys present (competency codes or battery codes; a
    battery's θ is the mean of its scored competencies). Returns (index, {key: θ used})."""
    parts: dict[str, float] = {}
    by_battery: dict[str, list[float]] = defaultdict(list)
    by_code = {}
    for s in scores:
        by_battery[s.battery].append(s.theta)
        by_code[s.competency] = s.theta
    total = weight_sum = 0.0
    for key, weight in weights.items():
        if weight <= 0:
            continue
        if key in by_code:
            theta = by_code[key]
        elif by_battery.get(key):
            theta = sum(by_battery[key]) / len(by_battery[key])
        else:
            continue
        parts[key] = round(theta, 4)
        total += weight * theta
        weight_sum += weight
    if weight_sum == 0:
        return None, parts
    return total / weight_sum, parts


def readiness(scores: Sequence[ScoreInput], band: Optional[str], settings: Mapping) -> tuple[Optional[bool], dict]:
    """IKN readiness: each rule's battery level (mean or min of its scored competencies) at or
    above its minimum, and the band not excluded. False when a rule fails; None (unknown) when no
    rule fails but one cannot be decided; True otherwise."""
    levels: dict[str, list[int]] = defaultdict(list)
    for s in scores:
        levels[s.battery].append(s.level)
    failed, unknown, values = [], [], {}
    aggregate = settings.get("readiness_aggregate", "mean")
    for battery, minimum in settings.get("readiness_levels", {}).items():
        found = levels.get(battery)
        if not found:
            unknown.append(battery)
            continue
        value = min(found) if aggregate == "min" else sum(found) / len(found)
        values[battery] = round(value, 2)
        if value < minimum:
            failed.append(battery)
    excluded = settings.get("readiness_excluded_bands", [])
    if excluded:
        if band is None:
            unknown.append("band")
        elif band in excluded:
            failed.append("band")
    ready = False if failed else (None if unknown else True)
    return ready, {"levels": values, "failed": failed, "unknown": unknown}


def evaluate(settings: Mapping, *, job_level: Optional[str], scores: Sequence[ScoreInput],
             skp: Optional[tuple[int, str, Optional[float]]],
             jpm_required: Optional[Iterable[str]] = None) -> Evaluation:
    """Place one participant from their scores and SKP rating (year, predikat, score). Pure.

    ``jpm_required``: the competency codes the JPM is taken over (those of the JPM batteries in the
    bank). When the attempt measured only some of them there is no JPM and no band ("jpm_incomplete",
    the codes not measured in ``detail``): a match over one competency out of nine is not a JPM.
    """
    s = settings if all(key in settings for key in DEFAULT_SETTINGS) else with_defaults(settings)
    levels = {x.competency: int(x.level) for x in scores}
    missing: list[str] = []
    expected = s["expected_levels"].get(job_level) if job_level else None
    jpm_scores = [x for x in scores if x.battery in s["jpm_batteries"]]
    not_measured = sorted(set(jpm_required or ()) - {x.competency for x in jpm_scores})
    jpm = None
    if expected is None:
        missing.append("no_job_level")
    elif not jpm_scores:
        missing.append("no_jpm")
    elif not_measured:
        missing.append("jpm_incomplete")
    else:
        jpm = job_person_match((x.level, expected) for x in jpm_scores)
    band = band_of(jpm, s["bands"][s["band_set"]])
    index, parts = potential_index(scores, s["potential_weights"])
    if index is None:
        missing.append("no_potential")
    potential = potential_of(index, s["potential_cuts"])
    perf_score = skp_score(skp[1], skp[2], s["predikat_scores"]) if skp else None
    if skp is None:
        missing.append("no_skp")
    performance = performance_of(perf_score, s["performance_cuts"])
    box = box_of(performance, potential)
    ready, ready_detail = readiness(scores, band, s)
    if ready is None:
        missing.append("readiness_unknown")
    detail = {"expected": expected, "jpm_competencies": [x.competency for x in jpm_scores],
              "potential_parts": parts, "readiness": ready_detail}
    if not_measured and jpm_scores:
        detail["jpm_not_measured"] = not_measured
    if skp is not None:
        detail["skp"] = {"year": skp[0], "predikat": skp[1], "score": skp[2], "used": perf_score}
    return Evaluation(levels=levels, expected=expected, jpm=jpm, band=band,
                      potential_index=None if index is None else round(index, 4), potential=potential,
                      performance_score=perf_score, performance=performance, box=box, ready=ready,
                      missing=missing, detail=detail)


def jpm_competencies(batteries: Iterable[str]) -> set[str]:
    """The codes the JPM is taken over: the competencies of the JPM batteries that the bank can test
    (one or more operational items)."""
    return set(db.session.execute(_jpm_competencies(batteries, Competency.code)).scalars())


def _jpm_competencies(batteries: Iterable[str], column):
    return (select(column).join(Battery, Competency.battery_id == Battery.id)
            .where(Battery.code.in_(list(batteries)),
                   select(Item.id).where(Item.competency_id == Competency.id, Item.status == "operational").exists()))


# ------------------------------------------------------------------------------ attempts used
FINISHED = ("submitted", "expired")
APPROVED_STATES = ("approved", "overridden")  # ReviewCase states: signed off by assessors


def latest_attempts(*, wave_id: Optional[int] = None, approved_only: bool = False,
                    jpm_batteries: Optional[Iterable[str]] = None):
    """One row per participant (attempt_id, user_id, wave_id): their latest scored, submitted or
    expired attempt (never a void one), optionally within one wave.

    An attempt that measured every JPM competency (``jpm_competencies``; the JPM batteries of the
    settings in force unless given) comes before a later one that did not: a short follow-up test
    of a few competencies must not push a participant's complete mapping out of the talent map.
    ``approved_only`` keeps only attempts an assessor approved or overrode (the one line below).
    """
    if jpm_batteries is None:
        latest = latest_settings()
        jpm_batteries = with_defaults(latest.settings if latest else None)["jpm_batteries"]
    required = _jpm_competencies(jpm_batteries, Competency.id)
    n_required = select(func.count()).select_from(required.subquery()).scalar_subquery()
    measured = (select(func.count(Score.id)).where(Score.attempt_id == Attempt.id, Score.competency_id.in_(required))
                .scalar_subquery())
    complete = case((measured >= n_required, 1), else_=0)
    query = (
        select(Attempt.id.label("attempt_id"), Attempt.user_id.label("user_id"), Attempt.wave_id.label("wave_id"),
               func.row_number().over(partition_by=Attempt.user_id,
                                      order_by=(complete.desc(), Attempt.submitted_at.desc().nulls_last(),
                                                Attempt.id.desc())).label("rn"))
        .where(Attempt.status.in_(FINISHED), Attempt.scored_at.is_not(None))
    )
    if wave_id is not None:
        query = query.where(Attempt.wave_id == wave_id)
    if approved_only:
        query = query.where(select(ReviewCase.id).where(ReviewCase.attempt_id == Attempt.id,
                                                        ReviewCase.state.in_(APPROVED_STATES)).exists())
    ranked = query.subquery("ranked")
    return select(ranked.c.attempt_id, ranked.c.user_id, ranked.c.wave_id).where(ranked.c.rn == 1)


# ------------------------------------------------------------------------------ compute
@dataclass
class ComputeReport:
    settings_version: int
    participants: int = 0
    created: int = 0
    updated: int = 0
    boxes: Counter = field(default_factory=Counter)
    bands: Counter = field(default_factory=Counter)
    ready: Counter = field(default_factory=Counter)
    no_box: int = 0

    def summary(self) -> str:
        return (f"{self.participants} participant(s) placed with settings v{self.settings_version} "
                f"({self.created} new, {self.updated} updated); {self.no_box} without a box (data incomplete); "
                f"{self.ready.get(True, 0)} ready for IKN")


def _chunks(rows: Sequence, size: int):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def participants_to_place(wave_id: Optional[int] = None) -> int:
    """How many participants a compute would place (one per person with a finished attempt)."""
    latest = latest_attempts(wave_id=wave_id).subquery("latest")
    return db.session.scalar(select(func.count()).select_from(latest)) or 0


def compute(settings: Optional[TalentSettings] = None, *, wave_id: Optional[int] = None,
            user_ids: Optional[Iterable[int]] = None, approved_only: bool = False, batch_size: int = 1000,
            progress: Optional[Callable[[int, int], None]] = None) -> ComputeReport:
    """Compute (or recompute) the placements of every participant with a finished attempt; flush.

    One placement per (participant, settings version, wave), updated in place when recomputed.
    The placement of a participant's latest attempt is the current one (``is_current``); a run
    without a wave makes every other placement of the same version not current.
    """
    settings = settings or ensure_settings()
    cfg = with_defaults(settings.settings)
    competencies = {cid: (code, battery) for cid, code, battery in db.session.execute(
        select(Competency.id, Competency.code, Battery.code).join(Battery, Competency.battery_id == Battery.id))}
    jpm_required = jpm_competencies(cfg["jpm_batteries"])
    cluster = func.coalesce(Unit.cluster, Agency.cluster)
    if wave_id is None:
        chosen = latest_attempts(approved_only=approved_only, jpm_batteries=cfg["jpm_batteries"]).subquery("chosen")
        latest_column = chosen.c.attempt_id
    else:
        chosen = latest_attempts(wave_id=wave_id, approved_only=approved_only,
                                 jpm_batteries=cfg["jpm_batteries"]).subquery("chosen")
        latest_all = latest_attempts(approved_only=approved_only, jpm_batteries=cfg["jpm_batteries"]).subquery("latest_all")
        latest_column = latest_all.c.attempt_id
    query = (select(chosen.c.user_id, chosen.c.attempt_id, chosen.c.wave_id, User.job_level, cluster, latest_column)
             .join(User, User.id == chosen.c.user_id)
             .outerjoin(Agency, User.agency_id == Agency.id).outerjoin(Unit, User.unit_id == Unit.id)
             .order_by(chosen.c.user_id))
    if wave_id is not None:
        query = query.outerjoin(latest_all, latest_all.c.user_id == chosen.c.user_id)
    wanted = set(user_ids) if user_ids is not None else None
    rows = [r for r in db.session.execute(query).all() if wanted is None or r[0] in wanted]
    report = ComputeReport(settings_version=settings.version)
    if wave_id is None and wanted is None:
        db.session.execute(update(TalentPlacement).where(TalentPlacement.settings_id == settings.id)
                           .values(is_current=False).execution_options(synchronize_session=False))
    now = utcnow()
    done = 0
    for chunk in _chunks(rows, batch_size):
        attempt_ids = [r[1] for r in chunk]
        user_ids_chunk = [r[0] for r in chunk]
        scores: dict[int, list[ScoreInput]] = defaultdict(list)
        # A level an assessor overrode (confirmed by a second assessor) counts instead of the scored one.
        overrides = {(a, c): lv for a, c, lv in db.session.execute(
            select(Review.attempt_id, Review.competency_id, Review.new_level)
            .where(Review.attempt_id.in_(attempt_ids), Review.decision == "override", Review.state == "confirmed")
            .order_by(Review.id))}
        for attempt_id, competency_id, theta, level in db.session.execute(
                select(Score.attempt_id, Score.competency_id, Score.theta, Score.level)
                .where(Score.attempt_id.in_(attempt_ids))):
            code, battery = competencies[competency_id]
            level = overrides.get((attempt_id, competency_id), level)
            scores[attempt_id].append(ScoreInput(code, battery, theta, level))
        ratings: dict[int, tuple] = {}
        rating_query = select(PerformanceRating.user_id, PerformanceRating.year, PerformanceRating.predikat,
                              PerformanceRating.score).where(PerformanceRating.user_id.in_(user_ids_chunk))
        if cfg["skp_year"] is not None:
            rating_query = rating_query.where(PerformanceRating.year == cfg["skp_year"])
        for user_id, year, predikat, score in db.session.execute(rating_query):
            if user_id not in ratings or year > ratings[user_id][0]:
                ratings[user_id] = (year, predikat, score)
        existing = {(u, w): pid for pid, u, w in db.session.execute(
            select(TalentPlacement.id, TalentPlacement.user_id, TalentPlacement.wave_id)
            .where(TalentPlacement.settings_id == settings.id, TalentPlacement.user_id.in_(user_ids_chunk)))}
        inserts, updates, current_pairs = [], [], []
        for user_id, attempt_id, wave, job_level, unit_cluster, latest_attempt in chunk:
            ev = evaluate(cfg, job_level=job_level, scores=sorted(scores.get(attempt_id, []), key=lambda s: s.competency),
                          skp=ratings.get(user_id), jpm_required=jpm_required)
            is_current = attempt_id == latest_attempt
            values = dict(user_id=user_id, wave_id=wave, attempt_id=attempt_id, settings_id=settings.id,
                          jpm=ev.jpm, band=ev.band, potential_index=ev.potential_index, potential=ev.potential,
                          performance=ev.performance, box=ev.box, ready=ev.ready, cluster=unit_cluster,
                          note=ev.note, computed_at=now, is_current=is_current, levels=ev.levels, detail=ev.detail)
            pid = existing.get((user_id, wave))
            if pid is None:
                inserts.append(values)
            else:
                updates.append(dict(values, id=pid))
            if is_current:
                current_pairs.append((user_id, attempt_id))
            report.participants += 1
            report.boxes[ev.box] += 1
            report.bands[ev.band] += 1
            report.ready[ev.ready] += 1
            report.no_box += ev.box is None
        if current_pairs and not (wave_id is None and wanted is None):
            # A participant has one current placement per version: the one of their latest attempt.
            db.session.execute(
                update(TalentPlacement).where(
                    TalentPlacement.settings_id == settings.id,
                    TalentPlacement.user_id.in_([u for u, _ in current_pairs]),
                    TalentPlacement.attempt_id.not_in([a for _, a in current_pairs]))
                .values(is_current=False).execution_options(synchronize_session=False))
        if inserts:
            db.session.execute(insert(TalentPlacement), inserts)
        if updates:
            db.session.execute(update(TalentPlacement), updates)
        report.created += len(inserts)
        report.updated += len(updates)
        done += len(chunk)
        if progress is not None:
            progress(done, len(rows))
    db.session.flush()
    return report


# ------------------------------------------------------------------------------ SKP import
PREDIKAT_ALIASES = {p: p for p in PREDIKAT}
PREDIKAT_ALIASES.update({label.lower(): code for code, label in PREDIKAT_LABELS.items()})
PREDIKAT_ALIASES.update({"very good": "sangat_baik", "good": "baik", "needs improvement": "butuh_perbaikan",
                         "poor": "kurang", "very poor": "sangat_kurang"})
SKP_ALIASES = {"tahun": "year", "nilai": "score", "predikat_kinerja": "predikat", "sumber": "source"}
SKP_MIN_YEAR = 2000


@dataclass
class SkpImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        return f"{self.rows} row(s): {self.created} new, {self.updated} updated, {self.unchanged} unchanged"


def import_skp(filename: str, data: bytes, *, actor: Optional[User] = None, dry_run: bool = False) -> SkpImportResult:
    """Import SKP ratings (columns nip, year, predikat, optional score and source), all or nothing.

    Every row is checked (a valid NIP of a participant, a year, a known predikat, a score from 0 to
    100, one row per NIP and year); any problem refuses the whole file and lists every problem with
    its row and column. A rating already stored for the NIP and year is replaced.
    """
    from datetime import date

    from assess.services import audit
    from assess.services.identity import NipError, parse_nip
    from assess.services.tabular import (
        ImportProblems, Problem, parse_float, parse_int, read_tables, require_columns, text,
    )

    tables = [t for t in read_tables(filename, data, SKP_ALIASES) if t.header or t.rows]
    if not tables:
        raise ImportProblems([Problem(None, None, _l("The file has no rows."))])
    table = tables[0]
    sheet = table.name if table.name != "csv" else None
    problems = require_columns(table, ("nip", "year", "predikat"), sheet)
    if problems:
        raise ImportProblems(problems)
    if not table.rows:
        raise ImportProblems([Problem(None, None, _l("The file has no rows."))])
    max_year = date.today().year + 1
    nips = {text(raw.get("nip")) for _, raw in table.rows}
    users = dict(db.session.execute(select(User.nip, User.id).where(User.role == "participant", User.nip.in_(nips))).all()) if nips else {}
    seen: dict[tuple[str, int], int] = {}
    clean: list[tuple[int, int, str, Optional[float], Optional[str]]] = []
    for number, raw in table.rows:
        row_problems: list[Problem] = []

        def problem(column, message):
            row_problems.append(Problem(number, column, message, sheet))

        value = raw.get("nip")
        nip = text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            problem("nip", _l("The NIP is stored as a number, which loses digits; format the column as text."))
        elif not nip:
            problem("nip", _l("The NIP is required."))
        else:
            try:
                parse_nip(nip)
            except NipError as error:
                problem("nip", error.message)
            else:
                if nip not in users:
                    problem("nip", _l("No participant has the NIP %(nip)s.", nip=nip))
        year = parse_int(raw.get("year"))
        if year is None or not SKP_MIN_YEAR <= year <= max_year:
            problem("year", _l("The year must be a whole number from %(low)d to %(high)d.", low=SKP_MIN_YEAR, high=max_year))
        predikat = PREDIKAT_ALIASES.get(" ".join(text(raw.get("predikat")).lower().replace("_", " ").split()))
        if predikat is None:
            predikat = PREDIKAT_ALIASES.get(text(raw.get("predikat")).lower())
        if predikat is None:
            problem("predikat", _l("Unknown predikat %(value)s; use one of: %(labels)s.", value=text(raw.get("predikat")) or "—",
                                   labels=", ".join(PREDIKAT_LABELS.values())))
        score = None
        if text(raw.get("score")) != "":
            score = parse_float(raw.get("score"))
            if score is None or not 0 <= score <= 100:
                problem("score", _l("The score must be a number from 0 to 100."))
        source = text(raw.get("source")) or None
        if not row_problems and year is not None:
            key = (nip, year)
            if key in seen:
                problem("year", _l("The NIP %(nip)s already has a rating for %(year)d on row %(row)d.", nip=nip, year=year, row=seen[key]))
            else:
                seen[key] = number
        problems += row_problems
        if not row_problems:
            clean.append((users[nip], year, predikat, score, source))
    if problems:
        raise ImportProblems(problems)
    result = SkpImportResult(rows=len(clean), dry_run=dry_run)
    existing = {}
    user_ids = list({c[0] for c in clean})
    for start in range(0, len(user_ids), 5000):
        for rating in db.session.execute(select(PerformanceRating).where(
                PerformanceRating.user_id.in_(user_ids[start:start + 5000]))).scalars():
            existing[(rating.user_id, rating.year)] = rating
    label = f"import {filename}"[:500]
    inserts = []
    now = utcnow()
    for user_id, year, predikat, score, source in clean:
        rating = existing.get((user_id, year))
        if rating is None:
            result.created += 1
            inserts.append(dict(user_id=user_id, year=year, predikat=predikat, score=score,
                                source=source or label, imported_at=now))
        elif (rating.predikat, rating.score) == (predikat, score):
            result.unchanged += 1
        else:
            result.updated += 1
            if not dry_run:
                rating.predikat, rating.score, rating.source, rating.imported_at = predikat, score, source or label, now
    if not dry_run:
        if inserts:
            db.session.execute(insert(PerformanceRating), inserts)
        db.session.flush()
        audit.record("talent.skp_import", actor=actor, detail={
            "file": filename, "rows": result.rows, "created": result.created, "updated": result.updated})
    return result


# ------------------------------------------------------------------------------ labels
def band_label(band: Optional[str], band_set: str = "mapping") -> str:
    if band is None:
        return "—"
    return str(BAND_LABELS.get(band_set, BAND_LABELS["mapping"])[band])


def missing_labels(note: Optional[str]) -> list[str]:
    return [str(MISSING_LABELS.get(code, code)) for code in (note or "").split(",") if code]


__all__ = [
    "BOX_GRID", "BOX_RECOMMENDATIONS", "DEFAULT_SETTINGS", "GRID", "GRID_COLUMNS", "GRID_ROWS",
    "TALENT_POOL", "ComputeReport", "Evaluation", "ScoreInput", "TalentError", "band_of", "box_of",
    "compute", "ensure_settings", "evaluate", "import_skp", "job_person_match", "jpm_competencies", "latest_attempts",
    "performance_of", "potential_index", "potential_of", "readiness", "save_settings", "skp_score",
    "validate_settings", "with_defaults", "BANDS", "PERFORMANCE", "POTENTIAL",
]
