"""Item calibration by marginal maximum likelihood with the EM algorithm (Bock-Aitkin).

One EM iteration is two matrix products (DESIGN.md, "core idea"):

* E-step: ``L = Y @ log P`` on a quadrature grid, a row-wise softmax of ``L + log w`` gives
  each person's posterior over the grid, and ``R = Yᵀ @ posterior`` the expected number
  of responses in each category of each item at each grid point;
* M-step: for every item at once, Fisher scoring on ``Σ_q Σ_k R_jkq log P_jk(θ_q)`` (plus
  log priors), with step halving so that no item's objective decreases.

The iterations are accelerated with SQUAREM (Varadhan & Roland, 2008), which extrapolates
along the EM path and falls back to a plain EM step whenever the extrapolation does not
raise the likelihood. Standard errors of the item parameters come from the cross-product
of the per-person scores (the empirical information, valid at the maximum), plus the
curvature of the priors, mapped to the IRT parameters by the delta method.

Identification: θ ~ N(0, 1). Rasch items fix a = 1 and the latent SD is estimated instead.
With anchor items held at known values, the latent mean and SD of the sample are estimated,
so the new items land on the anchors' scale (fixed item parameter calibration).

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item
parameters: Application of an EM algorithm. *Psychometrika*, 46(4), 443-459.
Baker, F. B., & Kim, S.-H. (2004). *Item response theory: Parameter estimation
techniques* (2nd ed.), ch. 6-9.
Varadhan, R., & Roland, C. (2008). Simple and globally convergent methods for accelerating
the convergence of any EM algorithm. *Scandinavian Journal of Statistics*, 35, 335-353.
Kim, S. (2006). A comparative study of IRT fixed parameter calibration methods.
*Journal of Educational Measurement*, 43(4), 355-381.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, ndtri

from assess.irt._core import Design, posterior, standard_grid
from assess.irt.models import (
    DICHOTOMOUS_MODELS,
    MODELS,
    POLYTOMOUS_MODELS,
    ItemBank,
    group_to_irt,
    kernel,
)

__all__ = [
    "DEFAULT_GUESS_PRIOR",
    "ItemProblem",
    "ParameterErrors",
    "CalibrationResult",
    "calibrate",
    "marginal_loglik",
]

#: Beta(α, β) prior on the 3PL lower asymptote: mode 0.2, mean 0.23 (a BILOG-style prior).
DEFAULT_GUESS_PRIOR: tuple[float, float] = (5.0, 17.0)

_F = NDArray[np.float64]
_FULL_COV_LIMIT = 4000      # above this many free parameters, SEs use per-item blocks


@dataclass(frozen=True)
class ItemProblem:
    """An item that could not be calibrated (it is reported, and left out of ``items``).

    Attributes
    ----------
    item_id : str
    column : int
        Column of the item in the response matrix.
    reason : str
        ``"too few responses"``, ``"no variance"`` or ``"category never observed"``.
    n_responses : int
    message : str
        A sentence for people.
    """

    item_id: str
    column: int
    reason: str
    n_responses: int
    message: str


@dataclass(frozen=True, eq=False)
class ParameterErrors:
    """Standard errors laid out like :class:`~assess.irt.models.ItemBank` (NaN where a
    parameter is not estimated: fixed slopes of Rasch items, anchors, padding)."""

    item_ids: tuple[str, ...]
    a: _F
    b: _F
    c: _F
    thresholds: _F


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    items : ItemBank
        Calibrated items (and anchors, unchanged), in response-column order, without the
        items listed in ``problems``.
    se : ParameterErrors
        Standard errors of ``items``' parameters.
    loglik : float
        Marginal log-likelihood at the returned parameters (priors excluded).
    log_posterior : float
        ``loglik`` plus the log prior densities of the item parameters.
    n_iter : int
        EM iterations (E-steps).
    converged : bool
    elapsed : float
        Wall time in seconds.
    latent_mean, latent_sd : float
        Mean and SD of θ in the sample (0 and 1 unless estimated, see Notes of
        :func:`calibrate`).
    latent_mean_se, latent_sd_se : float
        Their standard errors (NaN when fixed).
    n_persons : int
        Persons used (those with at least one response to a calibrated item).
    problems : tuple of ItemProblem
    anchors : tuple of str
        Ids of the items held fixed.
    history : tuple of float
        Log-likelihood at each E-step.
    warnings : tuple of str
    """

    items: ItemBank
    se: ParameterErrors
    loglik: float
    log_posterior: float
    n_iter: int
    converged: bool
    elapsed: float
    latent_mean: float
    latent_sd: float
    latent_mean_se: float
    latent_sd_se: float
    n_persons: int
    problems: tuple[ItemProblem, ...]
    anchors: tuple[str, ...]
    history: tuple[float, ...]
    warnings: tuple[str, ...]


# ----------------------------------------------------------------------------- groups

@dataclass(eq=False)
class _Group:
    model: str
    cols: NDArray[np.int64]        # columns in the (reduced) response matrix
    params: _F                     # (J_g, p) slope-intercept
    ncat: NDArray[np.int64]
    free: NDArray[np.bool_]        # (J_g, p)
    fixed: bool                    # anchors


def _irt_change_scale(g: _Group, params: _F) -> _F:
    """IRT-metric parameters of a group flattened (for the convergence test)."""
    irt = group_to_irt(g.model, params)
    parts = [irt["a"][:, None]]
    if "b" in irt:
        parts.append(irt["b"][:, None])
        if g.model == "3pl":
            parts.append(irt["c"][:, None])
    else:
        parts.append(np.where(g.free[:, 1:], irt["thresholds"], 0.0))
    return np.hstack(parts)


