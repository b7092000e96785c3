"""Ability estimation for many persons at once: EAP, MAP and MLE.

All three start from the same matrix product (DESIGN.md, "core idea"): the log-likelihood
of every person at every point of a θ grid, ``L = Y @ log P``. EAP is a softmax over
``L + log prior``; MAP and MLE take the best grid point as a start and finish with
vectorised Fisher scoring over all persons at once. No Python loop runs over persons.

Bounds: every estimate lies in ``[THETA_MIN, THETA_MAX] = [-6, 6]``.

References
----------
Bock, R. D., & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a
microcomputer environment. *Applied Psychological Measurement*, 6(4), 431-444.
Baker, F. B., & Kim, S.-H. (2004). *Item response theory: Parameter estimation
techniques* (2nd ed.), ch. 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from assess.irt._core import (
    THETA_MAX,
    THETA_MIN,
    Design,
    check_responses,
    grid_log_probs,
    posterior,
)
from assess.irt.models import ItemBank, ModelGroup, kernel

__all__ = [
    "THETA_MIN",
    "THETA_MAX",
    "METHODS",
    "AbilityEstimates",
    "eap",
    "map_estimate",
    "mle",
    "estimate_ability",
]

METHODS: tuple[str, ...] = ("eap", "map", "mle")

_F = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AbilityEstimates:
    """Result of :func:`eap`, :func:`map_estimate` or :func:`mle`.

    Attributes
    ----------
    theta : (N,) ndarray
        Ability estimates, within ``[THETA_MIN, THETA_MAX]``; NaN only for MLE of a person
        who answered no item.
    se : (N,) ndarray
        Standard errors: posterior SD (EAP), ``1/sqrt(I(θ) + 1/σ²)`` (MAP),
        ``1/sqrt(I(θ))`` from the test information (MLE).
    method : str
        ``"eap"``, ``"map"`` or ``"mle"``.
    n_iter : int
        Fisher-scoring iterations (0 for EAP).
    converged : (N,) ndarray of bool
        Whether each person's iterations met the tolerance (always True for EAP).
    extreme : (N,) ndarray of int8
        ``+1`` for all responses in the top category, ``-1`` for all in the bottom
        category, 0 otherwise (and for persons with no responses).
    n_responses : (N,) ndarray of int
        Items each person answered.
    """

    theta: _F
    se: _F
    method: str
    n_iter: int
    converged: NDArray[np.bool_]
    extreme: NDArray[np.int8]
    n_responses: NDArray[np.int64]


def _check_prior(prior_mean: float, prior_sd: float) -> None:
    if not np.isfinite(prior_mean):
        raise ValueError(f"prior_mean must be finite, got {prior_mean}")
    if not (np.isfinite(prior_sd) and prior_sd > 0):
        raise ValueError(f"prior_sd must be finite and positive, got {prior_sd}")


def _checked(responses: ArrayLike, items: ItemBank) -> NDArray[np.int64]:
    if not isinstance(items, ItemBank):
        raise ValueError(f"items must be an ItemBank, got {type(items).__name__}")
    return check_responses(responses, items)


def _prepare(responses: ArrayLike, items: ItemBank) -> tuple[NDArray[np.int64], Design]:
    x = _checked(responses, items)
    return x, Design.build(x, items.n_categories)


def _extremes(x: NDArray[np.int64], items: ItemBank) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
    administered = x >= 0
    n = administered.sum(axis=1)
    top = items.n_categories[None, :] - 1
    all_min = np.all((x == 0) | ~administered, axis=1) & (n > 0)
    all_max = np.all((x == top) | ~administered, axis=1) & (n > 0)
    ext = np.zeros(x.shape[0], dtype=np.int8)
    ext[all_max] = 1
    ext[all_min] = -1
    return ext, n


def eap(
    responses: ArrayLike,
    items: ItemBank,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_quad: int = 61,
) -> AbilityEstimates:
    """Expected a posteriori ability estimates with posterior standard deviations.

    Parameters
    ----------
    responses : (N, J) array_like of int
        Category of each response; ``-1`` (or NaN in a float array) where the item was not
        administered.
    items : ItemBank
        The J items, in the column order of ``responses``.
    prior_mean, prior_sd : float
        Normal prior N(prior_mean, prior_sd²) on θ.
    n_quad : int, default 61
        Equally spaced quadrature points on ``prior_mean ± 6 prior_sd`` (clipped to
        ``[THETA_MIN, THETA_MAX]``).

    Returns
    -------
    AbilityEstimates

    Notes
    -----
    ``θ̂_i = Σ_q θ_q w_q L_i(θ_q) / Σ_q w_q L_i(θ_q)`` with ``log L_i = (Y @ log P)_i``;
    the normalisation is a log-sum-exp, so long tests do not underflow.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.0, 1.0, 1.0], b=[-1.0, 0.0, 1.0])
    >>> est = eap([[1, 1, 0], [-1, -1, -1]], bank)
    >>> round(float(est.theta[1]), 6), round(float(est.se[1]), 3)   # no responses: prior
    (0.0, 1.0)
    """
    _check_prior(prior_mean, prior_sd)
    if n_quad < 5:
        raise ValueError(f"n_quad must be at least 5, got {n_quad}")
    x, design = _prepare(responses, items)
    lo = max(THETA_MIN, prior_mean - 6 * prior_sd)
    hi = min(THETA_MAX, prior_mean + 6 * prior_sd)
    nodes = np.linspace(lo, hi, n_quad)
    log_prior = -0.5 * ((nodes - prior_mean) / prior_sd) ** 2
    post, _ = posterior(design.loglik_grid(grid_log_probs(items, nodes), log_prior))
    mean = post @ nodes
    var = post @ (nodes**2) - mean**2
    ext, n = _extremes(x, items)
    N = x.shape[0]
    return AbilityEstimates(mean, np.sqrt(np.maximum(var, 0.0)), "eap", 0,
                            np.ones(N, dtype=bool), ext, n)


_CHUNK = 16384          # persons per block in Fisher scoring: keeps temporaries in cache


def _blocks(x: NDArray[np.int64], items: ItemBank) -> list[tuple[object, ...]]:
    """Per model group, the response arrays Fisher scoring needs (computed once)."""
    out: list[tuple[object, ...]] = []
    whole = len(items.groups) == 1
    for g in items.groups:
        xg = x if whole else x[:, g.index]
        administered = xg >= 0
        mask = None if administered.all() else administered.astype(np.float64)
        if g.model in ("rasch", "2pl", "3pl"):
            out.append((g, (xg == 1).astype(np.float64), mask))
        else:
            out.append((g, xg, mask))
    return out


def _score_and_information(theta: _F, blocks: list[tuple[object, ...]]) -> tuple[_F, _F]:
    """Gradient of the log-likelihood and test information at per-person θ: (N,), (N,).

    Dichotomous items take a closed-form path over (N, J) arrays; polytomous items go
    through the general kernel over (N, J, K).
    """
    N = theta.size
    grad = np.zeros(N)
    info = np.zeros(N)
    for g, data, mask in blocks:
        assert isinstance(g, ModelGroup)
        if g.model in ("rasch", "2pl", "3pl"):
            ones = data
            a = np.ones(len(g.index)) if g.model == "rasch" else g.params[:, 0]
            d = g.params[:, 0] if g.model == "rasch" else g.params[:, 1]
            p = np.multiply.outer(theta, -a)
            p -= d
            np.exp(p, out=p)
            p += 1.0
            np.reciprocal(p, out=p)                           # p* = σ(aθ + d)
            if g.model == "3pl":
                c = expit(g.params[:, 2])
                big_p = p * (1.0 - c)
                big_p += c                                    # P = c + (1 - c) p*
                # ∂logP/∂θ: x = 1 → a(1-c)p*(1-p*)/P, x = 0 → -a p*
                q = 1.0 - p
                r = (1.0 - c) * q / big_p
                resid = ones * (r + 1.0) - 1.0
                resid *= p
                item_info = p * p
                item_info *= q
                item_info *= (1.0 - c)
                item_info /= big_p                            # I/a² = (1-c) p*² (1-p*) / P
            else:
                resid = ones - p                              # ∂logP/∂θ = a (x - p)
                item_info = 1.0 - p
                item_info *= p
            if mask is not None:
                resid *= mask
                item_info *= mask
            grad += resid @ a
            info += item_info @ (a * a)
            continue
        xg = data
        logp, _, dth = kernel(g.model, g.params, g.n_categories, theta, theta_derivs=True)
        assert dth is not None
        picked = np.take_along_axis(dth, np.maximum(xg, 0)[:, :, None], axis=2)[:, :, 0]
        item_info = np.sum(np.exp(logp) * dth**2, axis=2)
        if mask is not None:
            picked *= mask
            item_info *= mask
        grad += picked.sum(axis=1)
        info += item_info.sum(axis=1)
    return grad, info


def _fisher_scoring(
    x: NDArray[np.int64],
    items: ItemBank,
    *,
    prior: tuple[float, float] | None,
    max_iter: int,
    tol: float,
) -> tuple[_F, _F, NDArray[np.bool_], int]:
    """Maximise the log-likelihood (+ log prior) per person, vectorised across persons.

    Persons are processed in blocks of ``_CHUNK`` (a loop over blocks, not persons) so
    that the (block, J) temporaries stay small. Each block starts at the best point of a
    grid with spacing 0.25 on ``[THETA_MIN, THETA_MAX]``, within 0.125 of the global
    maximum, then takes Fisher-scoring steps capped at one logit.

    Returns θ, the information (plus prior precision) at θ, per-person convergence and
    the largest number of iterations used.
    """
    N = x.shape[0]
    nodes = np.linspace(THETA_MIN, THETA_MAX, 49)
    logp_grid = grid_log_probs(items, nodes)
    log_prior = None if prior is None else -0.5 * ((nodes - prior[0]) / prior[1]) ** 2
    precision = 0.0 if prior is None else 1.0 / prior[1] ** 2
    theta = np.empty(N)
    info = np.empty(N)
    converged = np.zeros(N, dtype=bool)
    n_iter = 0
    for start in range(0, N, _CHUNK):
        block = slice(start, min(N, start + _CHUNK))
        xb = x[block]
        L = Design.build(xb, items.n_categories).loglik_grid(logp_grid, log_prior)
        th = nodes[np.argmax(L, axis=1)]
        del L
        blocks = _blocks(xb, items)
        conv = np.zeros(th.size, dtype=bool)
        it = 0
        for it in range(1, max_iter + 1):
            grad, inf = _score_and_information(th, blocks)
            if prior is not None:
                grad -= (th - prior[0]) * precision
            step = np.clip(grad / np.maximum(inf + precision, 1e-12), -1.0, 1.0)
            new = np.clip(th + step, THETA_MIN, THETA_MAX)
            conv = np.abs(new - th) < tol
            th = new
            if conv.all():
                break
        theta[block] = th
        info[block] = _score_and_information(th, blocks)[1] + precision
        converged[block] = conv
        n_iter = max(n_iter, it)
    return theta, info, converged, n_iter


def map_estimate(
    responses: ArrayLike,
    items: ItemBank,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    max_iter: int = 50,
    tol: float = 1e-6,
) -> AbilityEstimates:
    """Maximum a posteriori (Bayes modal) ability estimates.

    Parameters
    ----------
    responses : (N, J) array_like of int
        ``-1`` where not administered.
    items : ItemBank
    prior_mean, prior_sd : float
        Normal prior on θ.
    max_iter : int, default 50
    tol : float, default 1e-6
        Stop when every person's θ moved less than this.

    Returns
    -------
    AbilityEstimates
        ``se = 1 / sqrt(I(θ̂) + 1/prior_sd²)``.

    Notes
    -----
    Fisher scoring ``θ ← θ + (∂ log L/∂θ - (θ - μ)/σ²) / (I(θ) + 1/σ²)``, started at the
    best of 49 grid points on ``[THETA_MIN, THETA_MAX]`` (steps capped at 1 logit).

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.0, 1.0], b=[0.0, 0.0])
    >>> round(float(map_estimate([[1, 0]], bank).theta[0]), 6)
    0.0
    """
    _check_prior(prior_mean, prior_sd)
    x = _checked(responses, items)
    theta, info, conv, it = _fisher_scoring(x, items, prior=(prior_mean, prior_sd),
                                            max_iter=max_iter, tol=tol)
    ext, n = _extremes(x, items)
    return AbilityEstimates(theta, 1.0 / np.sqrt(info), "map", it, conv, ext, n)


def mle(
    responses: ArrayLike,
    items: ItemBank,
    *,
    max_iter: int = 50,
    tol: float = 1e-6,
) -> AbilityEstimates:
    """Maximum likelihood ability estimates with standard errors from the test information.

    Parameters
    ----------
    responses : (N, J) array_like of int
        ``-1`` where not administered.
    items : ItemBank
    max_iter : int, default 50
    tol : float, default 1e-6

    Returns
    -------
    AbilityEstimates
        ``se = 1 / sqrt(I(θ̂))``.

    Notes
    -----
    The likelihood of an all-correct pattern (every answer in the top category) increases
    without bound in θ, and that of an all-wrong pattern as θ decreases, so their MLE is
    ±∞. This function returns the documented finite values instead: ``θ = THETA_MAX`` for
    all-correct and ``θ = THETA_MIN`` for all-wrong patterns, with ``se = 1/sqrt(I(θ))``
    at that bound and ``extreme = ±1``. Any other maximum that lies beyond the bounds
    (possible with 3PL items) is clipped to them as well. A person who answered no item
    gets ``θ = se = NaN``.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.0, 1.0], b=[0.0, 0.0])
    >>> est = mle([[1, 1], [1, 0]], bank)
    >>> est.theta.tolist(), est.extreme.tolist()
    ([6.0, 0.0], [1, 0])
    """
    x = _checked(responses, items)
    ext, n = _extremes(x, items)
    theta, info, conv, it = _fisher_scoring(x, items, prior=None, max_iter=max_iter, tol=tol)
    theta = np.where(ext > 0, THETA_MAX, np.where(ext < 0, THETA_MIN, theta))
    rows = np.flatnonzero(ext != 0)
    if rows.size:
        info[rows] = _score_and_information(theta[rows], _blocks(x[rows], items))[1]
    with np.errstate(divide="ignore"):
        se = 1.0 / np.sqrt(info)
    none = n == 0
    theta = np.where(none, np.nan, theta)
    se = np.where(none, np.nan, se)
    conv = conv | (ext != 0)
    return AbilityEstimates(theta, se, "mle", it, conv, ext, n)


def estimate_ability(
    responses: ArrayLike,
    items: ItemBank,
    method: str = "eap",
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
) -> AbilityEstimates:
    """Dispatch to :func:`eap`, :func:`map_estimate` or :func:`mle` by name.

    Parameters
    ----------
    responses : (N, J) array_like of int
    items : ItemBank
    method : {"eap", "map", "mle"}
    prior_mean, prior_sd : float
        Ignored by ``mle``.

    Returns
    -------
    AbilityEstimates
    """
    if method == "eap":
        return eap(responses, items, prior_mean=prior_mean, prior_sd=prior_sd)
    if method == "map":
        return map_estimate(responses, items, prior_mean=prior_mean, prior_sd=prior_sd)
    if method == "mle":
        return mle(responses, items)
    raise ValueError(f"unknown method {method!r}; expected one of eap, map, mle")
