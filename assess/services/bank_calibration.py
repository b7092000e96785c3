"""Calibrating pilot items from collected responses, on the scale of the operational items.

A run gathers the responses of finished attempts (submitted or expired) to a competency's pilot
and operational items, each to the item's current version (the version whose scoring produced
the category). Operational items are anchors held at their parameters, so the latent mean and
SD of the sample are estimated and the pilot items land on the operational scale: fixed item
parameter calibration, and the scale does not drift. The run then scores every person (EAP) and
computes infit and outfit mean squares for every item, flags the misfitting ones, and keeps the
proposal until an admin accepts it: accepted parameters become a new version of each item.

Runs are rows (:class:`~assess.models.CalibrationRun`): the page that started one polls its
progress, and any web process can answer. :func:`execute_run` is a job boundary: it commits its
progress and result itself. The web starts it in a background thread (inline under testing);
the CLI runs it in the foreground.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Optional

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from assess.extensions import db
from assess.models import Attempt, CalibrationRun, Competency, Item, ItemVersion, Response, User, utcnow
from assess.services import audit
from assess.services.bank import (
    DICHOTOMOUS, LIKERT_OPTIONS, BankProblem, current_fields, irt_bank, item_to_raw, validate_item,
)

FINISHED = ("submitted", "expired")
FIT_RANGE = (0.7, 1.3)
MIN_SLOPE = 0.3
MAX_SE = 0.5
FEW_RESPONSES = 100
STALE_AFTER = timedelta(minutes=10)
PROGRESS_EVERY = 0.5  # seconds between progress commits
DECIMALS = 3

FLAG_LABELS = {
    "infit": _l("infit outside 0.7–1.3"),
    "outfit": _l("outfit outside 0.7–1.3"),
    "low_slope": _l("slope below 0.3 (weak discrimination)"),
    "large_se": _l("standard error above 0.5"),
    "few_responses": _l("fewer than 100 responses"),
    "invalid": _l("parameters outside the allowed ranges"),
    "not_converged": _l("the calibration did not converge"),
}
STAGE_LABELS = {
    "queued": _l("Waiting to start"),
    "gathering": _l("Gathering responses"),
    "calibrating": _l("Estimating parameters"),
    "fit": _l("Computing fit statistics"),
    "done": _l("Finished"),
    "failed": _l("Failed"),
}


class CalibrationError(ValueError):
    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


def n_categories(version: ItemVersion) -> int:
    if version.item_type == "mc":
        return 2
    if version.item_type == "likert":
        return LIKERT_OPTIONS
    return len(version.options)


@dataclass
class Dataset:
    responses: np.ndarray          # (persons, items), -1 where not administered
    codes: list[str]
    versions: list[ItemVersion]
    statuses: list[str]
    counts: np.ndarray             # responses per column

    @property
    def anchor_columns(self) -> list[int]:
        return [j for j, s in enumerate(self.statuses) if s == "operational"]

    @property
    def pilot_columns(self) -> list[int]:
        return [j for j, s in enumerate(self.statuses) if s == "pilot"]


def gather(competency: Competency) -> Dataset:
    """Responses of finished attempts to the current versions of pilot and operational items."""
    items = db.session.execute(
        select(Item).where(Item.competency_id == competency.id, Item.status.in_(("pilot", "operational")))
        .order_by(Item.code)).scalars().all()
    current = {item.id: item.current for item in items}
    rows = db.session.execute(
        select(Response.attempt_id, Response.item_id, Response.item_version_id, Response.category)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Item, Item.id == Response.item_id)
        .where(Item.competency_id == competency.id, Item.status.in_(("pilot", "operational")),
               Attempt.status.in_(FINISHED), Response.category.is_not(None))
    ).all()
    used = [r for r in rows if r.item_id in current and r.item_version_id == current[r.item_id].id]
    code_of = {item.id: item.code for item in items}
    columns = sorted({r.item_id for r in used}, key=code_of.__getitem__)
    col = {item_id: j for j, item_id in enumerate(columns)}
    persons = {a: i for i, a in enumerate(sorted({r.attempt_id for r in used}))}
    x = np.full((len(persons), len(columns)), -1, dtype=np.int64)
    for r in used:
        x[persons[r.attempt_id], col[r.item_id]] = r.category
    by_id = {item.id: item for item in items}
    return Dataset(
        responses=x, codes=[by_id[i].code for i in columns], versions=[current[i] for i in columns],
        statuses=[by_id[i].status for i in columns], counts=(x >= 0).sum(axis=0),
    )


def item_fit(x: np.ndarray, bank, theta: np.ndarray, chunk: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Infit and outfit mean squares of every item at the persons' θ estimates.

    Notes
    -----
    With expected score E = Σ k P_k(θ) and variance W = Σ k² P_k(θ) - E²: outfit is the mean
    of (x - E)² / W over the persons who answered, infit Σ (x - E)² / Σ W (Wright & Masters,
    1982). Both are near 1 when the model fits; values far above 1 mean noise, far below
    redundancy.
    """
    from assess.irt import category_probabilities

    J = x.shape[1]
    sq = np.zeros(J)
    var = np.zeros(J)
    ratio = np.zeros(J)
    n = np.zeros(J)
    for start in range(0, x.shape[0], chunk):
        xs = x[start:start + chunk]
        p = category_probabilities(bank, theta[start:start + chunk])
        k = np.arange(p.shape[2])
        expected = np.sum(p * k, axis=2)
        w = np.maximum(np.sum(p * k ** 2, axis=2) - expected ** 2, 1e-9)
        mask = xs >= 0
        r2 = np.where(mask, (xs - expected) ** 2, 0.0)
        sq += r2.sum(axis=0)
        var += np.where(mask, w, 0.0).sum(axis=0)
        ratio += np.where(mask, r2 / w, 0.0).sum(axis=0)
        n += mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sq / var, ratio / n


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None or not np.isfinite(value) else round(float(value), DECIMALS)


