"""Scoring attempts with the IRT engine: one EAP estimate per competency, its level and fit.

Item parameters come from the item *versions* the participant saw (pinned in the attempt's form
and on each response), so later edits to the bank never change an old score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np
from sqlalchemy import delete, select

from assess.extensions import db
from assess.irt import estimation
from assess.irt.models import ItemBank
from assess.models import Attempt, Competency, ItemVersion, Response, Score, utcnow

LIKERT_POINTS = 5


def n_categories(version: ItemVersion) -> int:
    if version.item_type == "mc":
        return 2
    if version.item_type == "likert":
        return LIKERT_POINTS
    return len(version.options)


def irt_record(version: ItemVersion) -> dict:
    """The engine's view of an item version (``ItemBank.from_records`` format)."""
    record = {"item_id": str(version.id), "model": version.irt_model, "a": version.a}
    if version.irt_model in ("rasch", "2pl", "3pl"):
        record.update(b=version.b, c=version.c or 0.0)
        if version.irt_model == "rasch":
            record["a"] = 1.0
    else:
        record["thresholds"] = list(version.thresholds or [])
    return record


def bank_of(versions: Sequence[ItemVersion]) -> ItemBank:
    return ItemBank.from_records([irt_record(v) for v in versions])


def category_of(version: ItemVersion, choice: int) -> tuple[int, int]:
    """Map a chosen option (canonical index) to (IRT category, points).

    mc: the key is category 1 (1 point), any other option 0. sjt: the option's score is the points,
    its rank among the item's scores the category. likert: answer x = choice + 1 (1..5) is
    category x - 1, or 5 - x when the item is reverse-keyed; points are category + 1.
    """
    if version.item_type == "likert":
        if not 0 <= choice < LIKERT_POINTS:
            raise ValueError(f"choice {choice} out of range for a Likert item")
        x = choice + 1
        category = LIKERT_POINTS - x if version.reverse_keyed else x - 1
        return category, category + 1
    options = version.options
    if not 0 <= choice < len(options):
        raise ValueError(f"choice {choice} out of range for {len(options)} options")
    score = int(options[choice]["score"])
    if version.item_type == "mc":
        return (1 if score == 1 else 0), score
    ranks = sorted({int(o["score"]) for o in options})
    return ranks.index(score), score


def level_of(theta: float, cut_scores: Iterable[float]) -> int:
    """Proficiency level 1..5: one more than the number of cut scores at or below θ."""
    return 1 + int(sum(theta >= c for c in cut_scores))


@dataclass(frozen=True)
class CompetencyScore:
    competency_id: int
    theta: float
    se: float
    level: int
    n_items: int
    version_ids: list


def score_with_fit(versions: Sequence[ItemVersion], categories: Sequence[int],
                   cut_scores: Sequence[float]) -> tuple[float, float, int, Optional[float]]:
    """EAP θ, posterior SD, level and person fit lz* (None when it is undefined)."""
    from assess.irt.fit import person_fit_lz_star

    bank = bank_of(versions)
    responses = np.asarray([categories], dtype=np.int64)
    est = estimation.eap(responses, bank)
    theta, se = float(est.theta[0]), float(est.se[0])
    lz = float(person_fit_lz_star(responses, bank, est.theta, estimator="eap")[0])
    return theta, se, level_of(theta, cut_scores), (lz if np.isfinite(lz) else None)


def compatible(old: ItemVersion, new: ItemVersion) -> bool:
    """A newer version can rescore an old answer only if the answer still means the same thing."""
    return (old.item_type == new.item_type and old.reverse_keyed == new.reverse_keyed
            and [o.get("score") for o in old.options] == [o.get("score") for o in new.options])


def compute_scores(attempt: Attempt, *, current_parameters: bool = False) -> list[dict]:
    """Scores of the attempt's competencies from its saved responses, without writing anything.

    ``current_parameters``: use each item's current version where it is compatible with the one
    the participant saw (a parameter update), instead of the pinned version.
    """
    from assess.models import Item

    rows = db.session.execute(
        select(Response, ItemVersion)
        .join(ItemVersion, Response.item_version_id == ItemVersion.id)
        .where(Response.attempt_id == attempt.id, Response.category.is_not(None))
    ).all()
    by_item = {response.item_id: (response, version) for response, version in rows}
    if current_parameters and by_item:
        items = {i.id: i for i in db.session.execute(select(Item).where(Item.id.in_(list(by_item)))).scalars()}
        for item_id, (response, version) in list(by_item.items()):
            newest = items[item_id].current
            if newest.id != version.id and compatible(version, newest):
                by_item[item_id] = (response, newest)
    out = []
    for section in attempt.form.get("sections", []):
        competency = db.session.get(Competency, section["competency_id"])
        answered = [by_item[e["item_id"]] for e in section["items"] if e["item_id"] in by_item]
        versions = [v for _, v in answered]
        if answered:
            theta, se, level, lz = score_with_fit(versions, [r.category for r, _ in answered], competency.cut_scores)
        else:
            theta, se, level, lz = 0.0, 1.0, level_of(0.0, competency.cut_scores), None
        out.append({"competency_id": competency.id, "theta": theta, "se": se, "level": level,
                    "person_fit": lz, "n_items": len(answered), "item_versions": [v.id for v in versions]})
    return out


def score_attempt(attempt: Attempt, *, current_parameters: bool = False) -> list[Score]:
    """(Re)compute and store the attempt's Score rows from its saved responses; flush.

    Every competency of the attempt's form gets a score; one with no answered item gets the
    prior (θ = 0, SE = 1) and n_items = 0, so that a missing section is visible, not hidden.
    """
    computed = compute_scores(attempt, current_parameters=current_parameters)
    db.session.execute(delete(Score).where(Score.attempt_id == attempt.id))
    scores = []
    for values in computed:
        score = Score(attempt_id=attempt.id, method="eap", scored_at=utcnow(), **values)
        db.session.add(score)
        scores.append(score)
    attempt.scored_at = utcnow()
    db.session.flush()
    return scores