def _valid(g: _Group, params: _F) -> NDArray[np.bool_]:
    """Per item: parameters inside the model's domain."""
    ok = np.all(np.isfinite(np.where(g.free, params, 0.0)), axis=1)
    if g.model != "rasch":
        ok &= params[:, 0] > 1e-8
    if g.model == "grm" and params.shape[1] > 2:
        d = params[:, 1:]
        diffs = np.diff(d, axis=1)
        pad = ~(g.free[:, 2:])
        ok &= np.all((diffs < 0) | pad, axis=1)
    return ok


def _log_prior(g: _Group, params: _F, guess: tuple[float, float] | None,
               slope: tuple[float, float] | None) -> tuple[_F, _F, _F]:
    """Log prior per item, its gradient (J, p) and the negative Hessian (J, p, p), diagonal."""
    J, p = params.shape
    val = np.zeros(J)
    grad = np.zeros((J, p))
    nhess = np.zeros((J, p, p))
    if slope is not None and g.model != "rasch":
        m, s = slope
        a = np.maximum(params[:, 0], 1e-300)
        la = np.log(a)
        val += -la - (la - m) ** 2 / (2 * s * s)
        grad[:, 0] = -1.0 / a - (la - m) / (s * s * a)
        h = 1.0 / a**2 - (1.0 - (la - m)) / (s * s * a**2)
        nhess[:, 0, 0] = np.maximum(-h, 0.0) + 1.0 / (s * s * a**2)
    if guess is not None and g.model == "3pl":
        al, be = guess
        c = expit(params[:, 2])
        val += (al - 1) * np.log(c) + (be - 1) * np.log1p(-c)
        grad[:, 2] = (al - 1) * (1 - c) - (be - 1) * c
        nhess[:, 2, 2] = (al + be - 2) * c * (1 - c)
    return val, grad, nhess


def _objective(g: _Group, params: _F, theta: _F, counts: _F,
               guess: tuple[float, float] | None, slope: tuple[float, float] | None) -> _F:
    logp, _, _ = kernel(g.model, params, g.ncat, theta)
    with np.errstate(invalid="ignore"):
        ll = np.where(counts > 0, counts * logp, 0.0).sum(axis=(0, 2))
    ll = np.where(np.isnan(ll), -np.inf, ll)
    return ll + _log_prior(g, params, guess, slope)[0]


def _m_step(g: _Group, theta: _F, counts: _F, guess: tuple[float, float] | None,
            slope: tuple[float, float] | None, max_inner: int = 3) -> _F:
    """Fisher scoring for all items of a group at once; counts is (Q, J_g, K_g)."""
    params = g.params.copy()
    nq = counts.sum(axis=2)                                     # (Q, J)
    counts_j = np.ascontiguousarray(counts.transpose(1, 0, 2)).reshape(counts.shape[1], 1, -1)
    free = g.free
    obj = _objective(g, params, theta, counts, guess, slope)
    eye = np.eye(params.shape[1])
    for _ in range(max_inner):
        logp, dl, _ = kernel(g.model, params, g.ncat, theta, param_derivs=True)
        assert dl is not None
        Q, J, K, P = dl.shape
        # contract over (grid point, category) with batched matrix products per item
        dlj = np.ascontiguousarray(dl.transpose(1, 0, 2, 3)).reshape(J, Q * K, P)
        grad = (counts_j @ dlj)[:, 0, :]
        w = (nq[:, :, None] * np.exp(logp)).transpose(1, 0, 2).reshape(J, Q * K, 1)
        info = np.matmul(dlj.transpose(0, 2, 1), w * dlj)
        _, pg, pn = _log_prior(g, params, guess, slope)
        grad += pg
        info += pn
        grad = np.where(free, grad, 0.0)
        info = np.where(free[:, :, None] & free[:, None, :], info, 0.0)
        info += eye[None] * (~free)[:, :, None]
        info += eye[None] * 1e-10
        # Levenberg-Marquardt safeguard: items whose Fisher step does not raise their
        # objective retry with a damped, more gradient-like step (μ grows tenfold).
        diag = np.diagonal(info, axis1=1, axis2=2).copy()
        mu = np.zeros(params.shape[0])
        todo = np.ones(params.shape[0], dtype=bool)
        moved = np.zeros(params.shape[0])
        for _attempt in range(8):
            rows = np.flatnonzero(todo)
            damped = info[rows] + (mu[rows, None] * diag[rows])[:, :, None] * eye[None]
            step = np.linalg.solve(damped, grad[rows, :, None])[:, :, 0]
            size = np.max(np.abs(step), axis=1)
            tiny = size <= 1e-10
            todo[rows[tiny]] = False
            rows, step, size = rows[~tiny], step[~tiny], size[~tiny]
            if rows.size == 0:
                break
            cand = params[rows] + step
            ok = _valid(_sub(g, rows), cand)
            new_obj = np.full(rows.size, -np.inf)
            if ok.any():
                new_obj[ok] = _objective(_sub(g, rows[ok]), cand[ok], theta,
                                         counts[:, rows[ok]], guess, slope)
            old = obj[rows]
            better = new_obj >= old - 1e-12 * (1.0 + np.abs(old))
            params[rows[better]] = cand[better]
            obj[rows[better]] = new_obj[better]
            moved[rows[better]] = size[better]
            todo[rows[better]] = False
            if not todo.any():
                break
            mu[todo] = np.where(mu[todo] == 0, 1e-2, mu[todo] * 10.0)
        if np.max(moved) < 1e-6:
            break
    return params


