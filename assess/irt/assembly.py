"""Fixed-form assembly by mixed-integer programming, marginal reliability and information curves.

References
----------
van der Linden, W. J. (2005). *Linear models for optimal test design*. Springer.
Green, B. F., Bock, R. D., Humphreys, L. G., Linn, R. L., & Reckase, M. D. (1984).
Technical guidelines for assessing computerized adaptive tests. *Journal of Educational
Measurement*, 21(4), 347-360 (marginal reliability).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from assess.irt.models import ItemBank, item_information

__all__ = ["AssembledForm", "assemble_form", "information_curve", "marginal_reliability",
           "cat_marginal_reliability"]

_F = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AssembledForm:
    """Result of :func:`assemble_form`.

    Attributes
    ----------
    items : (n,) ndarray of int
        Positions in the bank, ascending.
    item_ids : tuple of str
    theta : (P,) ndarray
        The θ points of the targets.
    information : (P,) ndarray
        Test information of the form at ``theta``.
    target : (P,) ndarray
    max_excess : float
        ``max_p (information_p - target_p)``, the minimised objective.
    """

    items: NDArray[np.int64]
    item_ids: tuple[str, ...]
    theta: _F
    information: _F
    target: _F
    max_excess: float


def assemble_form(
    bank: ItemBank,
    theta: ArrayLike,
    target: ArrayLike,
    *,
    min_items: int,
    max_items: int,
    labels: Sequence[str] | None = None,
    content: Mapping[str, tuple[int, int]] | None = None,
    exclude: ArrayLike | None = None,
    time_limit: float = 20.0,
) -> AssembledForm:
    """Assemble a fixed form meeting target information under content and length limits.

    Parameters
    ----------
    bank : ItemBank
        J items.
    theta : (P,) array_like
        Ability points where the targets apply.
    target : (P,) array_like
        Required test information at each point.
    min_items, max_items : int
        Form length bounds.
    labels : sequence of str, length J, optional
        Content area of each item (required with ``content``).
    content : mapping str → (lo, hi), optional
        Number of items of each content area on the form, inclusive bounds.
    exclude : array_like of int, optional
        Item positions that may not be used.
    time_limit : float, default 20
        Seconds given to the solver (HiGHS through :func:`scipy.optimize.milp`).

    Returns
    -------
    AssembledForm

    Raises
    ------
    ValueError
        "the constraints cannot all be met: ..." when no form satisfies them, naming the
        first obviously violated constraint when there is one.

    Notes
    -----
    With binary ``x_j`` (item j on the form), ``I_pj = I_j(θ_p)`` and a continuous ``y``::

        minimise y
        subject to  T_p ≤ Σ_j I_pj x_j ≤ T_p + y      for every point p
                    min_items ≤ Σ_j x_j ≤ max_items
                    lo_c ≤ Σ_{j in c} x_j ≤ hi_c       for every content area c
                    x_j = 0                             for excluded items

    i.e. the form that reaches every target and overshoots it least (van der Linden,
    2005, minimax model).

    Examples
    --------
    >>> from assess.irt import simulate_items
    >>> bank = simulate_items("2pl", 60, rng=0)
    >>> f = assemble_form(bank, [-1, 0, 1], [3, 4, 3], min_items=10, max_items=20)
    >>> bool(np.all(f.information >= [3, 4, 3]))
    True
    """
    if not isinstance(bank, ItemBank):
        raise ValueError(f"bank must be an ItemBank, got {type(bank).__name__}")
    th = np.asarray(theta, dtype=np.float64).reshape(-1)
    tg = np.asarray(target, dtype=np.float64).reshape(-1)
    if th.size == 0 or th.shape != tg.shape:
        raise ValueError(f"theta and target must have the same non-zero length, got "
                         f"{th.size} and {tg.size}")
    if not (np.all(np.isfinite(th)) and np.all(np.isfinite(tg)) and np.all(tg >= 0)):
        raise ValueError("theta must be finite and target finite and non-negative")
    J = bank.n_items
    if not (0 <= min_items <= max_items):
        raise ValueError(f"need 0 ≤ min_items ≤ max_items, got {min_items} and {max_items}")
    if content is not None and labels is None:
        raise ValueError("content bounds need labels (the content area of each item)")
    if labels is not None and len(labels) != J:
        raise ValueError(f"labels has {len(labels)} entries but the bank has {J} items")
    allowed = np.ones(J, dtype=bool)
    if exclude is not None:
        exc = np.asarray(exclude, dtype=np.int64).reshape(-1)
        if exc.size and (exc.min() < 0 or exc.max() >= J):
            raise ValueError(f"exclude holds positions outside 0..{J - 1}")
        allowed[exc] = False

    def infeasible(why: str) -> ValueError:
        return ValueError(f"the constraints cannot all be met: {why}")

    if allowed.sum() < min_items:
        raise infeasible(f"min_items is {min_items} but only {int(allowed.sum())} items "
                         "may be used")
    info = item_information(bank, th).T                              # (J, P)
    info = np.where(allowed[:, None], info, 0.0)
    for p in range(th.size):
        best = np.sort(info[:, p])[::-1][:max_items].sum()
        if best < tg[p]:
            raise infeasible(f"target information {tg[p]:g} at θ = {th[p]:g} exceeds "
                             f"{best:.4g}, the most that {max_items} items give there")
    rows, lo, hi = [], [], []
    n_var = J + 1
    for p in range(th.size):
        rows.append(np.append(info[:, p], 0.0))
        lo.append(tg[p])
        hi.append(np.inf)
        rows.append(np.append(info[:, p], -1.0))
        lo.append(-np.inf)
        hi.append(tg[p])
    rows.append(np.append(np.ones(J), 0.0))
    lo.append(min_items)
    hi.append(max_items)
    if content is not None and labels is not None:
        lab = np.array([str(v) for v in labels])
        total_lo = 0
        for area, (c_lo, c_hi) in content.items():
            if not (0 <= c_lo <= c_hi):
                raise ValueError(f"content bounds of {area!r} must satisfy 0 ≤ lo ≤ hi, "
                                 f"got ({c_lo}, {c_hi})")
            member = (lab == area) & allowed
            if member.sum() < c_lo:
                raise infeasible(f"content area {area!r} needs at least {c_lo} items but the "
                                 f"bank has {int(member.sum())} usable")
            total_lo += c_lo
            rows.append(np.append(member.astype(np.float64), 0.0))
            lo.append(c_lo)
            hi.append(c_hi)
        if total_lo > max_items:
            raise infeasible(f"the content minimums add up to {total_lo} items, more than "
                             f"max_items = {max_items}")
    cons = LinearConstraint(np.array(rows), np.array(lo), np.array(hi))
    cost = np.zeros(n_var)
    cost[-1] = 1.0
    upper = np.append(allowed.astype(np.float64), np.inf)
    integrality = np.append(np.ones(J), 0.0)
    res = milp(cost, constraints=cons, integrality=integrality,
               bounds=Bounds(np.zeros(n_var), upper),
               options={"time_limit": float(time_limit)})
    if res.status == 2:
        raise infeasible("no form satisfies the information targets, length and content "
                         "bounds together")
    if res.x is None:
        raise ValueError(f"the solver found no form within {time_limit} s: {res.message}")
    chosen = np.flatnonzero(res.x[:J] > 0.5).astype(np.int64)
    got = info[chosen].sum(axis=0)
    return AssembledForm(chosen, tuple(bank.item_ids[j] for j in chosen), th, got, tg,
                         float(np.max(got - tg)))


def information_curve(bank: ItemBank, theta: ArrayLike, items: ArrayLike | None = None) -> _F:
    """Test information curve of a form (a subset of the bank, default all items).

    Parameters
    ----------
    bank : ItemBank
    theta : (n,) array_like
    items : array_like of int, optional
        Positions of the form's items.

    Returns
    -------
    (n,) ndarray
        ``Σ_{j in form} I_j(θ)``.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[2.0, 1.0], b=[0.0, 0.0])
    >>> information_curve(bank, [0.0], items=[0]).tolist()
    [1.0]
    """
    info = item_information(bank, theta)
    if items is None:
        return info.sum(axis=1)
    return info[:, np.asarray(items, dtype=np.int64)].sum(axis=1)


def marginal_reliability(
    bank: ItemBank,
    items: ArrayLike | None = None,
    *,
    latent_mean: float = 0.0,
    latent_sd: float = 1.0,
    n_quad: int = 121,
) -> float:
    """Marginal reliability of a fixed form over θ ~ N(latent_mean, latent_sd²).

    Parameters
    ----------
    bank : ItemBank
    items : array_like of int, optional
        The form (default: the whole bank).
    latent_mean, latent_sd : float
    n_quad : int, default 121

    Returns
    -------
    float

    Notes
    -----
    ``ρ = 1 - E_θ[σ²_post(θ)] / σ²`` with the posterior variance approximated by
    ``1 / (I(θ) + 1/σ²)`` (Green et al., 1984), the expectation by quadrature on
    ``μ ± 6σ``.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.0], b=[0.0])
    >>> 0 < marginal_reliability(bank) < 0.2
    True
    """
    if not (np.isfinite(latent_sd) and latent_sd > 0 and np.isfinite(latent_mean)):
        raise ValueError("latent_mean must be finite and latent_sd finite and positive")
    z = np.linspace(-6, 6, n_quad)
    w = np.exp(-0.5 * z**2)
    w /= w.sum()
    info = information_curve(bank, latent_mean + latent_sd * z, items)
    var = 1.0 / (info + 1.0 / latent_sd**2)
    return float(1.0 - np.sum(w * var) / latent_sd**2)


def cat_marginal_reliability(se: ArrayLike, latent_sd: float = 1.0) -> float:
    """Marginal reliability of a CAT design from simulated posterior SDs.

    Parameters
    ----------
    se : (N,) array_like
        Final posterior SDs of simulees drawn from the latent distribution (e.g.
        ``CatSimulation.se``).
    latent_sd : float, default 1

    Returns
    -------
    float
        ``1 - mean(se²) / latent_sd²``.

    Examples
    --------
    >>> cat_marginal_reliability([0.3, 0.3])
    0.91
    """
    s = np.asarray(se, dtype=np.float64)
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("se must be a non-empty array of finite values")
    return float(round(1.0 - np.mean(s**2) / latent_sd**2, 15))
