"""Test specifications: composing a battery, checking it against the bank, activating it.

A spec is a list of sections, one competency each, drawn as a fixed form, a random form by level
(LOFT) or a CAT (see :mod:`assess.services.delivery`, which draws the forms). Before a spec can be
activated it is checked against the item bank: enough operational items for every fixed and random
form (per level for a LOFT blueprint), and for a CAT a pool of at least ``max_items`` items plus a
quick simulation of the adaptive design (:func:`simulate_cat`) reporting RMSE, mean test length
and the highest item exposure. The last check is stored on ``TestSpec.validation``.

Services flush; the caller commits.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from assess.extensions import db
from assess.irt.cat import sympson_hetter
from assess.irt.models import ItemBank
from assess.models import Attempt, Competency, Item, TestSection, TestSpec, Wave, utcnow
from assess.models.delivery import SELECTION_METHODS
from assess.services import delivery, scoring
from assess.services.delivery import CAT_RANDOMESQUE

__all__ = [
    "CatSimulation", "LAYOUTS", "LAYOUT_LABELS", "METHOD_LABELS", "Problem", "SectionInput", "SpecError",
    "SpecInput", "SpecLocked", "checked_at",
    "activate", "check_against_bank", "copy_spec", "create_spec", "deactivate", "input_of", "is_locked",
    "problem_text", "simulate_cat", "update_spec", "waves_using",
]

LAYOUTS = ("item", "section")
METHOD_LABELS = {
    "fixed": _l("Fixed form"),
    "random": _l("Random form by level (LOFT)"),
    "cat": _l("Adaptive (CAT)"),
}
LAYOUT_LABELS = {"item": _l("One question per page"), "section": _l("The whole part on one page")}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")

# The delivery engine's CAT defaults (assess/services/delivery.py, _draw_section).
CAT_DEFAULT_MIN, CAT_DEFAULT_MAX, CAT_DEFAULT_SE = 5, 20, 0.35
SIM_SIMULEES = 200
SIM_SEED = 2026
SH_SIMULEES = 1000  # per iteration of the Sympson-Hetter calibration: rates to about ±0.014
MAX_TIME_LIMIT = 600


# ------------------------------------------------------------------------------------- problems
# Problems are stored in TestSpec.validation as {"code", "params"} and rendered in the reader's
# language when shown, so switching the interface language also switches the stored report.
MESSAGES = {
    "code_format": _l("Use 1 to 40 letters, digits, dots, dashes or underscores."),
    "code_taken": _l("This code is already used by another test specification."),
    "name_required": _l("Give the test a name."),
    "time_limit": _l("Set a time limit for the whole test between 1 and %(max)d minutes."),
    "no_sections": _l("Add at least one part (choose its competency)."),
    "unknown_competency": _l("Choose a competency."),
    "duplicate_competency": _l("Competency %(competency)s appears in more than one part; each part needs its own competency."),
    "method": _l("Choose how the part's items are selected."),
    "part_time_limit": _l("A part's own time limit (%(part)d minutes) cannot be longer than the whole test (%(whole)d minutes)."),
    "layout": _l("Choose a layout."),
    "fixed_needs": _l("A fixed form needs either item codes or a number of items."),
    "duplicate_codes": _l("Item codes listed twice: %(codes)s"),
    "random_needs": _l("A random form needs a number of items or counts per level."),
    "n_items_mismatch": _l("The counts per level add up to %(total)d, not to the number of items (%(n)d)."),
    "cat_bounds": _l("The minimum test length cannot be above the maximum."),
    "se_target": _l("The SE target must be between 0.1 and 1.0."),
    "exposure_max": _l("The exposure target must be a rate between 0.05 and 1."),
    "bank_unknown_items": _l("These item codes are not operational items of %(competency)s: %(codes)s"),
    "bank_too_few": _l("%(competency)s has %(available)d operational items; the form needs %(needed)d."),
    "bank_too_few_level": _l("%(competency)s has %(available)d operational items at level %(level)d; the form needs %(needed)d."),
    "bank_unknown_subdomains": _l("No operational item of %(competency)s has the subdomain %(names)s (the subdomains of its items: %(known)s)."),
    "bank_pool_small": _l("The adaptive pool of %(competency)s has %(available)d operational items; it needs at least the maximum test length, %(needed)d."),
    "bank_params": _l("Operational items of %(competency)s have unusable IRT parameters: %(error)s"),
    "exposure_unreachable": _l("An exposure target of %(target)d%% cannot be met by %(competency)s: exposure rates add up to the test length, so up to %(needed)d items per person need at least %(min_pool)d operational items (there are %(available)d)."),
    "sim_exposure": _l("In the simulation the most used item was given to %(rate)d%% of the simulees, above the target of %(target)d%%."),
    "locked": _l("A wave using this test specification already has attempts: it can no longer be changed. Make a copy instead."),
    "sim_length": _l("In the simulation %(rate)d%% of the simulees reached the maximum length before the SE target."),
}


@dataclass(frozen=True)
class Problem:
    """A problem with a spec: ``field`` names the form field (``sections-2-n_items``) or None."""

    code: str
    params: dict = field(default_factory=dict)
    field: Optional[str] = None

    @property
    def message(self) -> str:
        return problem_text({"code": self.code, "params": self.params})

    def as_dict(self) -> dict:
        return {"code": self.code, "params": self.params, "field": self.field}


def problem_text(problem: dict) -> str:
    """The message of a stored problem (``{"code", "params"}``) in the current language."""
    template = MESSAGES.get(problem.get("code"))
    if template is None:
        return str(problem.get("code"))
    params = problem.get("params") or {}
    return str(template) % params if params else str(template).replace("%%", "%")


class SpecError(Exception):
    """A refused change: ``problems`` lists every reason, each naming its form field."""

    def __init__(self, problems: list[Problem]):
        super().__init__(", ".join(p.code for p in problems))
        self.problems = problems

    def __str__(self) -> str:  # translated when shown, not when raised
        return "; ".join(p.message for p in self.problems)


# ------------------------------------------------------------------------------------- input
@dataclass
class SectionInput:
    competency_id: Optional[int]
    method: str = "fixed"
    n_items: Optional[int] = None
    item_codes: list[str] = field(default_factory=list)
    per_level: dict[int, int] = field(default_factory=dict)
    min_items: Optional[int] = None
    max_items: Optional[int] = None
    se_target: Optional[float] = None
    exposure_max: Optional[float] = None
    content_subdomains: list[str] = field(default_factory=list)
    time_limit_minutes: Optional[int] = None
    layout: str = "item"


@dataclass
class SpecInput:
    code: str
    name: str
    instructions: Optional[str] = None
    time_limit_minutes: Optional[int] = None
    shuffle_options: bool = True
    sections: list[SectionInput] = field(default_factory=list)


def input_of(spec: TestSpec) -> SpecInput:
    """The editable values of a stored spec (to fill the edit form or copy it)."""
    sections = []
    for s in spec.sections:
        settings = s.settings or {}
        sections.append(SectionInput(
            competency_id=s.competency_id, method=s.method, n_items=s.n_items,
            item_codes=list(settings.get("items") or []),
            per_level={int(k): int(v) for k, v in (settings.get("per_level") or {}).items()},
            min_items=s.min_items, max_items=s.max_items, se_target=s.se_target,
            exposure_max=settings.get("exposure_max"),
            content_subdomains=list((settings.get("content") or {}).get("subdomains") or []),
            time_limit_minutes=s.time_limit_minutes, layout=settings.get("layout", "item")))
    return SpecInput(code=spec.code, name=spec.name, instructions=spec.instructions,
                     time_limit_minutes=spec.time_limit_minutes, shuffle_options=spec.shuffle_options,
                     sections=sections)


def _check_input(data: SpecInput, spec_id: Optional[int]) -> list[Problem]:
    problems: list[Problem] = []
    code = (data.code or "").strip()
    if not CODE_RE.match(code):
        problems.append(Problem("code_format", field="code"))
    else:
        taken = db.session.scalar(select(TestSpec.id).where(func.lower(TestSpec.code) == code.lower()))
        if taken is not None and taken != spec_id:
            problems.append(Problem("code_taken", field="code"))
    if not (data.name or "").strip():
        problems.append(Problem("name_required", field="name"))
    if not data.time_limit_minutes or not 1 <= data.time_limit_minutes <= MAX_TIME_LIMIT:
        problems.append(Problem("time_limit", {"max": MAX_TIME_LIMIT}, "time_limit_minutes"))
    if not data.sections:
        problems.append(Problem("no_sections", field="sections"))
    competencies = {c.id: c for c in db.session.execute(select(Competency)).scalars()}
    seen: set[int] = set()
    for i, s in enumerate(data.sections):
        f = f"sections-{i}-"
        comp = competencies.get(s.competency_id) if s.competency_id is not None else None
        if comp is None:
            problems.append(Problem("unknown_competency", field=f + "competency"))
        elif comp.id in seen:
            problems.append(Problem("duplicate_competency", {"competency": comp.code}, f + "competency"))
        else:
            seen.add(comp.id)
        if s.time_limit_minutes and data.time_limit_minutes and s.time_limit_minutes > data.time_limit_minutes:
            problems.append(Problem("part_time_limit", {"part": s.time_limit_minutes,
                                                        "whole": data.time_limit_minutes}, f + "time_limit"))
        if s.method not in SELECTION_METHODS:
            problems.append(Problem("method", field=f + "method"))
            continue
        if s.layout not in LAYOUTS:
            problems.append(Problem("layout", field=f + "layout"))
        if s.method == "fixed":
            if not s.item_codes and not s.n_items:
                problems.append(Problem("fixed_needs", field=f + "n_items"))
            doubles = sorted({c for c in s.item_codes if s.item_codes.count(c) > 1})
            if doubles:
                problems.append(Problem("duplicate_codes", {"codes": ", ".join(doubles)}, f + "item_codes"))
        elif s.method == "random":
            total = sum(s.per_level.values())
            if not s.n_items and not total:
                problems.append(Problem("random_needs", field=f + "n_items"))
            elif total and s.n_items and total != s.n_items:
                problems.append(Problem("n_items_mismatch", {"total": total, "n": s.n_items}, f + "n_items"))
        else:
            lo = s.min_items or CAT_DEFAULT_MIN
            hi = s.max_items or CAT_DEFAULT_MAX
            if lo > hi:
                problems.append(Problem("cat_bounds", field=f + "min_items"))
            if s.se_target is not None and not 0.1 <= s.se_target <= 1.0:
                problems.append(Problem("se_target", field=f + "se_target"))
            if s.exposure_max is not None and not 0.05 <= s.exposure_max <= 1.0:
                problems.append(Problem("exposure_max", field=f + "exposure_max"))
    return problems


def _apply_section(section: TestSection, s: SectionInput, position: int) -> None:
    section.competency_id = s.competency_id
    section.position = position
    section.method = s.method
    section.time_limit_minutes = s.time_limit_minutes or None
    settings: dict[str, Any] = {"layout": "item" if s.method == "cat" else s.layout}
    section.n_items = section.min_items = section.max_items = section.se_target = None
    if s.method == "fixed":
        if s.item_codes:
            settings["items"] = list(s.item_codes)
            section.n_items = len(s.item_codes)
        else:
            section.n_items = s.n_items
    elif s.method == "random":
        per_level = {str(k): int(v) for k, v in sorted(s.per_level.items()) if v}
        if per_level:
            settings["per_level"] = per_level
        section.n_items = sum(int(v) for v in per_level.values()) or s.n_items
    else:
        section.min_items = s.min_items or CAT_DEFAULT_MIN
        section.max_items = s.max_items or CAT_DEFAULT_MAX
        section.se_target = s.se_target or CAT_DEFAULT_SE
        if s.exposure_max is not None:
            settings["exposure_max"] = float(s.exposure_max)
        if s.content_subdomains:
            settings["content"] = {"subdomains": list(s.content_subdomains)}
    section.settings = settings


def _apply(spec: TestSpec, data: SpecInput) -> None:
    spec.code = data.code.strip()
    spec.name = data.name.strip()
    spec.instructions = (data.instructions or "").strip() or None
    spec.time_limit_minutes = data.time_limit_minutes
    spec.shuffle_options = bool(data.shuffle_options)
    existing = list(spec.sections)
    # Update rows in place by position (a delete and an insert of the same position in one flush
    # would trip the unique (spec, position) constraint), then drop the rows left over.
    for position, s in enumerate(data.sections):
        if position < len(existing):
            _apply_section(existing[position], s, position)
        else:
            section = TestSection()
            _apply_section(section, s, position)
            spec.sections.append(section)
    for extra in existing[len(data.sections):]:
        spec.sections.remove(extra)


def create_spec(data: SpecInput) -> TestSpec:
    """Create an inactive spec (raise :class:`SpecError` listing every problem); flush."""
    problems = _check_input(data, None)
    if problems:
        raise SpecError(problems)
    spec = TestSpec(is_active=False)
    _apply(spec, data)
    db.session.add(spec)
    db.session.flush()
    check_against_bank(spec)
    return spec


class SpecLocked(SpecError):
    """The spec is in use by a wave with attempts."""

    def __init__(self):
        super().__init__([Problem("locked")])


def is_locked(spec: TestSpec) -> bool:
    """True once any wave using the spec has an attempt (the forms drawn depend on it)."""
    return bool(db.session.scalar(select(exists().where(
        Attempt.wave_id == Wave.id, Wave.spec_id == spec.id))))


def waves_using(spec: TestSpec) -> list[Wave]:
    return list(db.session.execute(select(Wave).where(Wave.spec_id == spec.id).order_by(Wave.opens_at)).scalars())


def update_spec(spec: TestSpec, data: SpecInput) -> TestSpec:
    """Change a spec while no wave using it has attempts; the bank check runs again.

    An active spec stays active only if the new composition passes the check; otherwise it
    becomes inactive (and the caller tells the admin).
    """
    if is_locked(spec):
        raise SpecLocked()
    problems = _check_input(data, spec.id)
    if problems:
        raise SpecError(problems)
    _apply(spec, data)
    db.session.flush()
    db.session.expire(spec, ["sections"])
    report = check_against_bank(spec)
    if spec.is_active and not report["ok"]:
        spec.is_active = False
    db.session.flush()
    return spec


def copy_spec(spec: TestSpec) -> TestSpec:
    """An inactive copy with a free code (``CODE-2``, ``CODE-3`` ...); flush."""
    data = input_of(spec)
    base = spec.code[:36]
    n = 2
    while db.session.scalar(select(TestSpec.id).where(func.lower(TestSpec.code) == f"{base}-{n}".lower())):
        n += 1
    data.code = f"{base}-{n}"
    data.name = f"{spec.name} ({n})"[:200]
    data.time_limit_minutes = data.time_limit_minutes or 90
    copy = TestSpec(is_active=False)
    _apply(copy, data)
    db.session.add(copy)
    db.session.flush()
    return copy


# ------------------------------------------------------------------------------------- bank check
def _check_section(section: TestSection, *, simulees: int, seed: int) -> dict:
    comp = section.competency
    pool = delivery.operational_items(section.competency_id)
    settings = section.settings or {}
    by_level: dict[int, int] = {}
    for item in pool:
        level = item.current.level
        by_level[level] = by_level.get(level, 0) + 1
    out: dict[str, Any] = {
        "position": section.position, "competency": comp.code, "method": section.method,
        "pool": len(pool), "by_level": {str(k): v for k, v in sorted(by_level.items())},
        "problems": [], "warnings": [],
    }
    name = comp.code
    if section.method == "fixed":
        codes = settings.get("items") or []
        if codes:
            known = {item.code for item in pool}
            missing = [c for c in codes if c not in known]
            if missing:
                out["problems"].append({"code": "bank_unknown_items",
                                        "params": {"competency": name, "codes": ", ".join(missing)}})
            out["needed"] = len(codes)
        else:
            needed = section.n_items or 0
            out["needed"] = needed
            if len(pool) < needed:
                out["problems"].append({"code": "bank_too_few", "params": {
                    "competency": name, "available": len(pool), "needed": needed}})
    elif section.method == "random":
        per_level = {int(k): int(v) for k, v in (settings.get("per_level") or {}).items()}
        if per_level:
            out["needed_by_level"] = {str(k): v for k, v in sorted(per_level.items())}
            out["needed"] = sum(per_level.values())
            for level, needed in sorted(per_level.items()):
                if by_level.get(level, 0) < needed:
                    out["problems"].append({"code": "bank_too_few_level", "params": {
                        "competency": name, "level": level, "available": by_level.get(level, 0),
                        "needed": needed}})
        else:
            needed = section.n_items or 10
            out["needed"] = needed
            if len(pool) < needed:
                out["problems"].append({"code": "bank_too_few", "params": {
                    "competency": name, "available": len(pool), "needed": needed}})
    else:
        lo = section.min_items or CAT_DEFAULT_MIN
        hi = section.max_items or CAT_DEFAULT_MAX
        se = section.se_target or CAT_DEFAULT_SE
        out["needed"] = hi
        subdomains = list((settings.get("content") or {}).get("subdomains") or [])
        known = {item.current.subdomain for item in pool if item.current.subdomain}
        unknown = sorted(set(subdomains) - known)
        if unknown:  # a typo would leave content balancing silently doing nothing
            out["problems"].append({"code": "bank_unknown_subdomains", "params": {
                "competency": name, "names": ", ".join(unknown), "known": ", ".join(sorted(known)) or "—"}})
        if len(pool) < hi:
            out["problems"].append({"code": "bank_pool_small", "params": {
                "competency": name, "available": len(pool), "needed": hi}})
        elif not unknown:
            try:
                bank = scoring.bank_of([item.current for item in pool])
            except (ValueError, TypeError) as error:
                out["problems"].append({"code": "bank_params", "params": {"competency": name, "error": str(error)}})
            else:
                content = delivery.content_targets(subdomains, [item.current.subdomain for item in pool])
                target = settings.get("exposure_max")
                # Parameters of an earlier check go: calibrated again for the design as it is now,
                # or, without a target, the items' bank-wide ones apply.
                section.settings = {k: v for k, v in settings.items() if k != "exposure_k"}
                exposure_k = [item.exposure_k for item in pool]
                if target is not None:
                    exposure_k = _calibrate_exposure(section, pool, bank, out, lo=lo, hi=hi, se=se,
                                                     content=content, simulees=simulees, seed=seed) or exposure_k
                sim = simulate_cat(bank, min_items=lo, max_items=hi, se_target=se, n_simulees=simulees, rng=seed,
                                   exposure_k=exposure_k, content=content)
                codes = {str(item.current.id): item.code for item in pool}
                out["simulation"] = sim.as_dict(codes)
                # Rates from n simulees carry binomial noise: flag only what exceeds it.
                margin = 2.0 * math.sqrt(float(target or 0) * (1.0 - float(target or 0)) / max(simulees, 1))
                if target is not None and sim.max_exposure > float(target) + margin:
                    out["warnings"].append({"code": "sim_exposure", "params": {
                        "rate": round(100 * sim.max_exposure), "target": round(100 * float(target))}})
                at_max = sim.stop_reasons.get("max_items", 0) / sim.n_simulees
                if at_max > 0.5 and lo < hi:  # a variable-length design that mostly runs to the maximum
                    out["warnings"].append({"code": "sim_length", "params": {"rate": round(100 * at_max)}})
    out["ok"] = not out["problems"]
    return out


def _calibrate_exposure(section: TestSection, pool: list[Item], bank: ItemBank, out: dict, *, lo: int, hi: int,
                        se: float, content, simulees: int, seed: int) -> Optional[list[float]]:
    """Sympson-Hetter parameters for this part's own design (length, SE target, content balance)
    at its exposure target, stored with the part for delivery to use; None if out of reach."""
    target = float(section.settings["exposure_max"])
    if target * len(pool) < hi:
        out["problems"].append({"code": "exposure_unreachable", "params": {
            "competency": section.competency.code, "target": round(100 * target), "needed": hi,
            "min_pool": math.ceil(hi / target), "available": len(pool)}})
        return None
    control = sympson_hetter(bank, target, min_items=lo, max_items=hi, se_target=se,
                             randomesque=CAT_RANDOMESQUE, content=content,
                             n_simulees=max(simulees, SH_SIMULEES), rng=seed)
    k = [round(float(v), 4) for v in control.k]
    # A new dict, so that the JSON column sees the change.
    section.settings = {**section.settings, "exposure_k": {str(item.id): v for item, v in zip(pool, k)}}
    out["exposure_control"] = {"iterations": int(control.n_iter), "converged": bool(control.converged),
                               "restricted": int(sum(v < 1.0 for v in k))}
    return k


def check_against_bank(spec: TestSpec, *, simulees: int = SIM_SIMULEES, seed: int = SIM_SEED) -> dict:
    """Check every section against the operational items now in the bank; store and return the report.

    The report (``TestSpec.validation``): ``{"ok", "checked_at", "problems", "sections": [{position,
    competency, method, pool, by_level, needed, problems, warnings, ok, simulation?}]}``.
    """
    problems = []
    if not spec.sections:
        problems.append({"code": "no_sections", "params": {}})
    if not spec.time_limit_minutes:
        problems.append({"code": "time_limit", "params": {"max": MAX_TIME_LIMIT}})
    sections = [_check_section(s, simulees=simulees, seed=seed + s.position) for s in spec.sections]
    report = {"ok": not problems and all(s["ok"] for s in sections),
              "checked_at": utcnow().isoformat(timespec="seconds"),
              "problems": problems, "sections": sections}
    spec.validation = report
    db.session.flush()
    return report


def activate(spec: TestSpec) -> dict:
    """Check the spec against the bank now and activate it if it passes; return the report."""
    report = check_against_bank(spec)
    if report["ok"]:
        spec.is_active = True
    db.session.flush()
    return report


def deactivate(spec: TestSpec) -> None:
    """Take a spec out of the choices for new waves (waves already using it keep it)."""
    spec.is_active = False
    db.session.flush()


def checked_at(report: Optional[dict]) -> Optional[datetime]:
    if not report or not report.get("checked_at"):
        return None
    return datetime.fromisoformat(report["checked_at"])


# ------------------------------------------------------------------------------------- CAT simulation
@dataclass(frozen=True)
class CatSimulation:
    """Summary of a simulated CAT administration.

    Attributes
    ----------
    theta, estimate, se : (N,) ndarray
        True abilities, final EAP estimates and posterior SDs of the simulees.
    length : (N,) ndarray of int
        Items given to each simulee.
    exposure : (J,) ndarray
        Share of simulees who were given each pool item.
    stop_reasons : dict
        Simulees per stopping reason (``max_items``, ``se_target``, ``no_items``).
    """

    theta: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    length: np.ndarray
    exposure: np.ndarray
    stop_reasons: dict
    item_ids: tuple
    seed: Optional[int] = None

    @property
    def n_simulees(self) -> int:
        return int(self.theta.size)

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean((self.estimate - self.theta) ** 2)))

    @property
    def bias(self) -> float:
        return float(np.mean(self.estimate - self.theta))

    @property
    def mean_length(self) -> float:
        return float(self.length.mean())

    @property
    def min_length(self) -> int:
        return int(self.length.min())

    @property
    def max_length(self) -> int:
        return int(self.length.max())

    @property
    def mean_se(self) -> float:
        return float(self.se.mean())

    @property
    def max_exposure(self) -> float:
        return float(self.exposure.max()) if self.exposure.size else 0.0

    @property
    def pool_used(self) -> float:
        return float(np.mean(self.exposure > 0)) if self.exposure.size else 0.0

    def as_dict(self, labels: Optional[dict] = None) -> dict:
        """JSON-ready figures; ``labels`` maps engine item ids to item codes for the top exposures."""
        labels = labels or {}
        order = np.argsort(-self.exposure, kind="stable")[:5]
        return {
            "simulees": self.n_simulees, "seed": self.seed,
            "rmse": round(self.rmse, 3), "bias": round(self.bias, 3), "mean_se": round(self.mean_se, 3),
            "mean_length": round(self.mean_length, 2), "min_length": self.min_length,
            "max_length": self.max_length, "max_exposure": round(self.max_exposure, 3),
            "pool_used": round(self.pool_used, 3),
            "stop_reasons": {k: int(v) for k, v in self.stop_reasons.items()},
            "top_exposure": [{"item": labels.get(self.item_ids[j], self.item_ids[j]),
                              "rate": round(float(self.exposure[j]), 3)} for j in order if self.exposure[j] > 0],
        }


def simulate_cat(items: ItemBank, *, min_items: int, max_items: int, se_target: float,
                 n_simulees: int = SIM_SIMULEES, randomesque: int = CAT_RANDOMESQUE,
                 rng: np.random.Generator | int | None = None,
                 theta: Optional[np.ndarray] = None, exposure_k=None, content=None) -> CatSimulation:
    """Simulate the delivery engine's CAT on ``items`` for simulees with θ ~ N(0, 1).

    The engine's own simulation (:func:`assess.irt.cat.simulate_cat`), with the settings that
    delivery uses (interim EAP, maximum information, randomesque among ``randomesque``), summarised
    for the spec check.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.2] * 40, b=np.linspace(-2, 2, 40))
    >>> sim = simulate_cat(bank, min_items=5, max_items=15, se_target=0.4, n_simulees=50, rng=1)
    >>> 5 <= sim.mean_length <= 15
    True
    """
    from assess.irt.cat import simulate_cat as engine_simulate

    if not 1 <= min_items <= max_items:
        raise ValueError(f"need 1 <= min_items <= max_items, got {min_items} and {max_items}")
    if se_target <= 0:
        raise ValueError(f"se_target must be positive, got {se_target}")
    gen = np.random.default_rng(rng)
    seed = rng if isinstance(rng, int) else None
    true = gen.standard_normal(n_simulees) if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)
    sim = engine_simulate(items, true, min_items=min_items, max_items=min(max_items, items.n_items),
                          se_target=se_target, randomesque=randomesque, rng=gen,
                          exposure_k=exposure_k, content=content)
    reasons: dict[str, int] = {}
    for reason in sim.stop_reason:
        reasons[str(reason)] = reasons.get(str(reason), 0) + 1
    return CatSimulation(theta=true, estimate=np.asarray(sim.theta), se=np.asarray(sim.se),
                         length=np.asarray(sim.n_items), exposure=np.asarray(sim.exposure),
                         stop_reasons=reasons, item_ids=items.item_ids, seed=seed)