def _params(record: dict) -> dict:
    out: dict[str, Any] = {"a": _round(record["a"])}
    if record["model"] in DICHOTOMOUS:
        out["b"] = _round(record["b"])
        if record["model"] == "3pl":
            out["c"] = _round(record["c"])
    else:
        out["thresholds"] = [_round(t) for t in record["thresholds"]]
    return out


def _version_params(version: ItemVersion) -> dict:
    out: dict[str, Any] = {"a": version.a}
    if version.irt_model in DICHOTOMOUS:
        out["b"] = version.b
        if version.irt_model == "3pl":
            out["c"] = version.c
    else:
        out["thresholds"] = list(version.thresholds or [])
    return out


def _valid(item_version: ItemVersion, code: str, params: dict) -> bool:
    raw = item_to_raw(item_version.item, item_version)
    raw["irt"] = {"model": item_version.irt_model, **{k: v for k, v in params.items() if v is not None}}
    problems: list[BankProblem] = []
    validate_item(raw, problems, code, [raw["stimulus"]] if raw.get("stimulus") else [])
    return not problems


# ----------------------------------------------------------------------------- runs
def start_run(competency: Competency, *, actor: Optional[User], min_responses: int = 50) -> CalibrationRun:
    run = CalibrationRun(competency_id=competency.id, status="running", created_by_id=actor.id if actor else None,
                         settings={"min_responses": int(min_responses)},
                         progress={"stage": "queued", "iteration": 0})
    db.session.add(run)
    db.session.flush()
    audit.record("bank.calibration_start", actor=actor, target=run,
                 actor_label=None if actor else "cli",
                 detail={"competency": competency.code, "min_responses": int(min_responses)})
    return run


def _set_progress(run: CalibrationRun, **progress) -> None:
    run.progress = {**(run.progress or {}), **progress}
    run.updated_at = utcnow()
    db.session.commit()


def execute_run(run_id: int, on_progress: Optional[Callable[[dict], None]] = None) -> CalibrationRun:
    """Run a calibration to the end (a job boundary: commits progress and the result)."""
    run = db.session.get(CalibrationRun, run_id)
    if run is None:
        raise LookupError(f"no calibration run {run_id}")
    try:
        _execute(run, on_progress)
    except Exception as error:  # noqa: BLE001 - any failure is reported on the run
        db.session.rollback()
        run = db.session.get(CalibrationRun, run_id)
        run.status = "failed"
        run.error = getattr(error, "message", None) and str(error.message) or str(error)
        run.finished_at = utcnow()
        run.progress = {**(run.progress or {}), "stage": "failed"}
        db.session.commit()
        if not isinstance(error, CalibrationError):
            import logging

            logging.getLogger(__name__).exception("calibration run %s failed", run_id)
    return run


