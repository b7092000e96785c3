"""Item and person fit.

* :func:`item_fit_msq` — infit and outfit mean squares (Rasch residual statistics; computed
  for any model from the model-implied mean and variance of each response), and their
  standardised forms (ZSTD, Wilson-Hilferty cube-root transformation).
* :func:`item_fit_sx2` — Orlando and Thissen's S-X² for rasch, 2pl, 3pl, grm and gpcm items,
  with summed-score likelihoods from the Lord-Wingersky recursion.
* :func:`person_fit_lz_star` — Snijders' lz* (Sinharay's extension for polytomous items).

References
----------
Wright, B. D., & Masters, G. N. (1982). *Rating scale analysis*. MESA Press.
Wilson, E. B., & Hilferty, M. M. (1931). The distribution of chi-square. *Proceedings of the
National Academy of Sciences*, 17(12), 684-688.
Linacre, J. M. *Winsteps Rasch measurement computer program user's guide*: "Misfit
diagnosis: infit outfit mean-square standardized".
Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for dichotomous item
response theory models. *Applied Psychological Measurement*, 24(1), 50-64.
Kang, T., & Chen, T. T. (2008). Performance of the generalized S-X² item fit index for
polytomous IRT models. *Journal of Educational Measurement*, 45(4), 391-406.
Lord, F. M., & Wingersky, M. S. (1984). Comparison of IRT true-score and equipercentile
observed-score "equatings". *Applied Psychological Measurement*, 8(4), 453-461.
Snijders, T. A. B. (2001). Asymptotic null distribution of person fit statistics with
estimated person parameter. *Psychometrika*, 66(3), 331-342.
Sinharay, S. (2016). Asymptotically correct standardization of person-fit statistics beyond
dichotomous items. *Psychometrika*, 81(4), 992-1013.
Drasgow, F., Levine, M. V., & Williams, E. A. (1985). Appropriateness measurement with
polychotomous item response models and standardized indices. *British Journal of
Mathematical and Statistical Psychology*, 38(1), 67-86.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.signal import fftconvolve
from scipy.stats import chi2

from assess.irt._core import check_responses, grid_log_probs, standard_grid
from assess.irt.models import ItemBank, category_probabilities, kernel

__all__ = [
    "ESTIMATORS",
    "ItemFitMsq",
    "ItemFitSX2",
    "item_fit_msq",
    "item_fit_sx2",
    "summed_score_distribution",
    "person_fit_lz_star",
]

#: Ability estimators whose estimating equation lz* can correct for.
ESTIMATORS: tuple[str, ...] = ("mle", "map", "eap")

_F = NDArray[np.float64]


def person_fit_lz_star(
    responses: ArrayLike,
    bank: ItemBank,
    theta: ArrayLike,
    *,
    estimator: str = "mle",
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
) -> _F:
    """Snijders' lz* (and Sinharay's polytomous extension) for each person.

    Parameters
    ----------
    responses : (N, J) array_like of int
        Categories ``0..K_j-1``; ``-1`` (or NaN) where not administered.
    bank : ItemBank
        The J items, any mix of rasch, 2pl, 3pl, grm and gpcm.
    theta : (N,) array_like
        The ability estimates the responses were scored with.
    estimator : {"mle", "map", "eap"}, default "mle"
        How ``theta`` was estimated: sets the prior term ``r_0`` of the correction.
        ``"eap"`` uses the MAP correction (EAP and MAP agree to O(1/n)).
    prior_mean, prior_sd : float
        The normal prior of ``"map"``/``"eap"``.

    Returns
    -------
    (N,) ndarray
        lz*, asymptotically N(0, 1) for persons who fit the model; large negative values
        flag aberrant patterns (e.g. ``lz* < -1.645`` at the 5 % level). NaN for persons
        with fewer than two answers or a zero variance.

    Notes
    -----
    With ``w_jk = log P_jk(θ)``, ``r_jk = ∂ log P_jk(θ)/∂θ`` and ``P'_jk = P_jk r_jk``
    over the administered items (Sinharay, 2016, eqs. 8-12; for dichotomous items this is
    exactly Snijders, 2001)::

        W    = Σ_j Σ_k (1[x_j = k] - P_jk) w_jk                  (l0 - E l0)
        c_n  = Σ_j Σ_k P'_jk w_jk / Σ_j Σ_k P'_jk r_jk
        w̃_jk = w_jk - c_n r_jk
        τ²   = Σ_j [Σ_k P_jk w̃_jk² - (Σ_k P_jk w̃_jk)²]
        lz*  = (W + c_n r_0(θ)) / τ,

    all at θ̂. ``r_0 = 0`` for the MLE and ``r_0 = -(θ - μ)/σ²`` for MAP (the derivative
    of the log prior), so that ``r_0 + Σ_j r_j,x_j = 0`` is the estimator's equation.
    For dichotomous items, ``w̃_j1 - w̃_j0 = log(P/Q) - c_n P'/(PQ)`` and ``τ² = Σ P Q
    (w̃_j1 - w̃_j0)²``, Snijders' formula.

    Examples
    --------
    >>> from assess.irt import simulate_items, simulate_responses, mle
    >>> bank = simulate_items("2pl", 40, rng=0)
    >>> x = simulate_responses(bank, np.zeros(500), rng=1)
    >>> z = person_fit_lz_star(x, bank, mle(x, bank).theta)
    >>> bool(abs(np.nanmean(z)) < 0.2)
    True
    """
    if not isinstance(bank, ItemBank):
        raise ValueError(f"bank must be an ItemBank, got {type(bank).__name__}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; expected one of mle, map, eap")
    if not (np.isfinite(prior_sd) and prior_sd > 0 and np.isfinite(prior_mean)):
        raise ValueError("prior_mean must be finite and prior_sd finite and positive")
    x = check_responses(responses, bank)
    th = np.asarray(theta, dtype=np.float64).reshape(-1)
    if th.size != x.shape[0]:
        raise ValueError(f"theta has {th.size} entries but responses has {x.shape[0]} rows")
    if not np.all(np.isfinite(th)):
        raise ValueError("theta must be finite")
    N = x.shape[0]
    W = np.zeros(N)
    num = np.zeros(N)
    den = np.zeros(N)
    # first pass: W and c_n; second pass: τ² with w̃ (needs c_n)
    parts = []
    for g in bank.groups:
        logp, _, dth = kernel(g.model, g.params, g.n_categories, th, theta_derivs=True)
        assert dth is not None
        xg = x[:, g.index]
        adm = (xg >= 0)[:, :, None]
        valid = np.isfinite(logp) & adm
        p = np.where(valid, np.exp(logp), 0.0)
        w = np.where(valid, logp, 0.0)
        r = np.where(valid, dth, 0.0)
        ind = (np.arange(logp.shape[2])[None, None, :] == xg[:, :, None]) & valid
        W += np.sum((ind - p) * w, axis=(1, 2))
        dp = p * r
        num += np.sum(dp * w, axis=(1, 2))
        den += np.sum(dp * r, axis=(1, 2))
        parts.append((p, w, r))
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(den > 0, num / den, 0.0)
    tau2 = np.zeros(N)
    for p, w, r in parts:
        wt = w - c[:, None, None] * r
        m = np.sum(p * wt, axis=2)
        tau2 += np.sum(np.sum(p * wt * wt, axis=2) - m * m, axis=1)
    r0 = np.zeros(N) if estimator == "mle" else -(th - prior_mean) / prior_sd**2
    n = np.sum(x >= 0, axis=1)
    ok = (n >= 2) & (tau2 > 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (W + c * r0) / np.sqrt(tau2)
    return np.where(ok, z, np.nan)


# --------------------------------------------------------------------------- item fit

_N_PARAMS = {"rasch": 1, "2pl": 2, "3pl": 3}


@dataclass(frozen=True, eq=False)
class ItemFitMsq:
    """Result of :func:`item_fit_msq`.

    Attributes
    ----------
    infit, outfit : (J,) ndarray
        Information-weighted and unweighted mean squares; expectation 1 under the model.
    n : (J,) ndarray of int
        Responses per item.
    infit_zstd, outfit_zstd : (J,) ndarray
        The mean squares standardised (Wilson-Hilferty): approximately N(0, 1) under the
        model; NaN for items without responses.
    """

    infit: _F
    outfit: _F
    n: NDArray[np.int64]
    infit_zstd: _F | None = None
    outfit_zstd: _F | None = None


@dataclass(frozen=True, eq=False)
class ItemFitSX2:
    """Result of :func:`item_fit_sx2`.

    Attributes
    ----------
    statistic, df, p_value : (J,) ndarray
        S-X², its degrees of freedom (score groups after collapsing × (K - 1) minus the
        item's free parameters) and the upper tail probability of χ²(df).
    n_groups : (J,) ndarray of int
        Summed-score groups after collapsing.
    """

    statistic: _F
    df: NDArray[np.int64]
    p_value: _F
    n_groups: NDArray[np.int64]


def item_fit_msq(responses: ArrayLike, bank: ItemBank, theta: ArrayLike) -> ItemFitMsq:
    """Infit and outfit mean squares of every item.

    Parameters
    ----------
    responses : (N, J) array_like of int
        ``-1`` where not administered.
    bank : ItemBank
    theta : (N,) array_like
        Person estimates (for Rasch analysis usually MLE or WLE).

    Returns
    -------
    ItemFitMsq

    Notes
    -----
    With ``E_ij = Σ_k k P_jk(θ_i)`` and ``W_ij = Σ_k (k - E_ij)² P_jk(θ_i)`` over the
    administered responses: outfit ``= (1/n_j) Σ_i (x_ij - E_ij)² / W_ij`` and infit
    ``= Σ_i (x_ij - E_ij)² / Σ_i W_ij`` (Wright & Masters, 1982). Values near 1 fit;
    above about 1.3 indicate noise, below about 0.7 redundancy.

    Standardised (ZSTD, as Winsteps reports them): with the fourth central moment
    ``C_ij = Σ_k (k - E_ij)⁴ P_jk(θ_i)``, the model variances of the mean squares are
    ``q²_out = Σ_i C_ij / W_ij² / n_j² - 1 / n_j`` and ``q²_in = Σ_i (C_ij - W_ij²) /
    (Σ_i W_ij)²`` (Wright & Masters, 1982, p. 100), and a mean square v with variance q²
    becomes, by the Wilson-Hilferty cube-root transformation,
    ``z = (v^{1/3} - 1) (3 / q) + q / 3``, approximately N(0, 1) when the data fit.
    ``|z| > 2`` flags misfit at about the 5 % level; with thousands of responses a
    small, harmless misfit is significant, so read z beside the mean square.

    Examples
    --------
    >>> from assess.irt import simulate_items, simulate_responses
    >>> bank = simulate_items("rasch", 10, rng=0)
    >>> th = np.random.default_rng(1).standard_normal(3000)
    >>> fit = item_fit_msq(simulate_responses(bank, th, rng=2), bank, th)
    >>> bool(np.all(np.abs(fit.outfit - 1) < 0.15)), bool(np.all(np.abs(fit.infit_zstd) < 4))
    (True, True)
    """
    if not isinstance(bank, ItemBank):
        raise ValueError(f"bank must be an ItemBank, got {type(bank).__name__}")
    x = check_responses(responses, bank)
    th = np.asarray(theta, dtype=np.float64).reshape(-1)
    if th.size != x.shape[0]:
        raise ValueError(f"theta has {th.size} entries but responses has {x.shape[0]} rows")
    if not np.all(np.isfinite(th)):
        raise ValueError("theta must be finite")
    p = category_probabilities(bank, th)                                  # (N, J, K)
    k = np.arange(p.shape[2])
    e = p @ k
    dev2 = (k[None, None, :] - e[:, :, None]) ** 2
    w = np.einsum("njk,njk->nj", p, dev2)
    c4 = np.einsum("njk,njk->nj", p, dev2 * dev2)
    adm = x >= 0
    r2 = np.where(adm, (x - e) ** 2, 0.0)
    n = adm.sum(axis=0)
    wa = np.where(adm, np.maximum(w, 1e-300), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        outfit = np.where(adm, r2 / wa, 0.0).sum(axis=0) / n
        sum_w = np.where(adm, w, 0.0).sum(axis=0)
        infit = r2.sum(axis=0) / sum_w
        q2_out = np.where(adm, c4 / wa**2, 0.0).sum(axis=0) / n**2 - 1.0 / n
        q2_in = np.where(adm, c4 - w**2, 0.0).sum(axis=0) / sum_w**2
        infit_z = _wilson_hilferty(infit, q2_in)
        outfit_z = _wilson_hilferty(outfit, q2_out)
    return ItemFitMsq(infit, outfit, n, infit_z, outfit_z)


def _wilson_hilferty(msq: _F, q2: _F) -> _F:
    """Mean square v with model variance q² → z = (v^{1/3} - 1)(3/q) + q/3."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.sqrt(np.maximum(q2, 0.0))
        z = (np.cbrt(msq) - 1.0) * (3.0 / q) + q / 3.0
    return np.where(np.isfinite(z) & (q > 0), z, np.nan)


def summed_score_distribution(probs: _F) -> _F:
    """Lord-Wingersky recursion: distribution of the summed score at each θ.

    Parameters
    ----------
    probs : (Q, J, K) ndarray
        Category probabilities of J items at Q ability values (zero padding).

    Returns
    -------
    (Q, S + 1) ndarray
        ``f(s | θ_q)`` for ``s = 0..S``, ``S = Σ_j (K_j - 1)`` counted from the padding.

    Notes
    -----
    ``f_j(s) = Σ_k f_{j-1}(s - k) P_jk`` — one convolution per item.

    Examples
    --------
    >>> summed_score_distribution(np.array([[[0.5, 0.5], [0.5, 0.5]]])).tolist()
    [[0.25, 0.5, 0.25]]
    """
    Q, J, K = probs.shape
    f = np.ones((Q, 1))
    for j in range(J):
        kj = int(np.max(np.flatnonzero(probs[:, j].max(axis=0) > 0), initial=0)) + 1
        g = np.zeros((Q, f.shape[1] + kj - 1))
        for k in range(kj):
            g[:, k: k + f.shape[1]] += f * probs[:, j, k: k + 1]
        f = g
    return f


def _conv(a: _F, b: _F) -> _F:
    if a.shape[1] == 1 or b.shape[1] == 1:
        return a * b if a.shape[1] == b.shape[1] else (
            a * b[:, :1] if b.shape[1] == 1 else b * a[:, :1])
    return np.maximum(fftconvolve(a, b, axes=1), 0.0)


def _sx2_cells(x: NDArray[np.int64], P: _F, kj: NDArray[np.int64], w: _F,
               min_expected: float) -> tuple[_F, NDArray[np.int64]]:
    """S-X² sums and pooled score groups of every item for complete responses ``x``
    (n, J) to items with grid probabilities ``P`` (Q, J, K)."""
    Q, J, _ = P.shape
    prefix = [np.ones((Q, 1))]
    for j in range(J):
        prefix.append(summed_score_distribution(P[:, j: j + 1, : kj[j]]) if j == 0 else
                      _conv(prefix[-1], P[:, j, : kj[j]]))
    suffix = [np.ones((Q, 1))]
    for j in range(J - 1, -1, -1):
        suffix.append(_conv(suffix[-1], P[:, j, : kj[j]]))
    suffix = suffix[::-1]                                                # suffix[j]: items ≥ j
    full = prefix[J]
    S = full.shape[1] - 1
    denom = w @ full                                                     # (S+1,)
    score = x.sum(axis=1)
    n_s = np.bincount(score, minlength=S + 1).astype(np.float64)
    stat = np.zeros(J)
    groups = np.zeros(J, dtype=np.int64)
    for j in range(J):
        K_j = int(kj[j])
        rest = _conv(prefix[j], suffix[j + 1])                           # (Q, S - K_j + 2)
        E = np.zeros((S + 1, K_j))
        for k in range(K_j):
            num = w @ (P[:, j, k: k + 1] * rest)                         # (S - K_j + 2,)
            E[k: k + num.size, k] = num
        with np.errstate(divide="ignore", invalid="ignore"):
            E = np.where(denom[:, None] > 0, E / denom[:, None], 0.0)
        O = np.zeros((S + 1, K_j))
        np.add.at(O, (score, x[:, j]), 1.0)
        exp_counts = E * n_s[:, None]
        # pool adjacent score groups 1..S-1 until every expected count ≥ min_expected
        pooled_o, pooled_e = [], []
        acc_o, acc_e = np.zeros(K_j), np.zeros(K_j)
        for s in range(1, S):
            acc_o += O[s]
            acc_e += exp_counts[s]
            if np.all(acc_e >= min_expected):
                pooled_o.append(acc_o)
                pooled_e.append(acc_e)
                acc_o, acc_e = np.zeros(K_j), np.zeros(K_j)
        if acc_e.sum() > 0:
            if pooled_o:
                pooled_o[-1] = pooled_o[-1] + acc_o
                pooled_e[-1] = pooled_e[-1] + acc_e
            else:
                pooled_o.append(acc_o)
                pooled_e.append(acc_e)
        if not pooled_o:
            continue
        Oa, Ea = np.array(pooled_o), np.array(pooled_e)
        with np.errstate(divide="ignore", invalid="ignore"):
            cells = np.where(Ea > 0, (Oa - Ea) ** 2 / Ea, 0.0)
        stat[j] = cells.sum()
        groups[j] = len(pooled_o)
    return stat, groups


def item_fit_sx2(
    responses: ArrayLike,
    bank: ItemBank,
    *,
    latent_mean: float = 0.0,
    latent_sd: float = 1.0,
    n_quad: int = 61,
    min_expected: float = 1.0,
    min_booklet: int = 100,
) -> ItemFitSX2:
    """Orlando-Thissen S-X² item fit (Kang-Chen generalisation for polytomous items).

    Parameters
    ----------
    responses : (N, J) array_like of int
        Categories ``0..K_j-1``; ``-1`` where not administered. Summed scores are only
        comparable between persons who took the same items, so persons are grouped by
        booklet (the set of items they answered), see Notes.
    bank : ItemBank
        The J calibrated items (any mix of models).
    latent_mean, latent_sd : float
        The calibration's latent distribution.
    n_quad : int, default 61
        Quadrature points on ``latent_mean ± 6 latent_sd``.
    min_expected : float, default 1.0
        Adjacent score groups are pooled until every expected cell count of the item
        reaches this.
    min_booklet : int, default 100
        Booklets taken by fewer persons are left out (their score groups would be too
        thin for the χ² approximation). With complete responses there is one booklet,
        always used.

    Returns
    -------
    ItemFitSX2
        NaN statistic and p-value (0 groups) for items in no booklet that is kept.

    Notes
    -----
    Persons are grouped by summed score s (s = 1..S-1; the extreme groups carry no
    information). For item j the model-expected proportion in category k at score s is

        E_jk(s) = ∫ P_jk(θ) f^{(-j)}(s - k | θ) φ(θ) dθ / ∫ f(s | θ) φ(θ) dθ,

    with ``f`` and ``f^{(-j)}`` the summed-score distributions of all items and of all
    but item j (Lord-Wingersky; the leave-one-out ones as convolutions of prefix and
    suffix distributions). ``S-X² = Σ_groups Σ_k (O - E)² / E`` on counts, with
    ``df = G (K_j - 1) - m_j`` (``m_j`` = 1 rasch, 2 2pl, 3 3pl, K_j grm/gpcm).

    Missing responses: a summed score means the same thing only for the same items, so
    the statistic is computed within each booklet (persons with the same pattern of
    administered items; the summed-score distributions run over that booklet's items)
    and the item's cells are added over the booklets that contain it:
    ``S-X² = Σ_b Σ_groups Σ_k (O - E)² / E`` and ``df = Σ_b G_b (K_j - 1) - m_j``. This
    is the statistic of a multiple-form design (each form is a complete test), and under
    the model each booklet's part is asymptotically χ² given the item parameters, so the
    sum is too. It does not use persons whose pattern is shared by fewer than
    ``min_booklet`` persons: with adaptive tests or data missing at random, where nearly
    every pattern is unique, nothing is left and S-X² does not apply (use infit/outfit).

    Examples
    --------
    >>> from assess.irt import simulate_items, simulate_responses
    >>> bank = simulate_items("2pl", 10, rng=0)
    >>> x = simulate_responses(bank, np.random.default_rng(1).standard_normal(2000), rng=2)
    >>> fit = item_fit_sx2(x, bank)
    >>> fit.p_value.shape
    (10,)
    """
    if not isinstance(bank, ItemBank):
        raise ValueError(f"bank must be an ItemBank, got {type(bank).__name__}")
    x = check_responses(responses, bank)
    if not (np.isfinite(latent_sd) and latent_sd > 0 and np.isfinite(latent_mean)):
        raise ValueError("latent_mean must be finite and latent_sd finite and positive")
    if min_expected <= 0:
        raise ValueError(f"min_expected must be positive, got {min_expected}")
    if int(min_booklet) < 1:
        raise ValueError(f"min_booklet must be at least 1, got {min_booklet}")
    z, logw = standard_grid(n_quad)
    nodes = latent_mean + latent_sd * z
    w = np.exp(logw)
    P = np.exp(grid_log_probs(bank, nodes))                            # (Q, J, K)
    J = P.shape[1]
    kj = bank.n_categories
    stat = np.zeros(J)
    groups = np.zeros(J, dtype=np.int64)
    adm = x >= 0
    patterns, which = np.unique(adm, axis=0, return_inverse=True)
    which = which.reshape(-1)
    for b, pattern in enumerate(patterns):
        items = np.flatnonzero(pattern)
        rows = np.flatnonzero(which == b)
        if items.size < 2 or (rows.size < min_booklet and len(patterns) > 1):
            continue
        st, gr = _sx2_cells(x[np.ix_(rows, items)], P[:, items], kj[items], w, min_expected)
        stat[items] += st
        groups[items] += gr
    m = np.array([_N_PARAMS.get(mod, int(k)) for mod, k in zip(bank.model, kj)])
    df = groups * (kj - 1) - m
    used = groups > 0
    with np.errstate(invalid="ignore"):
        p = np.where(used & (df > 0), chi2.sf(stat, np.maximum(df, 1)), np.nan)
    return ItemFitSX2(np.where(used, stat, np.nan), df.astype(np.int64), p, groups)
