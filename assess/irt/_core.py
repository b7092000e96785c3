"""The engine's core (private): encoded responses, quadrature, log-likelihood on a grid.

DESIGN.md, "The engine's core idea": responses become a one-hot matrix and the item
models become log category probabilities on a θ grid; the log-likelihood of every person at
every grid point is then one matrix product, and the E-step is another.

To halve the work we use the *reduced* one-hot matrix: category 0 of each item is dropped
and expressed through the administered mask M,

    L = Y_r @ (log P_k - log P_0)ᵀ  +  M @ log P_0ᵀ,

where ``M @ log P_0ᵀ`` collapses to a constant row when every item was administered.
For dichotomous items Y_r is simply the 0/1 score matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from assess.irt.models import ItemBank, kernel

__all__ = [
    "THETA_MIN",
    "THETA_MAX",
    "check_responses",
    "Design",
    "standard_grid",
    "grid_log_probs",
    "posterior",
]

#: Bounds of every ability estimate and of the quadrature grids (logit metric).
THETA_MIN: float = -6.0
THETA_MAX: float = 6.0

_F = NDArray[np.float64]


def check_responses(responses: ArrayLike, items: ItemBank) -> NDArray[np.int64]:
    """Validate a response matrix against a bank; return it as int64 with -1 = missing.

    Accepts integer arrays, or float arrays holding whole numbers with NaN for missing.
    """
    x = np.asarray(responses)
    if x.ndim != 2:
        raise ValueError(f"responses must be a 2-d array (persons × items), got shape {x.shape}")
    if x.shape[1] != items.n_items:
        raise ValueError(
            f"responses has {x.shape[1]} columns but the item bank has {items.n_items} items"
        )
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        finite = np.where(nan, 0.0, x)
        if not np.all(np.isfinite(finite)) or np.any(finite != np.round(finite)):
            bad = np.argwhere(~nan & ((~np.isfinite(finite)) | (finite != np.round(finite))))[0]
            raise ValueError(
                f"responses[{bad[0]}, {bad[1]}] = {x[bad[0], bad[1]]} is not an integer category"
            )
        x = np.where(nan, -1, finite).astype(np.int64)
    elif x.dtype.kind in "iub":
        x = x.astype(np.int64, copy=False)
    else:
        raise ValueError(f"responses must be numeric, got dtype {x.dtype}")
    k = items.n_categories
    bad_mask = (x < -1) | (x >= k[None, :])
    if np.any(bad_mask):
        i, j = np.argwhere(bad_mask)[0]
        raise ValueError(
            f"responses[{i}, {j}] = {x[i, j]} is outside 0..{k[j] - 1} for item "
            f"{items.item_ids[j]!r} (-1 marks an item not administered)"
        )
    return x


@dataclass(frozen=True, eq=False)
class Design:
    """Responses encoded for the matrix products (private).

    Attributes
    ----------
    yr : (N, C) ndarray
        Reduced one-hot matrix, one column per (item, category ≥ 1).
    mask : (N, J) ndarray or None
        1.0 where administered; None when every item was administered to everyone.
    col_item, col_cat : (C,) ndarray of int
        Item and category of each column of ``yr``.
    """

    yr: _F
    mask: _F | None
    col_item: NDArray[np.int64]
    col_cat: NDArray[np.int64]
    n_items: int
    n_cat_max: int

    @classmethod
    def build(cls, x: NDArray[np.int64], n_categories: NDArray[np.int64]) -> Design:
        N, J = x.shape
        administered = x >= 0
        complete = bool(administered.all())
        kminus = n_categories - 1
        col_item = np.repeat(np.arange(J), kminus)
        starts = np.concatenate([[0], np.cumsum(kminus)[:-1]])
        col_cat = np.arange(col_item.size) - starts[col_item] + 1
        if np.all(kminus == 1):
            yr = (x == 1).astype(np.float64)
        else:
            C = int(kminus.sum())
            yr = np.zeros((N, C))
            pos = x > 0
            flat = (np.arange(N)[:, None] * C + starts[None, :] + x - 1)[pos]
            yr.reshape(-1)[flat] = 1.0
        mask = None if complete else administered.astype(np.float64)
        return cls(yr, mask, col_item, col_cat, J, int(n_categories.max()))

    @property
    def n_persons(self) -> int:
        return self.yr.shape[0]

    def loglik_grid(self, logp: _F) -> _F:
        """(N, Q) log-likelihood of each person at each grid point; logp is (Q, J, K)."""
        base = logp[:, :, 0]                                        # (Q, J)
        diff = logp[:, self.col_item, self.col_cat] - base[:, self.col_item]   # (Q, C)
        L = self.yr @ diff.T
        if self.mask is None:
            L += base.sum(axis=1)[None, :]
        else:
            L += self.mask @ base.T
        return L

    def expected_counts(self, post: _F) -> _F:
        """(Q, J, K) expected number of responses in each category at each grid point."""
        Q = post.shape[1]
        rr = post.T @ self.yr                                        # (Q, C)
        if self.mask is None:
            nq = np.broadcast_to(post.sum(axis=0)[:, None], (Q, self.n_items))
        else:
            nq = post.T @ self.mask                                   # (Q, J)
        counts = np.zeros((Q, self.n_items, self.n_cat_max))
        counts[:, self.col_item, self.col_cat] = rr
        counts[:, :, 0] = np.maximum(nq - counts[:, :, 1:].sum(axis=2), 0.0)
        return counts


def standard_grid(n_quad: int, limit: float = THETA_MAX) -> tuple[_F, _F]:
    """Rectangular quadrature for N(0, 1): equally spaced nodes on [-limit, limit].

    Returns
    -------
    nodes : (Q,) ndarray
    log_weights : (Q,) ndarray
        Log of the normal density at the nodes, normalised to sum to 1.
    """
    if n_quad < 5:
        raise ValueError(f"n_quad must be at least 5, got {n_quad}")
    z = np.linspace(-limit, limit, n_quad)
    lw = -0.5 * z**2
    lw -= np.logaddexp.reduce(lw)
    return z, lw


def grid_log_probs(items: ItemBank, theta: _F) -> _F:
    """(Q, J, K) log category probabilities on a grid, ``-inf`` padding."""
    out = np.full((theta.size, items.n_items, items.max_categories), -np.inf)
    for g in items.groups:
        logp, _, _ = kernel(g.model, g.params, g.n_categories, theta)
        out[:, g.index, : logp.shape[2]] = logp
    return out


def posterior(L: _F, log_prior: _F) -> tuple[_F, _F]:
    """Normalise ``L + log_prior`` row-wise in place.

    Returns
    -------
    post : (N, Q) ndarray
        Posterior weights (the array ``L`` itself, overwritten).
    log_marginal : (N,) ndarray
        ``log Σ_q exp(L_iq + log_prior_q)``.
    """
    L += log_prior[None, :]
    m = L.max(axis=1)
    L -= m[:, None]
    # exp(-600) ≈ 1e-261 is negligible against the row maximum exp(0) = 1, and keeps the
    # weights out of the subnormal range, where every later matrix product would crawl.
    np.maximum(L, -600.0, out=L)
    np.exp(L, out=L)
    s = L.sum(axis=1)
    L /= s[:, None]
    return L, m + np.log(s)
