"""Item response models: the item bank container and the functions of θ.

Every model is written on the logistic metric with D = 1 (DESIGN.md, "Contracts"):

* ``rasch``  P(X=1) = 1 / (1 + exp(-(θ - b)))                       (a = 1, c = 0)
* ``2pl``    P(X=1) = 1 / (1 + exp(-a(θ - b)))
* ``3pl``    P(X=1) = c + (1 - c) / (1 + exp(-a(θ - b)))
* ``grm``    P(X ≥ k) = 1 / (1 + exp(-a(θ - b_k))),  k = 1..K-1, b_1 < ... < b_{K-1}
             (Samejima's graded response model), P(X = k) = P(X ≥ k) - P(X ≥ k+1)
* ``gpcm``   P(X = k) ∝ exp(Σ_{v≤k} a(θ - b_v)), empty sum for k = 0
             (Muraki's generalized partial credit model)

Internally the engine works in the slope-intercept form ``z = aθ + d`` (``d = -ab``;
``d_k = -a b_k`` for the polytomous models; ``logit(c)`` for guessing), where the
log-likelihood of each item is smooth and, for all models but the 3PL, concave.

References
----------
Lord, F. M. (1980). *Applications of item response theory to practical testing problems*.
Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores.
*Psychometrika Monograph Supplement*, 17.
Muraki, E. (1992). A generalized partial credit model. *Applied Psychological Measurement*,
16(2), 159-176.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, log_expit, logsumexp

__all__ = [
    "MODELS",
    "DICHOTOMOUS_MODELS",
    "POLYTOMOUS_MODELS",
    "ItemBank",
    "log_category_probabilities",
    "category_probabilities",
    "item_information",
    "test_information",
    "expected_score",
    "one_hot",
]

#: Model names accepted everywhere (lower case, as in PARAMS.csv).
MODELS: tuple[str, ...] = ("rasch", "2pl", "3pl", "grm", "gpcm")
DICHOTOMOUS_MODELS: frozenset[str] = frozenset({"rasch", "2pl", "3pl"})
POLYTOMOUS_MODELS: frozenset[str] = frozenset({"grm", "gpcm"})

_FloatArray = NDArray[np.float64]


def _readonly(x: ArrayLike, dtype: Any = np.float64) -> NDArray[Any]:
    arr = np.array(x, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class ItemBank:
    """Parameters of a bank of items, possibly mixing models and numbers of categories.

    Build one with :meth:`from_records` or :meth:`from_arrays` rather than the raw
    constructor. All arrays are read-only copies.

    Parameters
    ----------
    item_ids : tuple of str, length J
        Unique item identifiers.
    model : tuple of str, length J
        Model of each item, one of :data:`MODELS`.
    a : (J,) ndarray
        Slopes (discriminations), > 0; exactly 1 for ``rasch`` items.
    b : (J,) ndarray
        Difficulty of dichotomous items; NaN for polytomous items.
    c : (J,) ndarray
        Lower asymptote (guessing): in [0, 1) for ``3pl``, 0 for ``rasch`` and ``2pl``,
        NaN for polytomous items.
    thresholds : (J, T) ndarray
        ``b_1..b_{K-1}`` of polytomous items (GRM: category boundaries, strictly
        increasing; GPCM: step difficulties), NaN-padded to ``T = max(K) - 1``
        (at least 1 column). All NaN for dichotomous items.
    n_categories : (J,) ndarray of int
        Number of score categories K (2 for dichotomous items).

    Notes
    -----
    Responses to item ``j`` are integers ``0..n_categories[j]-1``.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.0, 1.5], b=[-0.5, 0.5])
    >>> bank.n_items, bank.item_ids
    (2, ('item1', 'item2'))
    """

    item_ids: tuple[str, ...]
    model: tuple[str, ...]
    a: _FloatArray
    b: _FloatArray
    c: _FloatArray
    thresholds: _FloatArray
    n_categories: NDArray[np.int64]
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.item_ids)
        models = tuple(str(m).lower() for m in self.model)
        J = len(ids)
        object.__setattr__(self, "item_ids", ids)
        object.__setattr__(self, "model", models)
        if len(models) != J:
            raise ValueError(f"model has {len(models)} entries but there are {J} item ids")
        seen: dict[str, int] = {}
        for j, item_id in enumerate(ids):
            if item_id in seen:
                raise ValueError(f"duplicate item id {item_id!r} (items {seen[item_id]} and {j})")
            seen[item_id] = j
        for name in ("a", "b", "c"):
            arr = np.array(getattr(self, name), dtype=np.float64).reshape(-1)
            if arr.shape != (J,):
                raise ValueError(f"{name} must have shape ({J},), got {arr.shape}")
            object.__setattr__(self, name, _readonly(arr))
        k = np.array(self.n_categories, dtype=np.int64).reshape(-1)
        if k.shape != (J,):
            raise ValueError(f"n_categories must have shape ({J},), got {k.shape}")
        object.__setattr__(self, "n_categories", _readonly(k, np.int64))
        t = np.array(self.thresholds, dtype=np.float64)
        if t.ndim == 1 and J > 0:
            t = t.reshape(J, -1)
        if t.ndim != 2 or t.shape[0] != J:
            raise ValueError(f"thresholds must have shape ({J}, T), got {t.shape}")
        width = max(1, int(k.max(initial=2)) - 1)
        if t.shape[1] < width:
            t = np.hstack([t, np.full((J, width - t.shape[1]), np.nan)])
        object.__setattr__(self, "thresholds", _readonly(t[:, :width]))
        for j in range(J):
            self._validate_item(j)

    def _validate_item(self, j: int) -> None:
        item, m = self.item_ids[j], self.model[j]
        a, b, c, k = self.a[j], self.b[j], self.c[j], int(self.n_categories[j])
        if m not in MODELS:
            raise ValueError(
                f"unknown model {m!r} for item {item!r}; expected one of {', '.join(MODELS)}"
            )
        if not (np.isfinite(a) and a > 0):
            raise ValueError(f"item {item!r}: a must be finite and positive, got {a}")
        if m in DICHOTOMOUS_MODELS:
            if k != 2:
                raise ValueError(f"item {item!r}: a {m} item has 2 categories, got {k}")
            if not np.isfinite(b):
                raise ValueError(f"item {item!r}: b must be finite, got {b}")
            if m == "rasch" and a != 1.0:
                raise ValueError(f"item {item!r}: a rasch item has a = 1, got {a}")
            if m == "3pl":
                if not (0.0 <= c < 1.0):
                    raise ValueError(f"item {item!r}: c must be in [0, 1), got {c}")
            elif c != 0.0:
                raise ValueError(f"item {item!r}: a {m} item has c = 0, got {c}")
            if not np.all(np.isnan(self.thresholds[j])):
                raise ValueError(f"item {item!r}: a {m} item has no thresholds b1, b2, ...")
        else:
            if k < 2:
                raise ValueError(f"item {item!r}: a {m} item needs at least 2 categories, got {k}")
            th = self.thresholds[j]
            if not np.all(np.isfinite(th[: k - 1])):
                raise ValueError(
                    f"item {item!r}: a {m} item with {k} categories needs {k - 1} finite "
                    f"thresholds b1..b{k - 1}, got {th[: k - 1].tolist()}"
                )
            if not np.all(np.isnan(th[k - 1 :])):
                raise ValueError(f"item {item!r}: more thresholds than its {k} categories allow")
            if m == "grm" and np.any(np.diff(th[: k - 1]) <= 0):
                raise ValueError(
                    f"item {item!r}: grm thresholds must be strictly increasing, "
                    f"got {th[: k - 1].tolist()}"
                )
            if not (np.isnan(b) and np.isnan(c)):
                raise ValueError(f"item {item!r}: a {m} item leaves b and c empty")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        model: str | Sequence[str],
        *,
        a: ArrayLike | None = None,
        b: ArrayLike | None = None,
        c: ArrayLike | None = None,
        thresholds: ArrayLike | None = None,
        item_ids: Sequence[str] | None = None,
    ) -> ItemBank:
        """Build a bank from parameter arrays.

        Parameters
        ----------
        model : str or sequence of str
            One model for all items, or one per item.
        a : (J,) array_like, optional
            Slopes; default 1.
        b : (J,) array_like, optional
            Difficulties of dichotomous items (ignored for polytomous items).
        c : (J,) array_like, optional
            Guessing of ``3pl`` items; default 0.
        thresholds : (J, K-1) array_like, optional
            Thresholds of polytomous items, NaN-padded for items with fewer categories.
        item_ids : sequence of str, optional
            Default ``item1, item2, ...``.

        Returns
        -------
        ItemBank
        """
        sizes = [np.size(x) if np.ndim(x) <= 1 else np.shape(x)[0]
                 for x in (a, b, c, thresholds) if x is not None]
        if not isinstance(model, str):
            sizes.append(len(model))
        if item_ids is not None:
            sizes.append(len(item_ids))
        if not sizes:
            raise ValueError("give at least one parameter array to size the bank")
        J = sizes[0]
        if any(s != J for s in sizes):
            raise ValueError(f"parameter arrays have different lengths: {sizes}")
        models = [model.lower()] * J if isinstance(model, str) else [m.lower() for m in model]
        poly = np.array([m in POLYTOMOUS_MODELS for m in models], dtype=bool)
        a_arr = np.ones(J) if a is None else np.asarray(a, dtype=np.float64).reshape(J)
        b_arr = np.zeros(J) if b is None else np.asarray(b, dtype=np.float64).reshape(J).copy()
        c_arr = np.zeros(J) if c is None else np.asarray(c, dtype=np.float64).reshape(J).copy()
        if thresholds is None:
            th = np.full((J, 1), np.nan)
        else:
            th = np.asarray(thresholds, dtype=np.float64)
            th = th.reshape(J, -1).copy()
        b_arr[poly] = np.nan
        c_arr[poly] = np.nan
        th[~poly] = np.nan
        k = np.where(poly, 1 + np.sum(np.isfinite(th), axis=1), 2)
        ids = tuple(item_ids) if item_ids is not None else tuple(f"item{j + 1}" for j in range(J))
        return cls(ids, tuple(models), a_arr, b_arr, c_arr, th, k)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> ItemBank:
        """Build a bank from one mapping per item.

        Each record has ``item_id``, ``model`` and ``a``; dichotomous items ``b`` and
        (for ``3pl``) ``c``; polytomous items ``thresholds`` (a sequence) or keys
        ``b1, b2, ...``. Missing ``a`` defaults to 1 (convenient for ``rasch``).

        Examples
        --------
        >>> bank = ItemBank.from_records([
        ...     {"item_id": "q1", "model": "3pl", "a": 1.2, "b": 0.0, "c": 0.2},
        ...     {"item_id": "q2", "model": "grm", "a": 0.9, "thresholds": [-1.0, 0.5]},
        ... ])
        >>> bank.n_categories.tolist()
        [2, 3]
        """
        recs = list(records)
        ids, models, a, b, c, ths = [], [], [], [], [], []
        for r in recs:
            m = str(r["model"]).lower()
            ids.append(str(r["item_id"]))
            models.append(m)
            a.append(float(r.get("a", 1.0)))
            if m in POLYTOMOUS_MODELS:
                if "thresholds" in r:
                    t = [float(v) for v in r["thresholds"]]
                else:
                    t, v = [], 1
                    while f"b{v}" in r and r[f"b{v}"] is not None:
                        t.append(float(r[f"b{v}"]))
                        v += 1
                b.append(np.nan)
                c.append(np.nan)
                ths.append(t)
            else:
                b.append(float(r["b"]))
                c.append(float(r.get("c", 0.0) or 0.0))
                ths.append([])
        width = max([1] + [len(t) for t in ths])
        th = np.full((len(recs), width), np.nan)
        for j, t in enumerate(ths):
            th[j, : len(t)] = t
        k = [len(t) + 1 if m in POLYTOMOUS_MODELS else 2 for m, t in zip(models, ths)]
        return cls(tuple(ids), tuple(models), np.array(a), np.array(b), np.array(c), th,
                   np.array(k, dtype=np.int64))

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per item with ``item_id, model, a, b, c, thresholds`` (inverse of
        :meth:`from_records`)."""
        out = []
        for j in range(self.n_items):
            k = int(self.n_categories[j])
            poly = self.model[j] in POLYTOMOUS_MODELS
            out.append({
                "item_id": self.item_ids[j],
                "model": self.model[j],
                "a": float(self.a[j]),
                "b": None if poly else float(self.b[j]),
                "c": None if poly else float(self.c[j]),
                "thresholds": [float(v) for v in self.thresholds[j, : k - 1]] if poly else [],
            })
        return out

    # ------------------------------------------------------------------ structure
    @property
    def n_items(self) -> int:
        """Number of items J."""
        return len(self.item_ids)

    @property
    def max_categories(self) -> int:
        """Largest number of categories in the bank."""
        return int(self.n_categories.max(initial=2))

    @property
    def offsets(self) -> NDArray[np.int64]:
        """(J + 1,) start column of each item in the one-hot layout; ``offsets[-1] = Σ K``."""
        if "offsets" not in self._cache:
            self._cache["offsets"] = _readonly(
                np.concatenate([[0], np.cumsum(self.n_categories)]), np.int64)
        return self._cache["offsets"]

    def index(self, item_id: str) -> int:
        """Position of ``item_id`` in the bank."""
        try:
            return self._positions[item_id]
        except KeyError:
            raise ValueError(f"unknown item id {item_id!r}") from None

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {item_id: j for j, item_id in enumerate(self.item_ids)}

    def subset(self, items: Sequence[int] | Sequence[str] | NDArray[Any]) -> ItemBank:
        """A new bank with the given items (positions or ids), in that order."""
        idx = np.array([self.index(i) if isinstance(i, str) else int(i) for i in items],
                       dtype=np.int64)
        return ItemBank(tuple(self.item_ids[j] for j in idx), tuple(self.model[j] for j in idx),
                        self.a[idx], self.b[idx], self.c[idx], self.thresholds[idx],
                        self.n_categories[idx])

    @cached_property
    def groups(self) -> tuple[ModelGroup, ...]:
        """Items grouped by model, with parameters in slope-intercept form (internal)."""
        out = []
        for m in MODELS:
            idx = np.flatnonzero(np.array(self.model) == m)
            if idx.size == 0:
                continue
            out.append(ModelGroup.from_bank(self, m, idx))
        return tuple(out)

    def __repr__(self) -> str:
        counts = {m: self.model.count(m) for m in MODELS if m in self.model}
        return f"ItemBank(n_items={self.n_items}, models={counts})"