def _sub(g: _Group, sel: NDArray[np.bool_] | NDArray[np.int64]) -> _Group:
    return _Group(g.model, g.cols[sel], g.params[sel], g.ncat[sel], g.free[sel], g.fixed)


# ----------------------------------------------------------------------------- starts

def _category_counts(x: NDArray[np.int64], k_max: int) -> NDArray[np.int64]:
    """(J, k_max) number of responses in each category of each item."""
    return np.stack([(x == k).sum(axis=0) for k in range(k_max)], axis=1)


def _start_values(x: NDArray[np.int64], ncat: NDArray[np.int64], models: Sequence[str],
                  guess: tuple[float, float] | None, cat_counts: NDArray[np.int64]
                  ) -> list[_F]:
    """Per item slope-intercept starting values from proportions and rest-score correlations.

    The slope comes from the correlation r of the item (scaled to 0..1) with the rest
    score, ``a ≈ 1.7 · 1.25 r / sqrt(1 - r²)``; intercepts from the category proportions
    through the normal-ogive approximation ``d ≈ 1.7 Φ⁻¹(p) sqrt(1 + (a / 1.7)²)``.
    """
    administered = x >= 0
    if administered.all():
        # every sum is a matrix-vector product: cov(x_j, T - x_j) = cov(x_j, T) - var(x_j)
        N = x.shape[0]
        xs = x / (ncat - 1)[None, :]
        mean = xs.sum(axis=0) / N
        tot = xs.sum(axis=1)
        tot -= tot.mean()
        cov_t = (xs.T @ tot) / N
        var_x = np.einsum("ij,ij->j", xs, xs) / N - mean**2
        var_t = float(tot @ tot) / N
        cov = cov_t - var_x
        vr = var_t - 2 * cov_t + var_x
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov / np.sqrt(var_x * vr)
    else:
        # mean of the person's other answered items, over persons with two or more answers
        w = administered.astype(np.float64)
        cnt = w.sum(axis=1)
        use = cnt > 1
        w[~use] = 0.0
        xs = np.where(administered, x, 0) / (ncat - 1)[None, :]
        xs[~use] = 0.0
        u = np.where(use, 1.0 / np.maximum(cnt - 1, 1), 0.0)
        tot = xs.sum(axis=1)
        xs2 = xs * xs
        n = np.maximum(w.sum(axis=0), 1.0)
        sx = xs.sum(axis=0)
        sxx = xs2.sum(axis=0)
        sr = w.T @ (tot * u) - xs.T @ u
        sxr = xs.T @ (tot * u) - xs2.T @ u
        srr = w.T @ (tot * tot * u * u) - 2 * (xs.T @ (tot * u * u)) + xs2.T @ (u * u)
        cov = sxr / n - sx * sr / n**2
        vx = sxx / n - (sx / n) ** 2
        vr = srr / n - (sr / n) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov / np.sqrt(vx * vr)
    r = np.clip(np.nan_to_num(r, nan=0.3), 0.1, 0.85)
    a0 = np.clip(1.702 * 1.25 * r / np.sqrt(1 - r**2), 0.4, 3.0)
    freq_all = cat_counts + 0.5
    out = []
    for j, m in enumerate(models):
        k = int(ncat[j])
        prop = freq_all[j, :k] / freq_all[j, :k].sum()
        scale = np.sqrt(1 + (a0[j] / 1.702) ** 2)
        if m in DICHOTOMOUS_MODELS:
            pj = np.clip(prop[1], 0.01, 0.99)
            if m == "rasch":
                out.append(np.array([1.702 * ndtri(pj) * np.sqrt(1 + (1 / 1.702) ** 2)]))
            elif m == "2pl":
                out.append(np.array([a0[j], 1.702 * ndtri(pj) * scale]))
            else:
                c0 = (guess[0] - 1) / (guess[0] + guess[1] - 2) if guess else 0.15
                pp = np.clip((pj - c0) / (1 - c0), 0.02, 0.98)
                out.append(np.array([a0[j], 1.702 * ndtri(pp) * scale, np.log(c0 / (1 - c0))]))
        elif m == "grm":
            tail = np.clip(np.cumsum(prop[::-1])[::-1][1:], 1e-3, 1 - 1e-3)
            d = 1.702 * ndtri(tail) * scale
            d = np.minimum.accumulate(d - np.arange(k - 1) * 1e-3)
            out.append(np.concatenate([[a0[j]], d]))
        else:
            out.append(np.concatenate([[a0[j]], np.log(prop[1:] / prop[:-1])]))
    return out


# ----------------------------------------------------------------------------- scores