def _execute(run: CalibrationRun, on_progress: Optional[Callable[[dict], None]]) -> None:
    from assess.irt import calibrate, eap

    def report(**progress):
        _set_progress(run, **progress)
        if on_progress:
            on_progress(dict(run.progress))

    competency = db.session.get(Competency, run.competency_id)
    report(stage="gathering", iteration=0)
    data = gather(competency)
    pilots, anchors = data.pilot_columns, data.anchor_columns
    report(stage="gathering", persons=int(data.responses.shape[0]), pilot_items=len(pilots), anchor_items=len(anchors))
    if not pilots:
        raise CalibrationError(_l("No pilot item of %(c)s has responses from finished attempts.", c=competency.code))
    anchor_bank = irt_bank((data.codes[j], data.versions[j]) for j in anchors) if anchors else None
    models = [data.versions[j].irt_model for j in range(len(data.codes))]
    categories = [n_categories(v) for v in data.versions]
    last = [0.0]

    def progress(iteration: int, loglik: float, change: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            report(stage="calibrating", iteration=int(iteration), loglik=float(loglik), change=float(change))

    report(stage="calibrating", iteration=0)
    fit = calibrate(data.responses, models, item_ids=data.codes, n_categories=categories, anchors=anchor_bank,
                    min_responses=int((run.settings or {}).get("min_responses", 50)), progress=progress)
    report(stage="fit", iteration=int(fit.n_iter))
    kept = [data.codes.index(code) for code in fit.items.item_ids]
    x = data.responses[:, kept]
    scores = eap(x, fit.items, prior_mean=float(fit.latent_mean), prior_sd=float(fit.latent_sd))
    infit, outfit = item_fit(x, fit.items, scores.theta)
    records = {r["item_id"]: r for r in fit.items.to_records()}
    se_records = {}
    for j, code in enumerate(fit.se.item_ids):
        se_records[code] = {"a": fit.se.a[j], "b": fit.se.b[j], "c": fit.se.c[j],
                            "thresholds": list(fit.se.thresholds[j])}
    items_out = []
    for position, code in enumerate(fit.items.item_ids):
        j = data.codes.index(code)
        version = data.versions[j]
        pilot = data.statuses[j] == "pilot"
        flags = []
        if not FIT_RANGE[0] <= infit[position] <= FIT_RANGE[1]:
            flags.append("infit")
        if not FIT_RANGE[0] <= outfit[position] <= FIT_RANGE[1]:
            flags.append("outfit")
        entry: dict[str, Any] = {
            "code": code, "item_id": version.item_id, "version_id": version.id, "version": version.version,
            "model": version.irt_model, "role": "pilot" if pilot else "anchor", "n": int(data.counts[j]),
            "old": _version_params(version), "infit": _round(infit[position]), "outfit": _round(outfit[position]),
        }
        if pilot:
            new = _params(records[code])
            se = se_records.get(code, {})
            k = 0 if version.irt_model in DICHOTOMOUS else categories[j] - 1
            se_values = [se.get("a"), se.get("b"), *(se.get("thresholds") or [])[:k]]
            entry["new"] = new
            entry["se"] = {"a": _round(se.get("a")), "b": _round(se.get("b")), "c": _round(se.get("c")),
                           "thresholds": [_round(t) for t in (se.get("thresholds") or [])[:k]]}
            if new["a"] is not None and new["a"] < MIN_SLOPE:
                flags.append("low_slope")
            if any(v is not None and np.isfinite(v) and v > MAX_SE for v in se_values):
                flags.append("large_se")
            if entry["n"] < FEW_RESPONSES:
                flags.append("few_responses")
            if not fit.converged:
                flags.append("not_converged")
            entry["acceptable"] = _valid(version, code, new)
            if not entry["acceptable"]:
                flags.append("invalid")
        entry["flags"] = flags
        items_out.append(entry)
    run.result = {
        "persons": int(fit.n_persons), "converged": bool(fit.converged), "iterations": int(fit.n_iter),
        "loglik": float(fit.loglik), "elapsed": round(float(fit.elapsed), 3),
        "latent_mean": _round(fit.latent_mean), "latent_sd": _round(fit.latent_sd),
        "anchors": list(fit.anchors), "warnings": list(fit.warnings),
        "problems": [{"code": p.item_id, "reason": p.reason, "n": int(p.n_responses), "message": p.message}
                     for p in fit.problems],
        "items": items_out,
    }
    run.status = "done"
    run.finished_at = utcnow()
    report(stage="done", iteration=int(fit.n_iter))


def refresh(run: CalibrationRun) -> CalibrationRun:
    """Mark a run whose worker went silent (a restarted server) as failed."""
    if run.status == "running" and run.updated_at < utcnow() - STALE_AFTER:
        run.status = "failed"
        run.error = "the calibration stopped without finishing (was the server restarted?)"
        run.finished_at = utcnow()
        db.session.flush()
    return run


def launch(app, run_id: int) -> None:
    """Run in a background thread of this process; inline when testing (or configured so)."""
    if app.config.get("TESTING") or app.config.get("BANK_CALIBRATION_INLINE"):
        execute_run(run_id)
        return

    def main():
        with app.app_context():
            try:
                execute_run(run_id)
            finally:
                db.session.remove()

    threading.Thread(target=main, name=f"calibration-{run_id}", daemon=True).start()


def status_payload(run: CalibrationRun) -> dict:
    progress = run.progress or {}
    return {"id": run.id, "status": run.status, "stage": progress.get("stage"),
            "stage_label": str(STAGE_LABELS.get(progress.get("stage"), progress.get("stage") or "")),
            "iteration": progress.get("iteration"), "loglik": progress.get("loglik"),
            "persons": progress.get("persons"), "error": run.error}


def default_selection(run: CalibrationRun) -> list[str]:
    return [i["code"] for i in (run.result or {}).get("items", [])
            if i["role"] == "pilot" and i.get("acceptable") and not i["flags"]]


def accept(run: CalibrationRun, codes: list[str], *, actor: Optional[User]) -> list[ItemVersion]:
    """Write the run's parameters of the chosen pilot items as their new, calibrated versions."""
    if run.status != "done":
        raise CalibrationError(_l("Only a finished calibration can be accepted."))
    if run.accepted_at is not None:
        raise CalibrationError(_l("This calibration was already accepted."))
    proposals = {i["code"]: i for i in run.result.get("items", []) if i["role"] == "pilot"}
    unknown = [c for c in codes if c not in proposals]
    if unknown:
        raise CalibrationError(_l("Not pilot items of this run: %(c)s", c=", ".join(unknown)))
    refused = [c for c in codes if not proposals[c].get("acceptable")]
    if refused:
        raise CalibrationError(_l("Parameters outside the allowed ranges cannot be accepted: %(c)s",
                                  c=", ".join(refused)))
    if not codes:
        raise CalibrationError(_l("Choose at least one item."))
    created = []
    for code in codes:
        proposal = proposals[code]
        item = db.session.get(Item, proposal["item_id"])
        if item is None or item.status != "pilot" or item.current.id != proposal["version_id"]:
            raise CalibrationError(_l("Item %(c)s changed after this calibration; run it again.", c=code))
        previous = item.current
        fields = current_fields(previous)
        fields.pop("stimulus")
        fields.update(a=proposal["new"]["a"], b=proposal["new"].get("b"), c=proposal["new"].get("c"),
                      thresholds=proposal["new"].get("thresholds"), calibrated=True)
        if fields["irt_model"] in ("rasch", "2pl"):
            fields["c"] = 0.0
        item.current_version += 1
        version = ItemVersion(version=item.current_version, stimulus_id=previous.stimulus_id,
                              created_by_id=actor.id if actor else None,
                              change_note=f"calibration run {run.id}", **fields)
        item.versions.append(version)
        created.append(version)
    run.accepted_at = utcnow()
    run.accepted_by_id = actor.id if actor else None
    run.accepted_items = list(codes)
    db.session.flush()
    audit.record("bank.calibration_accept", actor=actor, target=run, actor_label=None if actor else "cli",
                 detail={"competency": run.competency.code, "items": list(codes)})
    return created