# ---------------------------------------------------------------------------------
# Slope-intercept kernels shared by scoring and calibration (private API).
# ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ModelGroup:
    """Items of one model, in internal slope-intercept parameters (private).

    ``params`` is (J_g, p): rasch ``[d]``; 2pl ``[a, d]``; 3pl ``[a, d, logit c]``;
    grm / gpcm ``[a, d_1, ..., d_T]`` (NaN-padded), with ``d = -a b``.
    """

    model: str
    index: NDArray[np.int64]          # positions of the items in the bank
    params: _FloatArray               # (J_g, p)
    n_categories: NDArray[np.int64]   # (J_g,)

    @classmethod
    def from_bank(cls, bank: ItemBank, model: str, idx: NDArray[np.int64]) -> ModelGroup:
        a = bank.a[idx]
        if model == "rasch":
            params = (-bank.b[idx])[:, None]
        elif model == "2pl":
            params = np.column_stack([a, -a * bank.b[idx]])
        elif model == "3pl":
            c = bank.c[idx]
            with np.errstate(divide="ignore"):
                g = np.log(c) - np.log1p(-c)
            params = np.column_stack([a, -a * bank.b[idx], g])
        else:
            k = bank.n_categories[idx]
            t = int(k.max()) - 1
            params = np.column_stack([a, -a[:, None] * bank.thresholds[idx, :t]])
        return cls(model, idx, params, bank.n_categories[idx].copy())

    @property
    def n_cat(self) -> int:
        return 2 if self.model in DICHOTOMOUS_MODELS else int(self.n_categories.max())

    def category_mask(self) -> NDArray[np.bool_]:
        """(J_g, K_g) True where the category exists."""
        return np.arange(self.n_cat)[None, :] < self.n_categories[:, None]