def _person_scores(groups: Sequence[_Group], xt: NDArray[np.integer], post: _F, theta: _F,
                   ) -> tuple[_F, list[tuple[int, int, int]]]:
    """Per-person gradients of the log marginal likelihood w.r.t. the free item parameters.

    Fisher's identity: the gradient for person i is the posterior mean of the complete-data
    score, ``s_i = Σ_q post_iq ∂ log P_j(x_ij | θ_q) / ∂ψ``.

    Parameters
    ----------
    xt : (J, N) ndarray
        Transposed responses (-1 = not administered).
    post : (N, Q) ndarray

    Returns
    -------
    S : (P, N) ndarray
        One row per free parameter.
    labels : list of (group, item, param)
    """
    labels: list[tuple[int, int, int]] = []
    for gi, g in enumerate(groups):
        if not g.fixed:
            for pi in range(g.free.shape[1]):
                labels.extend((gi, int(j), pi) for j in np.flatnonzero(g.free[:, pi]))
    N = xt.shape[1]
    S = np.empty((len(labels), N))
    post_t = post.T
    pos = 0
    for g in groups:
        if g.fixed:
            continue
        _, dl, _ = kernel(g.model, g.params, g.ncat, theta, param_derivs=True)
        assert dl is not None
        Q, Jg, K, _ = dl.shape
        xg = xt[g.cols]                                              # (J_g, N)
        missing = xg < 0
        any_missing = bool(missing.any())
        ones = xg == 1 if K == 2 else None
        buf = np.empty((Jg, N)) if K == 2 else None
        for pi in range(g.free.shape[1]):
            js = np.flatnonzero(g.free[:, pi])
            n = js.size
            if n == 0:
                continue
            out = S[pos: pos + n]
            if K == 2:
                # s = A0 + x (A1 - A0), A_k = post @ ∂logP_k/∂ψ, written straight into S
                d0 = np.ascontiguousarray(dl[:, js, 0, pi].T)           # (n, Q)
                d10 = np.ascontiguousarray((dl[:, js, 1, pi] - dl[:, js, 0, pi]).T)
                np.matmul(d0, post_t, out=out)
                tmp = buf[:n]  # type: ignore[index]
                np.matmul(d10, post_t, out=tmp)
                np.multiply(tmp, ones[js], out=tmp)  # type: ignore[index]
                out += tmp
            else:
                dk = np.ascontiguousarray(dl[:, :, :, pi][:, js].reshape(Q, n * K).T)  # (n K, Q)
                a = (dk @ post_t).reshape(n, K, N)
                idx = np.maximum(xg[js], 0)[:, None, :]
                out[...] = np.take_along_axis(a, idx, axis=1)[:, 0, :]
            if any_missing:
                out[missing[js]] = 0.0
            pos += n
    return S, labels


# ----------------------------------------------------------------------------- main

