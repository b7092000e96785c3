"""Simulation of item parameters and responses (for tests, benchmarks and the CLI).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(7)
>>> bank = simulate_items("grm", 5, n_categories=4, rng=rng)
>>> x = simulate_responses(bank, rng.standard_normal(3), rng=rng)
>>> x.shape
(3, 5)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from assess.irt.models import DICHOTOMOUS_MODELS, MODELS, ItemBank, category_probabilities

__all__ = ["simulate_items", "simulate_responses"]


def simulate_items(
    model: str,
    n_items: int,
    *,
    n_categories: int = 4,
    rng: np.random.Generator | int | None = None,
    item_ids: Sequence[str] | None = None,
) -> ItemBank:
    """Draw plausible item parameters.

    Parameters
    ----------
    model : {"rasch", "2pl", "3pl", "grm", "gpcm"}
    n_items : int
    n_categories : int, default 4
        Categories of polytomous items (ignored for dichotomous models).
    rng : numpy Generator or seed, optional
    item_ids : sequence of str, optional

    Returns
    -------
    ItemBank

    Notes
    -----
    a ~ LogNormal(0, 0.25) clipped to [0.5, 2.5] (a = 1 for rasch); b ~ N(0, 1) clipped to
    [-2.5, 2.5]; c ~ U(0.1, 0.3) for 3pl. GRM thresholds: sorted N(0, 1) draws spread to
    at least 0.3 apart; GPCM steps: ``b + N(0, 0.7)`` around a location b ~ N(0, 0.7).
    """
    model = model.lower()
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, got {n_items}")
    if model not in DICHOTOMOUS_MODELS and n_categories < 2:
        raise ValueError(f"n_categories must be at least 2, got {n_categories}")
    gen = np.random.default_rng(rng)
    a = np.clip(gen.lognormal(0.0, 0.25, n_items), 0.5, 2.5)
    if model == "rasch":
        a = np.ones(n_items)
    if model in DICHOTOMOUS_MODELS:
        b = np.clip(gen.normal(0.0, 1.0, n_items), -2.5, 2.5)
        c = gen.uniform(0.1, 0.3, n_items) if model == "3pl" else np.zeros(n_items)
        return ItemBank.from_arrays(model, a=a, b=b, c=c, item_ids=item_ids)
    k = n_categories - 1
    if model == "grm":
        t = np.sort(gen.normal(0.0, 1.0, (n_items, k)), axis=1)
        t = t - t.mean(axis=1, keepdims=True) + gen.normal(0.0, 0.5, (n_items, 1))
        for v in range(1, k):                       # keep boundaries at least 0.3 apart
            t[:, v] = np.maximum(t[:, v], t[:, v - 1] + 0.3)
    else:
        loc = gen.normal(0.0, 0.7, (n_items, 1))
        t = loc + np.sort(gen.normal(0.0, 0.7, (n_items, k)), axis=1)
    return ItemBank.from_arrays(model, a=a, thresholds=t, item_ids=item_ids)


def simulate_responses(
    items: ItemBank,
    theta: ArrayLike,
    *,
    rng: np.random.Generator | int | None = None,
    administered: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """Draw responses of persons with abilities ``theta`` to ``items``.

    Parameters
    ----------
    items : ItemBank
        J items.
    theta : (N,) array_like
    rng : numpy Generator or seed, optional
    administered : (N, J) array_like of bool, optional
        False where an item is not administered (its response becomes -1).

    Returns
    -------
    (N, J) ndarray of int
        Categories ``0..K_j-1``; ``-1`` where not administered.
    """
    gen = np.random.default_rng(rng)
    th = np.asarray(theta, dtype=np.float64).reshape(-1)
    p = category_probabilities(items, th)                       # (N, J, K)
    cum = np.cumsum(p, axis=2)
    u = gen.random((th.size, items.n_items, 1))
    x = np.sum(u > cum[:, :, :-1], axis=2).astype(np.int64)
    x = np.minimum(x, items.n_categories[None, :] - 1)
    if administered is not None:
        adm = np.asarray(administered, dtype=bool)
        if adm.shape != x.shape:
            raise ValueError(f"administered must have shape {x.shape}, got {adm.shape}")
        x[~adm] = -1
    return x
