"""Aberrance flags of a scored attempt, each with the evidence behind it.

Thresholds are settings (``REVIEW_THRESHOLDS`` in the app config overrides the defaults below).
A flag says what was measured, the threshold and which items or events it rests on, so that an
assessor can judge it rather than trust it.
"""
from __future__ import annotations

from collections import Counter
from typing import Optional

import numpy as np
from flask import current_app, has_app_context
from scipy.stats import norm
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Attempt, AttemptEvent, ItemVersion, Response, Score

DEFAULTS = {
    "misfit_lz": -1.96,          # lz* below this: the answer pattern is unlikely under the model
    "misfit_min_items": 10,      # lz* of one competency is judged alone only from this many items
    "rapid_share": 0.20,         # share of answers faster than the item's rapid threshold
    "rapid_fraction": 0.10,      # the item's threshold: this fraction of its median time ...
    "rapid_floor_ms": 1500,      # ... but at least this
    "rapid_cap_ms": 10000,       # ... and at most this
    "integrity_events": 10,      # focus lost, page hidden, paste, device change, takeover
    "straight_share": 0.90,      # share of Likert answers that are the same answer
    "straight_min_items": 6,
    "max_se": 0.65,              # 90% interval wider than about ±1.07: more than a level either way
    "reverse_gap": 2.0,          # |mean forward answer + mean reverse answer - 6|
    "reverse_min_items": 2,
}
# Notes on precision, not aberrance: shown with the flags but not counted (``ReviewCase.flag_count``),
# so that a case with nothing but a wide interval (a short scale) is not "flagged" and can be
# approved in bulk; the report's P(level wrong) already says how far to trust such a level.
PRECISION_CODES = ("large_se",)
INTEGRITY_KINDS = ("focus_lost", "page_hidden", "paste", "client_change", "takeover")


def thresholds() -> dict:
    values = dict(DEFAULTS)
    if has_app_context():
        values.update(current_app.config.get("REVIEW_THRESHOLDS") or {})
    return values


def _flag(code: str, value: float, threshold: float, **evidence) -> dict:
    return {"code": code, "value": round(float(value), 4), "threshold": threshold, "evidence": evidence}


def rapid_thresholds(item_ids: list[int], t: dict) -> dict[int, float]:
    """Per-item rapid-response threshold: a fraction of the item's median time (NT10-style)."""
    if not item_ids:
        return {}
    rows = db.session.execute(
        select(Response.item_id, Response.elapsed_ms)
        .where(Response.item_id.in_(item_ids), Response.elapsed_ms.is_not(None), Response.choice.is_not(None))
    ).all()
    times: dict[int, list[int]] = {}
    for item_id, ms in rows:
        times.setdefault(item_id, []).append(ms)
    out = {}
    for item_id in item_ids:
        median = float(np.median(times[item_id])) if times.get(item_id) else 0.0
        out[item_id] = min(max(t["rapid_fraction"] * median, t["rapid_floor_ms"]), t["rapid_cap_ms"])
    return out


def _misfit(scores: list[Score], t: dict) -> list[dict]:
    """Person-fit flags, with the multiplicity of a battery in mind (25 competencies, each tested at
    α = 2.5 %, flag four attempts in five that fit the model perfectly well).

    - The whole attempt: Stouffer's z = Σ lz* / √K over the K competencies with an lz*, against
      ``misfit_lz``; short scales contribute here, where their noise averages out.
    - One competency alone: only from ``misfit_min_items`` items (lz* of a 4-item scale is far from
      normal), against ``misfit_lz`` Bonferroni-corrected for the number of such competencies.
    """
    fits = [s for s in scores if s.person_fit is not None]
    if not fits:
        return []
    out = []
    combined = sum(s.person_fit for s in fits) / np.sqrt(len(fits))
    if combined < t["misfit_lz"]:
        lowest = sorted(fits, key=lambda s: s.person_fit)[:5]
        out.append(_flag("misfit", combined, t["misfit_lz"], combined_over=len(fits), lowest=[
            {"competency_id": s.competency_id, "lz": round(float(s.person_fit), 2)} for s in lowest]))
    long = [s for s in fits if s.n_items >= t["misfit_min_items"]]
    if long:
        cut = float(norm.ppf(norm.cdf(t["misfit_lz"]) / len(long)))
        for s in long:
            if s.person_fit < cut:
                out.append(_flag("misfit", s.person_fit, round(cut, 3), competency_id=s.competency_id,
                                 n_items=s.n_items, tested=len(long)))
    return out


def compute_flags(attempt: Attempt, scores: Optional[list[Score]] = None) -> list[dict]:
    t = thresholds()
    flags: list[dict] = []
    scores = scores if scores is not None else list(
        db.session.execute(select(Score).where(Score.attempt_id == attempt.id)).scalars())
    rows = db.session.execute(
        select(Response, ItemVersion).join(ItemVersion, Response.item_version_id == ItemVersion.id)
        .where(Response.attempt_id == attempt.id, Response.choice.is_not(None))
    ).all()

    flags += _misfit(scores, t)
    wide = [s for s in scores if s.n_items > 0 and s.se > t["max_se"]]
    if wide:  # one flag for the attempt, the competencies in its evidence
        flags.append(_flag("large_se", max(s.se for s in wide), t["max_se"], competencies=[
            {"competency_id": s.competency_id, "se": round(float(s.se), 3), "n_items": s.n_items} for s in wide]))

    timed = [(r, v) for r, v in rows if r.elapsed_ms is not None]
    if timed:
        limits = rapid_thresholds([r.item_id for r, _ in timed], t)
        rapid = [r.item_id for r, _ in timed if r.elapsed_ms < limits[r.item_id]]
        share = len(rapid) / len(timed)
        if share > t["rapid_share"]:
            flags.append(_flag("rapid_guessing", share, t["rapid_share"], items=rapid[:50], answered=len(timed)))

    counts = dict(db.session.execute(
        select(AttemptEvent.kind, func.count()).where(AttemptEvent.attempt_id == attempt.id,
                                                      AttemptEvent.kind.in_(INTEGRITY_KINDS))
        .group_by(AttemptEvent.kind)).all())
    total = sum(counts.values())
    if total > t["integrity_events"]:
        flags.append(_flag("integrity_events", total, t["integrity_events"], by_kind=counts))

    likert = [(r, v) for r, v in rows if v.item_type == "likert"]
    raw = [r.choice + 1 for r, _ in likert]  # the answer as given, 1..5, before reverse keying
    if len(raw) >= t["straight_min_items"]:
        answer, n = Counter(raw).most_common(1)[0]
        share = n / len(raw)
        if share >= t["straight_share"]:
            flags.append(_flag("straight_lining", share, t["straight_share"], answer=answer, items=len(raw)))
    forward = [r.choice + 1 for r, v in likert if not v.reverse_keyed]
    reverse = [r.choice + 1 for r, v in likert if v.reverse_keyed]
    if len(forward) >= t["reverse_min_items"] and len(reverse) >= t["reverse_min_items"]:
        gap = abs(np.mean(forward) + np.mean(reverse) - 6)
        if gap >= t["reverse_gap"]:
            flags.append(_flag("reverse_inconsistency", gap, t["reverse_gap"],
                               forward_mean=round(float(np.mean(forward)), 2),
                               reverse_mean=round(float(np.mean(reverse)), 2)))
    return flags