def group_to_irt(model: str, params: _FloatArray) -> dict[str, _FloatArray]:
    """Internal slope-intercept parameters (J_g, p) → IRT ``a, b, c, thresholds``."""
    J = params.shape[0]
    if model == "rasch":
        return {"a": np.ones(J), "b": -params[:, 0], "c": np.zeros(J)}
    a = params[:, 0]
    if model == "2pl":
        return {"a": a, "b": -params[:, 1] / a, "c": np.zeros(J)}
    if model == "3pl":
        return {"a": a, "b": -params[:, 1] / a, "c": expit(params[:, 2])}
    return {"a": a, "thresholds": -params[:, 1:] / a[:, None]}


def kernel(
    model: str,
    params: _FloatArray,
    n_categories: NDArray[np.int64],
    theta: _FloatArray,
    *,
    param_derivs: bool = False,
    theta_derivs: bool = False,
) -> tuple[_FloatArray, _FloatArray | None, _FloatArray | None]:
    """Log category probabilities and their derivatives (private).

    Parameters
    ----------
    model : str
    params : (J, p) ndarray
        Slope-intercept parameters (see :class:`ModelGroup`).
    n_categories : (J,) ndarray of int
    theta : (n,) ndarray or (n, 1)
        Ability values; the result broadcasts ``theta[:, None]`` against the items.

    Returns
    -------
    logp : (n, J, K) ndarray
        ``log P(X = k | θ)``; ``-inf`` for categories an item does not have.
    dparam : (n, J, K, p) ndarray or None
        ``∂ log P / ∂ params`` (zero for missing categories and padded parameters).
    dtheta : (n, J, K) ndarray or None
        ``∂ log P / ∂ θ``.
    """
    th = np.asarray(theta, dtype=np.float64).reshape(-1, 1)  # (n, 1)
    J = params.shape[0]
    if model in DICHOTOMOUS_MODELS:
        if model == "rasch":
            a = np.ones(J)
            d = params[:, 0]
        else:
            a, d = params[:, 0], params[:, 1]
        z = th * a + d                                   # (n, J)
        l1, l0 = log_expit(z), log_expit(-z)
        if model == "3pl":
            g = params[:, 2]
            lc, l1c = log_expit(g), log_expit(-g)        # log c, log(1 - c)
            logp1 = np.logaddexp(lc, l1c + l1)
            logp0 = l1c + l0
        else:
            logp1, logp0 = l1, l0
        logp = np.stack([logp0, logp1], axis=-1)         # (n, J, 2)
        dparam = dtheta = None
        if param_derivs or theta_derivs:
            s = np.exp(l1)                               # σ(z)
            if model == "3pl":
                dz1 = np.exp(l1c + l1 + l0 - logp1)      # ∂logP1/∂z
            else:
                dz1 = np.exp(l0)
            dz0 = -s                                     # ∂logP0/∂z
            dz = np.stack([dz0, dz1], axis=-1)           # (n, J, 2)
            if theta_derivs:
                dtheta = dz * a[None, :, None]
            if param_derivs:
                if model == "rasch":
                    dparam = dz[..., None]
                else:
                    parts = [dz * th[:, :, None], dz]
                    if model == "3pl":
                        c = np.exp(lc)
                        dg1 = np.exp(l0) * c * (1.0 - c) / np.exp(logp1)
                        dg0 = np.broadcast_to(-c, dg1.shape)
                        parts.append(np.stack([dg0, dg1], axis=-1))
                    dparam = np.stack(parts, axis=-1)    # (n, J, 2, p)
        return logp, dparam, dtheta

    K = int(n_categories.max())
    valid = np.arange(K)[None, :] < n_categories[:, None]        # (J, K)
    a = params[:, 0]
    d = params[:, 1:K]                                            # (J, K-1)
    if model == "grm":
        dz = np.where(np.isnan(d), -np.inf, d)
        z = th[:, :, None] * a[None, :, None] + dz[None]          # (n, J, K-1) cumulative
        n = z.shape[0]
        zz = np.concatenate([np.full((n, J, 1), np.inf), z, np.full((n, J, 1), -np.inf)], -1)
        hi, lo = zz[..., :-1], zz[..., 1:]                        # z_k, z_{k+1}
        with np.errstate(invalid="ignore"):
            logp = log_expit(hi) + log_expit(-lo) + np.log(-np.expm1(lo - hi))
        logp = np.where(valid[None], logp, -np.inf)
        dparam = dtheta = None
        if param_derivs or theta_derivs:
            w = np.exp(log_expit(zz) + log_expit(-zz))            # P*(1-P*), 0 at ±inf
            p = np.exp(logp)
            with np.errstate(divide="ignore", invalid="ignore"):
                inv_p = np.where(p > 0, 1.0 / p, 0.0)
            wk, wk1 = w[..., :-1], w[..., 1:]
            dz_common = (wk - wk1) * inv_p                       # ∂logP_k/∂(aθ) per unit
            if theta_derivs:
                dtheta = dz_common * a[None, :, None]
            if param_derivs:
                dparam = np.zeros(logp.shape + (K,))
                dparam[..., 0] = dz_common * th[:, :, None]
                ks = np.arange(K - 1)
                # ∂logP_k/∂d_m: +W_k/P_k for m = k (k ≥ 1); -W_{k+1}/P_k for m = k + 1
                dparam[:, :, ks + 1, ks + 1] = (wk * inv_p)[:, :, ks + 1]
                dparam[:, :, ks, ks + 1] = -(wk1 * inv_p)[:, :, ks]
                dparam = np.where(valid[None, :, :, None], dparam, 0.0)
        return logp, dparam, dtheta

    # gpcm
    dz = np.where(np.isnan(d), 0.0, d)
    csum = np.concatenate([np.zeros((J, 1)), np.cumsum(dz, axis=1)], axis=1)   # (J, K)
    kk = np.arange(K, dtype=np.float64)
    z = th[:, :, None] * (a[:, None] * kk[None, :])[None] + csum[None]         # (n, J, K)
    z = np.where(valid[None], z, -np.inf)
    logp = z - logsumexp(z, axis=-1, keepdims=True)
    dparam = dtheta = None
    if param_derivs or theta_derivs:
        p = np.exp(logp)
        centred = kk - np.sum(p * kk, axis=-1, keepdims=True)                 # k - E[k]
        centred = np.where(valid[None], centred, 0.0)
        if theta_derivs:
            dtheta = centred * a[None, :, None]
        if param_derivs:
            dparam = np.zeros(logp.shape + (K,))
            dparam[..., 0] = centred * th[:, :, None]
            # S_v = P(X ≥ v), v = 1..K-1; ∂logP_k/∂d_v = 1[k ≥ v] - S_v
            tail = np.cumsum(p[..., ::-1], axis=-1)[..., ::-1][..., 1:]          # (n, J, K-1)
            step = (kk[:, None] >= kk[None, 1:]).astype(np.float64)             # (K, K-1)
            dparam[..., 1:] = step[None, None] - tail[:, :, None, :]
            pad = ~np.isfinite(d)                                                # (J, K-1)
            dparam[..., 1:] = np.where(pad[None, :, None, :], 0.0, dparam[..., 1:])
            dparam = np.where(valid[None, :, :, None], dparam, 0.0)
    return logp, dparam, dtheta


