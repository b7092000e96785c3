"""Linking two calibrations through their common (anchor) items.

A calibration identifies its scale by θ ~ N(0, 1) in its own population, so two
calibrations of different groups sit on scales related by ``θ_base = A θ_new + B``. The
new calibration's items move onto the base scale by

    a* = a / A,   b* = A b + B,   b_k* = A b_k + B,   c* = c.

Methods: ``mean-mean`` (Loyd & Hoover, 1980), ``mean-sigma`` (Marco, 1977) and the
characteristic-curve methods ``haebara`` (Haebara, 1980) and ``stocking-lord``
(Stocking & Lord, 1983), minimised by BFGS started at the mean-sigma solution, either on
the base scale over a N(0, 1) quadrature (non-symmetric criteria, the default) or, with
``symmetric=True``, on both scales: the base-scale criterion plus the same criterion on
the new scale (base anchors moved back onto it, N(0, 1) of the new group), so the result
no longer depends on which calibration is called the base (Haebara, 1980; Kim & Lee, 2006).

References
----------
Kolen, M. J., & Brennan, R. L. (2014). *Test equating, scaling, and linking* (3rd ed.),
ch. 6. Springer.
Haebara, T. (1980). Equating logistic ability scales by a weighted least squares method.
*Japanese Psychological Research*, 22(3), 144-149.
Kim, S., & Lee, W.-C. (2006). An extension of four IRT linking methods for mixed-format
tests. *Journal of Educational Measurement*, 43(1), 53-76.
Kim, S.-H., & Kolen, M. J. (2005). Methods for obtaining a common scale under unidimensional
IRT models: Polytomous items. *Applied Psychological Measurement*, 29(3), 164-174.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from assess.irt.models import ItemBank, category_probabilities

__all__ = ["LINKING_METHODS", "LinkingResult", "transform_bank", "link"]

LINKING_METHODS: tuple[str, ...] = ("mean-mean", "mean-sigma", "haebara", "stocking-lord")

_F = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LinkingResult:
    """Result of :func:`link`.

    Attributes
    ----------
    A, B : float
        Slope and intercept: ``θ_base = A θ_new + B``.
    method : str
    items : ItemBank
        The whole new bank on the base scale.
    anchors : tuple of str
        The anchor item ids used.
    loss : float
        Value of the characteristic-curve criterion at (A, B) (NaN for the moment methods).
    converged : bool
    """

    A: float
    B: float
    method: str
    items: ItemBank
    anchors: tuple[str, ...]
    loss: float
    converged: bool


def transform_bank(bank: ItemBank, A: float, B: float) -> ItemBank:
    """Put a bank on another scale: ``θ* = A θ + B``.

    Parameters
    ----------
    bank : ItemBank
    A : float
        Slope, > 0 (exactly 1 when the bank holds rasch items, whose a is fixed at 1).
    B : float

    Returns
    -------
    ItemBank
        ``a / A``, ``A b + B``, ``A b_k + B``; c unchanged.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.2], b=[0.5])
    >>> t = transform_bank(bank, 2.0, -1.0)
    >>> float(t.a[0]), float(t.b[0])
    (0.6, 0.0)
    """
    if not (np.isfinite(A) and A > 0 and np.isfinite(B)):
        raise ValueError(f"A must be finite and positive and B finite, got A={A}, B={B}")
    if "rasch" in bank.model and A != 1.0:
        raise ValueError(f"a bank with rasch items can only be shifted (A = 1), got A={A}")
    recs = bank.to_records()
    for r in recs:
        r["a"] = r["a"] / A
        if r.get("b") is not None:
            r["b"] = A * r["b"] + B
        if r.get("thresholds"):
            r["thresholds"] = [A * t + B for t in r["thresholds"]]
    return ItemBank.from_records(recs)


def _locations(bank: ItemBank) -> _F:
    """All location parameters (b of dichotomous items, b_k of polytomous ones)."""
    out = [bank.b[np.isfinite(bank.b)], bank.thresholds[np.isfinite(bank.thresholds)]]
    return np.concatenate(out)


def link(
    base: ItemBank,
    new: ItemBank,
    *,
    method: str = "stocking-lord",
    anchors: Sequence[str] | None = None,
    n_quad: int = 41,
    symmetric: bool = False,
) -> LinkingResult:
    """Linking constants that put ``new`` on the scale of ``base``.

    Parameters
    ----------
    base : ItemBank
        Reference calibration.
    new : ItemBank
        Calibration to transform; shares the anchor items (same ids, models and numbers
        of categories) with ``base``.
    method : {"mean-mean", "mean-sigma", "haebara", "stocking-lord"}
    anchors : sequence of str, optional
        Anchor item ids; default every id the two banks share.
    n_quad : int, default 41
        Quadrature points on [-4, 4] with N(0, 1) weights (base scale) for the
        characteristic-curve criteria.
    symmetric : bool, default False
        Characteristic-curve methods only: add the criterion on the new scale (see Notes).

    Returns
    -------
    LinkingResult

    Notes
    -----
    Over the anchors (``a``: slopes, ``b``: all location parameters b and b_k)::

        mean-mean:     A = mean(a_new) / mean(a_base),   B = mean(b_base) - A mean(b_new)
        mean-sigma:    A = sd(b_base) / sd(b_new),       B = mean(b_base) - A mean(b_new)
        haebara:       min Σ_q w_q Σ_j Σ_k (P_jk(θ_q; base) - P_jk(θ_q; new*))²
        stocking-lord: min Σ_q w_q (Σ_j E_j(θ_q; base) - Σ_j E_j(θ_q; new*))²

    with ``new*`` the new anchors transformed by (A, B) and E_j the expected item score.
    When the anchors include rasch items, A is fixed at 1 and only B is estimated.

    Symmetric criteria add the same sum on the new scale, over N(0, 1) weights of the new
    group, between the new anchors and the base anchors moved onto the new scale by the
    inverse map ``θ_new = (θ_base - B) / A`` (base anchors evaluated at ``A θ + B``)::

        F(A, B) = F_base(A, B) + F_new(A, B)

    so that linking new to base and base to new give inverse transformations exactly.

    Examples
    --------
    >>> from assess.irt import simulate_items
    >>> base = simulate_items("2pl", 10, rng=0)
    >>> new = transform_bank(base, 1 / 1.5, -0.2 / 1.5)      # θ_new = (θ_base - 0.2) / 1.5
    >>> r = link(base, new, method="haebara")
    >>> round(r.A, 6), round(r.B, 6)
    (1.5, 0.2)
    """
    if method not in LINKING_METHODS:
        raise ValueError(f"unknown linking method {method!r}; expected one of "
                         f"{', '.join(LINKING_METHODS)}")
    if not isinstance(base, ItemBank) or not isinstance(new, ItemBank):
        raise ValueError("base and new must be ItemBank objects")
    ids = list(anchors) if anchors is not None else [i for i in new.item_ids
                                                     if i in set(base.item_ids)]
    if len(ids) < 2:
        raise ValueError(f"linking needs at least 2 anchor items, got {len(ids)}")
    for i in ids:
        if i not in base.item_ids or i not in new.item_ids:
            raise ValueError(f"anchor item {i!r} is not in both banks")
        jb, jn = base.index(i), new.index(i)
        if base.model[jb] != new.model[jn] or base.n_categories[jb] != new.n_categories[jn]:
            raise ValueError(f"anchor item {i!r} has a different model or number of "
                             "categories in the two banks")
    ab, an = base.subset(ids), new.subset(ids)
    fix_a = "rasch" in ab.model
    lb, ln = _locations(ab), _locations(an)
    B_of = (lambda A: float(np.mean(lb) - A * np.mean(ln)))
    if fix_a:
        A0 = 1.0
    elif method == "mean-mean":
        A0 = float(np.mean(an.a) / np.mean(ab.a))
    else:
        sd_n = float(np.std(ln))
        if sd_n <= 0:
            raise ValueError("the anchors' location parameters do not vary: mean-sigma and "
                             "the characteristic-curve start are undefined")
        A0 = float(np.std(lb) / sd_n)
    B0 = B_of(A0)
    if symmetric and method in ("mean-mean", "mean-sigma"):
        raise ValueError(f"symmetric applies to haebara and stocking-lord, not {method}")
    if method in ("mean-mean", "mean-sigma"):
        return LinkingResult(A0, B0, method, transform_bank(new, A0, B0), tuple(ids),
                             float("nan"), True)

    nodes = np.linspace(-4.0, 4.0, n_quad)
    w = np.exp(-0.5 * nodes**2)
    w /= w.sum()
    p_base = category_probabilities(ab, nodes)                  # (Q, J, K)
    kk = np.arange(p_base.shape[2])
    tcc_base = (p_base @ kk).sum(axis=1)

    p_new_own = category_probabilities(an, nodes)               # new anchors, new scale
    tcc_new_own = (p_new_own @ kk).sum(axis=1)

    def criterion(p_ref: _F, tcc_ref: _F, p_moved: _F) -> float:
        if method == "haebara":
            return float(np.sum(w[:, None, None] * (p_ref - p_moved) ** 2))
        return float(np.sum(w * (tcc_ref - (p_moved @ kk).sum(axis=1)) ** 2))

    def loss(par: _F) -> float:
        A = 1.0 if fix_a else float(np.exp(par[0]))
        B = float(par[-1])
        # new* at θ_base equals new at θ_new = (θ_base - B) / A
        total = criterion(p_base, tcc_base, category_probabilities(an, (nodes - B) / A))
        if symmetric:   # base anchors moved onto the new scale: base at θ_base = A θ + B
            total += criterion(p_new_own, tcc_new_own,
                               category_probabilities(ab, A * nodes + B))
        return total

    start = np.array([B0]) if fix_a else np.array([np.log(A0), B0])
    res = minimize(loss, start, method="BFGS", options={"gtol": 1e-10})
    A = 1.0 if fix_a else float(np.exp(res.x[0]))
    B = float(res.x[-1])
    return LinkingResult(A, B, method, transform_bank(new, A, B), tuple(ids), float(res.fun),
                         bool(res.success) or res.fun < 1e-12)
