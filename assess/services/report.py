"""The participant report: every score explained, with how sure we are of the level and band.

Measurement error is taken at face value: θ ~ N(θ̂, SE²). The probability of each level is the
normal mass between two cut scores; the probability that the reported level is wrong is one minus
the mass of the reported level's interval. For the JPM band, the levels of the competencies are
independent given their estimates, so the distribution of Σ min(level, expected) is an exact
convolution over the competencies (no simulation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from scipy.stats import norm
from sqlalchemy import select

from assess.extensions import db
from assess.irt.models import item_information
from assess.models import (
    Attempt, AttemptEvent, Battery, Competency, ItemVersion, Response, Score,
)
from assess.services import review, scoring, talent

Z90 = float(norm.ppf(0.95))  # a two-sided 90% interval
# Kurang Optimal < 78 <= Cukup Optimal < 90 <= Optimal (DOMAIN.md): the talent settings' default.
BAND_CUTS = tuple(sorted(talent.DEFAULT_SETTINGS["bands"]["mapping"]))
BANDS = ("kurang_optimal", "cukup_optimal", "optimal")


def level_probabilities(theta: float, se: float, cut_scores: Sequence[float]) -> np.ndarray:
    """P(level = 1..5) for θ ~ N(θ̂, SE²) and the competency's four cut scores."""
    edges = np.concatenate([[-np.inf], np.asarray(cut_scores, float), [np.inf]])
    cdf = norm.cdf((edges - theta) / se)
    return np.diff(cdf)


def misclassification(theta: float, se: float, cut_scores: Sequence[float]) -> float:
    """Probability that the true level differs from the level θ̂ falls in."""
    probs = level_probabilities(theta, se, cut_scores)
    level = scoring.level_of(theta, cut_scores)
    return float(1.0 - probs[level - 1])


def jpm(levels: Sequence[int], expected: Sequence[int]) -> float:
    """JPM = Σ min(level, expected) / Σ expected × 100 (the talent rules, one place)."""
    value = talent.job_person_match(zip(levels, expected))
    return value if value is not None else 0.0


def band_of(value: float, cuts: Sequence[float] = BAND_CUTS) -> str:
    """The band of a JPM value for cut-offs (lower, upper)."""
    return talent.band_of(value, (max(cuts), min(cuts)))


def band_probabilities(level_probs: Sequence[np.ndarray], expected: Sequence[int],
                       cuts: Sequence[float] = BAND_CUTS) -> dict[str, float]:
    """P(band) from independent level distributions: exact convolution of min(level, expected)."""
    dist = np.array([1.0])  # distribution of the running sum of min(level, expected)
    for probs, e in zip(level_probs, expected):
        contribution = np.zeros(e + 1)
        for level, p in enumerate(probs, start=1):
            contribution[min(level, e)] += p
        dist = np.convolve(dist, contribution)
    total = sum(expected)
    values = 100.0 * np.arange(dist.size) / total
    out = {band: 0.0 for band in BANDS}
    for value, p in zip(values, dist):
        out[band_of(value, cuts)] += float(p)
    return out


@dataclass(frozen=True)
class JpmRules:
    expected_levels: dict   # job level -> expected level
    batteries: tuple        # batteries whose competencies count in the JPM
    cuts: tuple             # band cut-offs, ascending


def jpm_rules() -> JpmRules:
    """The JPM rules of the talent settings in force (the same ones the talent map uses)."""
    latest = talent.latest_settings()
    cfg = talent.with_defaults(latest.settings if latest else None)
    return JpmRules(dict(cfg["expected_levels"]), tuple(cfg["jpm_batteries"]),
                    tuple(sorted(cfg["bands"][cfg["band_set"]])))


@dataclass
class CompetencyLine:
    competency: Competency
    battery: Battery
    score: Score
    level: int                 # the level that counts (an override replaces the scored one)
    expected: Optional[int]
    low: float
    high: float
    p_wrong: float
    probs: list