def _check_prior_pair(name: str, value: tuple[float, float] | None, positive_both: bool) -> None:
    if value is None:
        return
    try:
        u, v = (float(t) for t in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of numbers or None, got {value!r}") from None
    if positive_both and not (u >= 1 and v >= 1):
        raise ValueError(f"{name} must be a Beta(α, β) pair with α, β ≥ 1, got {value!r}")
    if not positive_both and not (np.isfinite(u) and v > 0):
        raise ValueError(f"{name} must be (meanlog, sdlog) with sdlog > 0, got {value!r}")


def calibrate(
    responses: ArrayLike,
    model: str | Sequence[str] = "2pl",
    *,
    item_ids: Sequence[str] | None = None,
    n_categories: int | Sequence[int] | None = None,
    anchors: ItemBank | None = None,
    guess_prior: tuple[float, float] | None = DEFAULT_GUESS_PRIOR,
    slope_prior: tuple[float, float] | None = None,
    n_quad: int = 41,
    max_iter: int = 500,
    tol: float = 1e-4,
    ll_tol: float = 1e-4,
    min_responses: int = 10,
    accelerate: bool = True,
    standard_errors: bool = True,
    progress: Callable[[int, float, float], None] | None = None,
) -> CalibrationResult:
    """Calibrate items by marginal maximum likelihood (EM, Bock-Aitkin).

    Parameters
    ----------
    responses : (N, J) array_like of int
        Category of each response (0/1 for dichotomous items, 0..K-1 for polytomous ones);
        ``-1`` (or NaN in a float array) where the item was not administered.
    model : str or sequence of str, default "2pl"
        One of ``rasch, 2pl, 3pl, grm, gpcm`` for all items, or one per column (mixed banks).
        Ignored for anchor columns, which keep the anchor's model.
    item_ids : sequence of str, optional
        Ids of the J columns; default ``item1..itemJ``. Anchors are matched by id.
    n_categories : int or sequence of int, optional
        Categories of polytomous items; default one more than the largest observed
        response of each item.
    anchors : ItemBank, optional
        Items held at these parameters. The latent mean and SD of the sample are then
        estimated, which puts the other items on the anchors' scale.
    guess_prior : (α, β) or None, default (5, 17)
        Beta prior on the 3PL lower asymptote c (MAP estimation of c).
    slope_prior : (meanlog, sdlog) or None, default None
        Optional lognormal prior on the slopes (e.g. ``(0.0, 0.5)``) for small samples.
    n_quad : int, default 41
        Equally spaced quadrature points on ``[-6, 6]`` (standardised θ).
    max_iter : int, default 500
        Maximum number of E-steps.
    tol : float, default 1e-4
        Convergence: largest change of any parameter (a, b, c, b_k, latent mean and SD)
        between successive EM iterations ...
    ll_tol : float, default 1e-4
        ... and change of the log-likelihood, must both fall below these.
    min_responses : int, default 10
        Items answered by fewer persons are reported in ``problems`` and not calibrated.
    accelerate : bool, default True
        SQUAREM acceleration of the EM iterations.
    standard_errors : bool, default True
        Compute standard errors (cross-product of person scores, plus prior curvature).
    progress : callable, optional
        Called after each E-step as ``progress(iteration, loglik, max_change)``.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ValueError
        On malformed input (shapes, categories, unknown models, anchors not among the
        columns) with a message that names the offending value.

    Notes
    -----
    The scale is identified by θ ~ N(0, 1), except that (i) when any item is ``rasch``
    the slopes of Rasch items are fixed at 1 and the latent SD is estimated; (ii) when
    anchors are given, the latent mean and SD are estimated. The marginal likelihood
    is ``Π_i Σ_q w_q Π_j P_j(x_ij | μ + σ z_q)`` on the quadrature nodes ``z_q``.

    Items with fewer than ``min_responses`` responses, with all responses in one
    category, or (polytomous) with a category inside ``0..K-1`` that nobody chose cannot
    be estimated; they are returned in ``problems`` with the reason and left out of
    ``items``. Persons who answered none of the remaining items are not used.

    Examples
    --------
    >>> from assess.irt.simulate import simulate_items, simulate_responses
    >>> rng = np.random.default_rng(1)
    >>> true = simulate_items("2pl", 10, rng=rng)
    >>> x = simulate_responses(true, rng.standard_normal(2000), rng=rng)
    >>> fit = calibrate(x, "2pl")
    >>> fit.converged, fit.items.n_items
    (True, 10)
    """
    start_time = time.perf_counter()
    x = np.asarray(responses)
    if x.ndim != 2:
        raise ValueError(f"responses must be a 2-d array (persons × items), got shape {x.shape}")
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        filled = np.where(nan, 0.0, x)
        if np.any(filled != np.round(filled)) or not np.all(np.isfinite(filled)):
            i, j = np.argwhere(~nan & (filled != np.round(filled)))[0]
            raise ValueError(f"responses[{i}, {j}] = {x[i, j]} is not an integer category")
        x = np.where(nan, -1, filled).astype(np.int64)
    elif x.dtype.kind in "iub":
        x = x.astype(np.int64, copy=False)          # never written to
    else:
        raise ValueError(f"responses must be numeric, got dtype {x.dtype}")
    N, J = x.shape
    if J == 0 or N == 0:
        raise ValueError(f"responses must have at least one person and one item, got {x.shape}")
    if np.any(x < -1):
        i, j = np.argwhere(x < -1)[0]
        raise ValueError(f"responses[{i}, {j}] = {x[i, j]} is negative "
                         "(-1 marks an item not administered)")
    ids = tuple(str(i) for i in item_ids) if item_ids is not None else tuple(
        f"item{j + 1}" for j in range(J))
    if len(ids) != J:
        raise ValueError(f"item_ids has {len(ids)} entries but responses has {J} columns")
    if len(set(ids)) != J:
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"duplicate item id {dup!r}")
    models = [model.lower()] * J if isinstance(model, str) else [str(m).lower() for m in model]
    if len(models) != J:
        raise ValueError(f"model has {len(models)} entries but responses has {J} columns")
    for m in models:
        if m not in MODELS:
            raise ValueError(f"unknown model {m!r}; expected one of {', '.join(MODELS)}")
    _check_prior_pair("guess_prior", guess_prior, True)
    _check_prior_pair("slope_prior", slope_prior, False)
    if n_quad < 5:
        raise ValueError(f"n_quad must be at least 5, got {n_quad}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    if not (tol > 0 and ll_tol > 0):
        raise ValueError(f"tol and ll_tol must be positive, got {tol} and {ll_tol}")

    # anchors
    anchor_pos: dict[int, int] = {}
    if anchors is not None:
        if not isinstance(anchors, ItemBank):
            raise ValueError(f"anchors must be an ItemBank, got {type(anchors).__name__}")
        col_of = {item: j for j, item in enumerate(ids)}
        for k, item in enumerate(anchors.item_ids):
            if item not in col_of:
                raise ValueError(f"anchor item {item!r} is not among the response columns")
            anchor_pos[col_of[item]] = k
            models[col_of[item]] = anchors.model[k]

    # categories
    observed_max = x.max(axis=0)
    ncat = np.empty(J, dtype=np.int64)
    for j in range(J):
        if j in anchor_pos:
            ncat[j] = anchors.n_categories[anchor_pos[j]]  # type: ignore[union-attr]
        elif models[j] in DICHOTOMOUS_MODELS:
            ncat[j] = 2
        elif n_categories is not None:
            ncat[j] = n_categories if isinstance(n_categories, int) else list(n_categories)[j]
        else:
            ncat[j] = max(int(observed_max[j]) + 1, 2)
        if ncat[j] < 2:
            raise ValueError(f"item {ids[j]!r}: n_categories must be at least 2, got {ncat[j]}")
    too_big = x >= ncat[None, :]
    if np.any(too_big):
        i, j = np.argwhere(too_big)[0]
        raise ValueError(f"responses[{i}, {j}] = {x[i, j]} is outside 0..{ncat[j] - 1} "
                         f"for item {ids[j]!r} ({models[j]})")

    # problem items
    administered = x >= 0
    n_resp = administered.sum(axis=0)
    problems: list[ItemProblem] = []
    keep = np.ones(J, dtype=bool)
    cat_counts = _category_counts(x, int(ncat.max()))
    for j in range(J):
        if j in anchor_pos:
            continue
        counts = cat_counts[j, : ncat[j]]
        if n_resp[j] < min_responses:
            reason, msg = "too few responses", (
                f"item {ids[j]!r} has {n_resp[j]} responses (fewer than {min_responses})")
        elif np.count_nonzero(counts) <= 1:
            reason, msg = "no variance", (
                f"item {ids[j]!r}: all {n_resp[j]} responses are in category "
                f"{int(np.argmax(counts))}")
        elif np.any(counts == 0):
            reason, msg = "category never observed", (
                f"item {ids[j]!r}: categories {np.flatnonzero(counts == 0).tolist()} of "
                f"0..{ncat[j] - 1} were never chosen")
        else:
            continue
        keep[j] = False
        problems.append(ItemProblem(ids[j], j, reason, int(n_resp[j]), msg))
    if not keep.any():
        raise ValueError("no item can be calibrated: " + "; ".join(p.message for p in problems))

    kept = np.flatnonzero(keep)
    xk = x if keep.all() else x[:, kept]
    if not keep.all() or not administered.all():
        persons = (xk >= 0).any(axis=1)
        if not persons.all():
            xk = xk[persons]
    Nk = xk.shape[0]
    ncat_k = ncat[kept]
    models_k = [models[j] for j in kept]
    warnings: list[str] = []
    if Nk < N:
        warnings.append(f"{N - Nk} persons answered none of the calibrated items and were not used")

    # groups: anchors (fixed) by model, then estimated items by model
    guess = None if guess_prior is None else (float(guess_prior[0]), float(guess_prior[1]))
    slope = None if slope_prior is None else (float(slope_prior[0]), float(slope_prior[1]))
    counts_k = cat_counts[kept] if Nk == N else _category_counts(xk, int(ncat_k.max()))
    starts = _start_values(xk, ncat_k, models_k, guess, counts_k)
    groups: list[_Group] = []
    for fixed in (True, False):
        for m in MODELS:
            sel = [t for t, j in enumerate(kept) if models[j] == m and ((j in anchor_pos) == fixed)]
            if not sel:
                continue
            cols = np.array(sel, dtype=np.int64)
            kg = ncat_k[cols]
            width = 1 if m == "rasch" else (2 if m == "2pl" else 3) if m in DICHOTOMOUS_MODELS \
                else int(kg.max())
            params = np.full((len(sel), width), np.nan)
            free = np.zeros((len(sel), width), dtype=bool)
            if fixed:
                sub = anchors.subset([anchor_pos[int(kept[t])] for t in sel])  # type: ignore[union-attr]
                gp = sub.groups[0].params
                params[:, : gp.shape[1]] = gp
            else:
                for r, t in enumerate(sel):
                    params[r, : starts[t].size] = starts[t]
                    free[r, : starts[t].size] = True
            groups.append(_Group(m, cols, params, kg, free, fixed))

    est_sd = any(g.model == "rasch" and not g.fixed for g in groups) or bool(anchor_pos)
    est_mean = bool(anchor_pos)
    design = Design.build(xk, ncat_k)
    z, log_w = standard_grid(n_quad)
    Jk, Kmax = kept.size, int(ncat_k.max())

    def logp_all(state: list[_F], mu: float, sd: float) -> tuple[_F, _F]:
        theta = mu + sd * z
        out = np.full((z.size, Jk, Kmax), -np.inf)
        for g, prm in zip(groups, state):
            lp, _, _ = kernel(g.model, prm, g.ncat, theta)
            out[:, g.cols, : lp.shape[2]] = lp
        return out, theta

    def e_step(state: list[_F], mu: float, sd: float) -> tuple[_F, float, _F]:
        logp, theta = logp_all(state, mu, sd)
        post, lm = posterior(design.loglik_grid(logp, log_w))
        return post, float(lm.sum()), theta

    def m_step(state: list[_F], mu: float, sd: float, post: _F, theta: _F
               ) -> tuple[list[_F], float, float]:
        counts = design.expected_counts(post)
        new_state = []
        for g, prm in zip(groups, state):
            if g.fixed:
                new_state.append(prm)
                continue
            g.params = prm
            new_state.append(_m_step(g, theta, counts[:, g.cols, : g.ncat.max() if
                                                       g.model in POLYTOMOUS_MODELS else 2],
                                     guess, slope))
        if est_mean or est_sd:
            w = post.sum(axis=0) / Nk                                  # (Q,)
            m1 = float(w @ theta)
            new_mu = m1 if est_mean else mu
            v = float(w @ (theta - new_mu) ** 2)
            new_sd = float(np.sqrt(v)) if est_sd else sd
        else:
            new_mu, new_sd = mu, sd
        return new_state, new_mu, new_sd

    # ---- vector packing for SQUAREM
    free_masks = [g.free for g in groups]

    def pack(state: list[_F], mu: float, sd: float) -> _F:
        parts = [prm[f] for prm, f in zip(state, free_masks)]
        parts.append(np.array([mu, np.log(sd)]))
        return np.concatenate(parts)

    def unpack(vec: _F) -> tuple[list[_F], float, float]:
        out, pos = [], 0
        for g, f in zip(groups, free_masks):
            prm = g.params.copy() if g.fixed else np.full(f.shape, np.nan)
            if not g.fixed:
                k = int(f.sum())
                prm[f] = vec[pos: pos + k]
                pos += k
            out.append(prm)
        return out, float(vec[pos]), float(np.exp(vec[pos + 1]))

    def valid(state: list[_F], sd: float) -> bool:
        if not (np.isfinite(sd) and 0.05 < sd < 20):
            return False
        return all(_valid(g, prm).all() for g, prm in zip(groups, state) if not g.fixed)

    def scale_vec(state: list[_F], mu: float, sd: float) -> _F:
        parts = [_irt_change_scale(g, prm).ravel() for g, prm in zip(groups, state)
                 if not g.fixed]
        parts.append(np.array([mu, sd]))
        return np.concatenate(parts)

    state = [g.params.copy() for g in groups]
    mu, sd = 0.0, 1.0
    history: list[float] = []
    converged = False
    n_e = 0
    prev_ll = -np.inf
    prev_scale = scale_vec(state, mu, sd)

    def em_map(state: list[_F], mu: float, sd: float) -> tuple[list[_F], float, float, float]:
        nonlocal n_e
        post, ll, theta = e_step(state, mu, sd)
        n_e += 1
        history.append(ll)
        return (*m_step(state, mu, sd, post, theta), ll)

    def check(state: list[_F], mu: float, sd: float, ll: float) -> bool:
        nonlocal prev_ll, prev_scale
        sc = scale_vec(state, mu, sd)
        change = float(np.max(np.abs(sc - prev_scale))) if sc.size else 0.0
        dll = abs(ll - prev_ll)
        prev_ll, prev_scale = ll, sc
        if progress is not None:
            progress(n_e, ll, change)
        return change < tol and dll < ll_tol

    while n_e < max_iter:
        if not accelerate:
            state, mu, sd, ll = em_map(state, mu, sd)
            if check(state, mu, sd, ll):
                converged = True
                break
            continue
        # SQUAREM (SqS3): two EM maps, extrapolate, stabilise with a third.
        p0 = pack(state, mu, sd)
        s1, mu1, sd1, ll0 = em_map(state, mu, sd)
        if check(s1, mu1, sd1, ll0):
            state, mu, sd = s1, mu1, sd1
            converged = True
            break
        if n_e >= max_iter:
            state, mu, sd = s1, mu1, sd1
            break
        p1 = pack(s1, mu1, sd1)
        s2, mu2, sd2, ll1 = em_map(s1, mu1, sd1)
        if check(s2, mu2, sd2, ll1):
            state, mu, sd = s2, mu2, sd2
            converged = True
            break
        p2 = pack(s2, mu2, sd2)
        r = p1 - p0
        v = p2 - 2 * p1 + p0
        nv = float(np.sqrt(v @ v))
        alpha = -float(np.sqrt(r @ r)) / nv if nv > 0 else -1.0
        alpha = max(min(alpha, -1.0), -64.0)
        accepted = False
        if alpha < -1.0 and n_e < max_iter:
            for _ in range(4):
                pe = p0 - 2 * alpha * r + alpha**2 * v
                se_state, se_mu, se_sd = unpack(pe)
                if valid(se_state, se_sd):
                    s3, mu3, sd3, ll2 = em_map(se_state, se_mu, se_sd)
                    if ll2 >= ll1 and valid(s3, sd3):
                        state, mu, sd = s3, mu3, sd3
                        accepted = True
                        if check(s3, mu3, sd3, ll2):
                            converged = True
                        break
                    if n_e >= max_iter:
                        break
                alpha = (alpha - 1.0) / 2.0
                if alpha > -1.0 - 1e-9:
                    break
            if converged:
                break
        if not accepted:
            state, mu, sd = s2, mu2, sd2

    # final E-step at the returned parameters: log-likelihood and standard errors
    for g, prm in zip(groups, state):
        g.params = prm
    post, loglik, theta = e_step(state, mu, sd)
    log_prior_total = float(sum(_log_prior(g, g.params, guess, slope)[0].sum()
                                for g in groups if not g.fixed))

    # assemble the bank (kept columns, in column order)
    a = np.empty(Jk)
    b = np.full(Jk, np.nan)
    c = np.full(Jk, np.nan)
    th = np.full((Jk, max(1, Kmax - 1)), np.nan)
    se_a = np.full(Jk, np.nan)
    se_b = np.full(Jk, np.nan)
    se_c = np.full(Jk, np.nan)
    se_th = np.full((Jk, max(1, Kmax - 1)), np.nan)
    for g in groups:
        irt = group_to_irt(g.model, g.params)
        a[g.cols] = irt["a"]
        if "b" in irt:
            b[g.cols] = irt["b"]
            c[g.cols] = irt["c"]
        else:
            t = irt["thresholds"]
            th[g.cols, : t.shape[1]] = np.where(np.isfinite(t), t, np.nan)
    for t, j in enumerate(kept):              # anchors keep their exact given values
        if j in anchor_pos:
            k = anchor_pos[int(j)]
            a[t], b[t], c[t] = anchors.a[k], anchors.b[k], anchors.c[k]  # type: ignore[union-attr]
            th[t] = np.nan
            w = min(th.shape[1], anchors.thresholds.shape[1])  # type: ignore[union-attr]
            th[t, :w] = anchors.thresholds[k, :w]  # type: ignore[union-attr]
    bank = ItemBank(tuple(ids[j] for j in kept), tuple(models_k), a, b, c, th, ncat_k)

    mean_se = sd_se = float("nan")
    if standard_errors:
        # Σ_i s_i s_iᵀ accumulated over blocks of persons, so the (P, N) score matrix is
        # never held whole (P can reach thousands for a large bank).
        xt = np.ascontiguousarray(xk.T, dtype=np.int16)      # categories are small
        latent_cols = (["mean"] if est_mean else []) + (["sd"] if est_sd else [])
        info = np.zeros((0, 0))
        labels: list[tuple[int, int, int]] = []
        n_free = sum(int(g.free.sum()) for g in groups if not g.fixed) + len(latent_cols)
        block = max(1024, (1 << 23) // max(n_free, 1))
        for start in range(0, Nk, block):
            rows = slice(start, min(Nk, start + block))
            S, labels = _person_scores(groups, xt[:, rows], post[rows], theta)
            extra = []
            if est_mean:
                extra.append((post[rows] @ theta - mu) / sd**2)
            if est_sd:
                extra.append((post[rows] @ (theta - mu) ** 2 - sd**2) / sd**3)
            if extra:
                S = np.vstack([S, np.array(extra)])
            if start == 0:
                info = S @ S.T
            else:
                info += S @ S.T
        P = info.shape[0]
        # curvature of the (diagonal) priors
        for t, (gi, j, pi) in enumerate(labels):
            g = groups[gi]
            if (g.model == "3pl" and pi == 2 and guess is not None) or (
                    pi == 0 and slope is not None and g.model != "rasch"):
                info[t, t] += _log_prior(g, g.params[j: j + 1], guess, slope)[2][0, pi, pi]
        cov = _invert(info, labels, P, warnings)
        se_items = {}
        for t, (gi, j, p) in enumerate(labels):
            se_items.setdefault((gi, j), []).append((p, t))
        for (gi, j), entries in se_items.items():
            g = groups[gi]
            ps = [p for p, _ in entries]
            ts = [t for _, t in entries]
            block = cov[np.ix_(ts, ts)]
            prm = g.params[j]
            col = g.cols[j]
            jac = _irt_jacobian(g.model, prm, ps)        # rows: outputs, cols: params in ps
            var = np.einsum("op,pq,oq->o", jac, block, jac)
            sds = np.sqrt(np.maximum(var, 0.0))
            if g.model == "rasch":
                se_b[col] = sds[0]
            elif g.model in ("2pl", "3pl"):
                se_a[col], se_b[col] = sds[0], sds[1]
                if g.model == "3pl":
                    se_c[col] = sds[2]
            else:
                se_a[col] = sds[0]
                se_th[col, : sds.size - 1] = sds[1:]
        base = len(labels)
        for k, name in enumerate(latent_cols):
            val = float(np.sqrt(max(cov[base + k, base + k], 0.0)))
            if name == "mean":
                mean_se = val
            else:
                sd_se = val
    errors = ParameterErrors(bank.item_ids, se_a, se_b, se_c, se_th)
    if not converged:
        warnings.append(f"EM did not converge in {max_iter} iterations")
    return CalibrationResult(
        items=bank, se=errors, loglik=loglik, log_posterior=loglik + log_prior_total,
        n_iter=n_e, converged=converged, elapsed=time.perf_counter() - start_time,
        latent_mean=mu, latent_sd=sd, latent_mean_se=mean_se, latent_sd_se=sd_se,
        n_persons=Nk, problems=tuple(problems),
        anchors=tuple(ids[j] for j in kept if j in anchor_pos),
        history=tuple(history), warnings=tuple(warnings),
    )


def _invert(info: _F, labels: Sequence[tuple[int, int, int]], P: int,
            warnings: list[str]) -> _F:
    """Inverse of the information matrix; per-item blocks when it is too large."""
    if P == 0:
        return np.zeros((0, 0))
    if P <= _FULL_COV_LIMIT:
        try:
            chol = np.linalg.cholesky(info)
            inv_chol = np.linalg.inv(chol)
            return inv_chol.T @ inv_chol
        except np.linalg.LinAlgError:
            warnings.append("information matrix is singular; standard errors use a pseudo-inverse")
            return np.linalg.pinv(info)
    warnings.append(f"{P} free parameters: standard errors use per-item blocks of the information")
    cov = np.zeros_like(info)
    keys: dict[tuple[int, int], list[int]] = {}
    for t, (g, j, _) in enumerate(labels):
        keys.setdefault((g, j), []).append(t)
    keys[(-1, -1)] = list(range(len(labels), P))
    for idx in keys.values():
        if idx:
            cov[np.ix_(idx, idx)] = np.linalg.pinv(info[np.ix_(idx, idx)])
    return cov


def _irt_jacobian(model: str, prm: _F, ps: Sequence[int]) -> _F:
    """Jacobian of the IRT parameters (a, b[, c] or a, b_1..) w.r.t. the internal ones."""
    if model == "rasch":
        return np.array([[-1.0]])
    a = prm[0]
    if model in ("2pl", "3pl"):
        d = prm[1]
        rows = [[1.0, 0.0], [d / a**2, -1.0 / a]]
        if model == "3pl":
            c = expit(prm[2])
            rows = [r + [0.0] for r in rows] + [[0.0, 0.0, c * (1 - c)]]
        return np.array(rows)
    k = len(ps)
    jac = np.zeros((k, k))
    jac[0, 0] = 1.0
    for r, p in enumerate(ps[1:], start=1):
        jac[r, 0] = prm[p] / a**2
        jac[r, r] = -1.0 / a
    return jac


def marginal_loglik(
    responses: ArrayLike,
    items: ItemBank,
    *,
    latent_mean: float = 0.0,
    latent_sd: float = 1.0,
    n_quad: int = 41,
) -> float:
    """Marginal log-likelihood of a response matrix under given item parameters.

    Parameters
    ----------
    responses : (N, J) array_like of int
        ``-1`` where not administered.
    items : ItemBank
    latent_mean, latent_sd : float
        θ ~ N(latent_mean, latent_sd²).
    n_quad : int, default 41
        Same rectangular quadrature as :func:`calibrate`.

    Returns
    -------
    float
        ``Σ_i log Σ_q w_q Π_j P_j(x_ij | θ_q)``; useful to compare parameter sets on the
        same data (e.g. against another program's estimates).
    """
    from assess.irt._core import check_responses, grid_log_probs

    x = check_responses(responses, items)
    if not (np.isfinite(latent_sd) and latent_sd > 0):
        raise ValueError(f"latent_sd must be finite and positive, got {latent_sd}")
    design = Design.build(x, items.n_categories)
    z, log_w = standard_grid(n_quad)
    theta = latent_mean + latent_sd * z
    _, lm = posterior(design.loglik_grid(grid_log_probs(items, theta), log_w))
    return float(lm.sum())
