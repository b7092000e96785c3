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

    One matrix ``y = [Y_r | M | 1]`` of shape (N, C [+ J] + 1): the reduced one-hot
    columns (one per item and category ≥ 1), the administered mask (only when some item
    was not administered to someone) and a column of ones, so that the log-likelihood, the
    constant ``Σ_j log P_j0`` and the log prior all come out of one matrix product, and the
    expected counts (with the posterior mass per grid point) out of another.

    Attributes
    ----------
    y : (N, C [+ J] + 1) ndarray
    n_cols : int
        C, the reduced one-hot columns.
    has_mask : bool
    col_item, col_cat : (C,) ndarray of int
        Item and category of each reduced one-hot column.
    """

    y: _F
    n_cols: int
    has_mask: bool
    col_item: NDArray[np.int64]
    col_cat: NDArray[np.int64]
    n_items: int
    n_cat_max: int

    @classmethod
    def build(cls, x: NDArray[np.int64], n_categories: NDArray[np.int64]) -> Design:
        N, J = x.shape
        administered = x >= 0
        has_mask = not bool(administered.all())
        kminus = n_categories - 1
        C = int(kminus.sum())
        col_item = np.repeat(np.arange(J), kminus)
        starts = np.concatenate([[0], np.cumsum(kminus)[:-1]])
        col_cat = np.arange(C) - starts[col_item] + 1
        width = C + (J if has_mask else 0) + 1
        y = np.zeros((N, width))
        if np.all(kminus == 1):
            np.equal(x, 1, out=y[:, :C], casting="unsafe")
        else:
            pos = x > 0
            flat = (np.arange(N)[:, None] * width + starts[None, :] + x - 1)[pos]
            y.reshape(-1)[flat] = 1.0
        if has_mask:
            y[:, C: C + J] = administered
        y[:, -1] = 1.0
        return cls(y, C, has_mask, col_item, col_cat, J, int(n_categories.max()))

    @property
    def n_persons(self) -> int:
        return self.y.shape[0]

    def loglik_grid(self, logp: _F, log_prior: _F | None = None) -> _F:
        """(N, Q) log-likelihood (plus ``log_prior``, if given) of each person at each grid
        point; ``logp`` is (Q, J, K)."""
        Q = logp.shape[0]
        base = logp[:, :, 0]                                                   # (Q, J)
        w = np.empty((Q, self.y.shape[1]))
        w[:, : self.n_cols] = logp[:, self.col_item, self.col_cat] - base[:, self.col_item]
        const = np.zeros(Q) if log_prior is None else np.array(log_prior, dtype=np.float64)
        if self.has_mask:
            w[:, self.n_cols: self.n_cols + self.n_items] = base
        else:
            const = const + base.sum(axis=1)
        w[:, -1] = const
        return self.y @ w.T

    def expected_counts(self, post: _F) -> _F:
        """(Q, J, K) expected number of responses in each category at each grid point."""
        Q = post.shape[1]
        r = self.y.T @ post                                                  # (width, Q)
        if self.has_mask:
            nq = r[self.n_cols: self.n_cols + self.n_items].T                  # (Q, J)
        else:
            nq = np.broadcast_to(r[-1][:, None], (Q, self.n_items))
        counts = np.zeros((Q, self.n_items, self.n_cat_max))
        counts[:, self.col_item, self.col_cat] = r[: self.n_cols].T
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


def posterior(L: _F, log_prior: _F | None = None) -> tuple[_F, _F]:
    """Normalise ``L + log_prior`` row-wise in place (``log_prior`` may already be in L).

    Returns
    -------
    post : (N, Q) ndarray
        Posterior weights (the array ``L`` itself, overwritten).
    log_marginal : (N,) ndarray
        ``log Σ_q exp(L_iq + log_prior_q)``.
    """
    if log_prior is not None:
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