@dataclass
class Report:
    attempt: Attempt
    lines: list[CompetencyLine]
    jpm: Optional[float] = None
    band: Optional[str] = None
    band_probs: dict = field(default_factory=dict)
    p_band_wrong: Optional[float] = None
    jpm_not_measured: list = field(default_factory=list)   # JPM competencies this attempt did not measure
    items: list = field(default_factory=list)
    events: dict = field(default_factory=dict)


def build(attempt: Attempt, *, with_items: bool = False) -> Report:
    """The report of one attempt, with the talent settings in force (expected levels, bands)."""
    participant = attempt.user
    rules = jpm_rules()
    expected_level = rules.expected_levels.get(participant.job_level or "")
    jpm_batteries, cuts = rules.batteries, rules.cuts
    effective = review.effective_levels(attempt.id)
    rows = db.session.execute(
        select(Score, Competency, Battery).join(Competency, Score.competency_id == Competency.id)
        .join(Battery, Competency.battery_id == Battery.id)
        .where(Score.attempt_id == attempt.id).order_by(Battery.position, Competency.position)
    ).all()
    lines = []
    for score, comp, battery in rows:
        probs = level_probabilities(score.theta, score.se, comp.cut_scores)
        expected = expected_level if battery.code in jpm_batteries else None
        lines.append(CompetencyLine(
            comp, battery, score, effective.get(comp.id, score.level), expected,
            score.theta - Z90 * score.se, score.theta + Z90 * score.se,
            misclassification(score.theta, score.se, comp.cut_scores), [float(p) for p in probs]))
    out = Report(attempt, lines)
    jpm_lines = [line for line in lines if line.expected]
    if jpm_lines:  # a match over some of the competencies is not a JPM (talent.evaluate says the same)
        out.jpm_not_measured = sorted(talent.jpm_competencies(jpm_batteries) - {line.competency.code for line in jpm_lines})
    if jpm_lines and not out.jpm_not_measured:
        out.jpm = jpm([line.level for line in jpm_lines], [line.expected for line in jpm_lines])
        out.band = band_of(out.jpm, cuts)
        out.band_probs = band_probabilities([np.asarray(line.probs) for line in jpm_lines],
                                            [line.expected for line in jpm_lines], cuts)
        out.p_band_wrong = 1.0 - out.band_probs[out.band]
    out.events = {kind: n for kind, n in db.session.execute(
        select(AttemptEvent.kind, db.func.count()).where(AttemptEvent.attempt_id == attempt.id)
        .group_by(AttemptEvent.kind)).all()}
    if with_items:
        out.items = item_rows(attempt, {line.competency.id: line.score.theta for line in lines})
    return out


def item_rows(attempt: Attempt, theta_by_competency: dict[int, float]) -> list[dict]:
    """Item by item, for assessors only: the item, the answer, its points, time, information at θ."""
    rows = db.session.execute(
        select(Response, ItemVersion).join(ItemVersion, Response.item_version_id == ItemVersion.id)
        .where(Response.attempt_id == attempt.id)
    ).all()
    by_item = {r.item_id: (r, v) for r, v in rows}
    out = []
    for section in attempt.form.get("sections", []):
        theta = theta_by_competency.get(section["competency_id"], 0.0)
        for n, entry in enumerate(section["items"], start=1):
            response, version = by_item.get(entry["item_id"], (None, None))
            if version is None:
                version = db.session.get(ItemVersion, entry["version_id"])
            info = float(item_information(scoring.bank_of([version]), np.array([theta]))[0, 0])
            if response is None or response.choice is None:
                answer = None
            elif version.item_type == "likert":
                answer = ["STS", "TS", "N", "S", "SS"][response.choice]
            else:
                answer = version.options[response.choice]["text"]
            out.append({"competency": section["competency"], "number": n, "code": version.item.code,
                        "version": version.version, "stem": version.stem, "type": version.item_type,
                        "answer": answer, "points": response.points if response else None,
                        "reverse": version.reverse_keyed,
                        "elapsed_ms": response.elapsed_ms if response else None, "information": info})
    return out