# ---------------------------------------------------------------------------------
# Public functions of θ.
# ---------------------------------------------------------------------------------

def _theta_vector(theta: ArrayLike) -> _FloatArray:
    th = np.asarray(theta, dtype=np.float64)
    if th.ndim > 1:
        raise ValueError(f"theta must be a scalar or a 1-d array, got shape {th.shape}")
    th = th.reshape(-1)
    if not np.all(np.isfinite(th)):
        raise ValueError("theta must be finite")
    return th


def _check_bank(items: ItemBank) -> None:
    if not isinstance(items, ItemBank):
        raise ValueError(f"items must be an ItemBank, got {type(items).__name__}")


def log_category_probabilities(items: ItemBank, theta: ArrayLike) -> _FloatArray:
    """Log probability of each category of each item at each θ.

    Parameters
    ----------
    items : ItemBank
        J items, largest number of categories K.
    theta : float or (n,) array_like

    Returns
    -------
    (n, J, K) ndarray
        ``log P(X_j = k | θ_i)``; ``-inf`` in the padding of items with fewer than K
        categories.

    Notes
    -----
    Computed in log space (``log_expit``; for the GRM ``log P_k = log σ(z_k) +
    log σ(-z_{k+1}) + log(1 - exp(z_{k+1} - z_k))``), so no category underflows to
    ``log 0`` at extreme θ.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[1.0], b=[0.0])
    >>> np.exp(log_category_probabilities(bank, 0.0))[0, 0].tolist()
    [0.5, 0.5]
    """
    _check_bank(items)
    th = _theta_vector(theta)
    out = np.full((th.size, items.n_items, items.max_categories), -np.inf)
    for g in items.groups:
        logp, _, _ = kernel(g.model, g.params, g.n_categories, th)
        out[:, g.index, : logp.shape[2]] = logp
    return out


def category_probabilities(items: ItemBank, theta: ArrayLike) -> _FloatArray:
    """Probability of each category of each item at each θ.

    Parameters
    ----------
    items : ItemBank
    theta : float or (n,) array_like

    Returns
    -------
    (n, J, K) ndarray
        Rows sum to 1 over the categories an item has; zero padding beyond.

    See Also
    --------
    log_category_probabilities
    """
    return np.exp(log_category_probabilities(items, theta))


def item_information(items: ItemBank, theta: ArrayLike) -> _FloatArray:
    """Fisher information of each item at each θ.

    Parameters
    ----------
    items : ItemBank
    theta : float or (n,) array_like

    Returns
    -------
    (n, J) ndarray

    Notes
    -----
    ``I_j(θ) = Σ_k P_jk(θ) (∂ log P_jk(θ) / ∂θ)²``; for the 2PL this is
    ``a² P (1 - P)``, for the 3PL ``a² (P - c)² (1 - P) / ((1 - c)² P)``.

    Examples
    --------
    >>> bank = ItemBank.from_arrays("2pl", a=[2.0], b=[0.0])
    >>> float(item_information(bank, 0.0)[0, 0])
    1.0
    """
    _check_bank(items)
    th = _theta_vector(theta)
    out = np.zeros((th.size, items.n_items))
    for g in items.groups:
        logp, _, dth = kernel(g.model, g.params, g.n_categories, th, theta_derivs=True)
        assert dth is not None
        out[:, g.index] = np.sum(np.exp(logp) * dth**2, axis=-1)
    return out


def test_information(items: ItemBank, theta: ArrayLike) -> _FloatArray:
    """Test information ``Σ_j I_j(θ)``.

    Parameters
    ----------
    items : ItemBank
    theta : float or (n,) array_like

    Returns
    -------
    (n,) ndarray
    """
    return item_information(items, theta).sum(axis=1)


test_information.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def expected_score(items: ItemBank, theta: ArrayLike, *, per_item: bool = False) -> _FloatArray:
    """Expected score ``Σ_k k P(X = k | θ)``.

    Parameters
    ----------
    items : ItemBank
    theta : float or (n,) array_like
    per_item : bool, default False
        Return the (n, J) item expected scores instead of their sum.

    Returns
    -------
    (n,) or (n, J) ndarray
    """
    p = category_probabilities(items, theta)
    scores = np.sum(p * np.arange(p.shape[2]), axis=2)
    return scores if per_item else scores.sum(axis=1)


def one_hot(responses: ArrayLike, items: ItemBank) -> _FloatArray:
    """The one-hot response matrix Y of DESIGN.md's "core idea".

    Parameters
    ----------
    responses : (N, J) array_like of int
        Category of each response, ``-1`` where the item was not administered.
    items : ItemBank

    Returns
    -------
    (N, Σ_j K_j) ndarray
        ``Y[i, offsets[j] + k] = 1`` when person i answered category k of item j;
        rows of items not administered are all zero. ``Y @ log P`` (with log P laid out
        the same way, see :attr:`ItemBank.offsets`) is the log-likelihood.
    """
    from assess.irt._core import check_responses  # local: _core imports this module

    x = check_responses(responses, items)
    N, J = x.shape
    out = np.zeros((N, int(items.offsets[-1])))
    rows, cols = np.nonzero(x >= 0)
    out[rows, items.offsets[cols] + x[rows, cols]] = 1.0
    return out
