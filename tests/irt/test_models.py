"""Item models: probabilities, information, expected scores, the bank container.

Independent references are written here from the formulas of DESIGN.md with plain numpy,
never through the engine's slope-intercept kernels.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assess.irt import (
    ItemBank,
    category_probabilities,
    expected_score,
    item_information,
    log_category_probabilities,
    one_hot,
    test_information,
)

# ------------------------------------------------------------------ direct formulas


def direct_probs(model: str, a: float, b: float, c: float, t: list[float], theta: float):
    """Category probabilities straight from DESIGN.md's formulas."""
    if model in ("rasch", "2pl", "3pl"):
        p = c + (1 - c) / (1 + np.exp(-a * (theta - b)))
        return np.array([1 - p, p])
    if model == "grm":
        star = [1.0] + [1 / (1 + np.exp(-a * (theta - bk))) for bk in t] + [0.0]
        return np.array([star[k] - star[k + 1] for k in range(len(t) + 1)])
    num = np.exp([sum(a * (theta - bv) for bv in t[:k]) for k in range(len(t) + 1)])
    return num / num.sum()


MIXED = ItemBank.from_records([
    {"item_id": "r", "model": "rasch", "b": 0.3},
    {"item_id": "two", "model": "2pl", "a": 1.4, "b": -0.7},
    {"item_id": "three", "model": "3pl", "a": 2.0, "b": 0.5, "c": 0.2},
    {"item_id": "g3", "model": "grm", "a": 1.1, "thresholds": [-1.0, 0.8]},
    {"item_id": "g5", "model": "grm", "a": 0.7, "thresholds": [-2.0, -0.5, 0.4, 1.9]},
    {"item_id": "p4", "model": "gpcm", "a": 0.9, "thresholds": [0.5, -0.4, 1.2]},
    {"item_id": "p2", "model": "gpcm", "a": 1.6, "thresholds": [0.1]},
])


def test_probabilities_match_the_formulas_for_a_mixed_bank():
    theta = np.array([-3.1, -0.4, 0.0, 1.7, 4.2])
    p = category_probabilities(MIXED, theta)
    assert p.shape == (5, 7, 5)
    for j, rec in enumerate(MIXED.to_records()):
        k = MIXED.n_categories[j]
        for i, th in enumerate(theta):
            want = direct_probs(rec["model"], rec["a"], rec["b"] or 0.0, rec["c"] or 0.0,
                                rec["thresholds"], th)
            np.testing.assert_allclose(p[i, j, :k], want, rtol=1e-12, atol=1e-15)
            assert np.all(p[i, j, k:] == 0.0)


def test_log_probabilities_stay_finite_far_out():
    bank = ItemBank.from_arrays(["2pl", "3pl", "grm", "gpcm"], a=[3.0, 3.0, 3.0, 3.0],
                                b=[5.5, -5.5, 0, 0], c=[0, 0.25, 0, 0],
                                thresholds=[[np.nan] * 2, [np.nan] * 2, [-5.0, 5.0], [-5.0, 5.0]])
    lp = log_category_probabilities(bank, [-6.0, 6.0])
    valid = np.arange(3)[None, None, :] < bank.n_categories[None, :, None]
    assert np.all(np.isfinite(lp[np.broadcast_to(valid, lp.shape)]))
    # 2pl at θ = -6, b = 5.5: log P(1) = log σ(-34.5) ≈ -34.5, far below float underflow of P·P
    assert lp[0, 0, 1] == pytest.approx(-34.5, abs=1e-9)


# ------------------------------------------------------------------ property tests

item_models = st.sampled_from(["rasch", "2pl", "3pl", "grm", "gpcm"])


@st.composite
def items(draw):
    model = draw(item_models)
    a = 1.0 if model == "rasch" else draw(st.floats(0.2, 4.0))
    if model in ("rasch", "2pl", "3pl"):
        b = draw(st.floats(-4, 4))
        c = draw(st.floats(0, 0.5)) if model == "3pl" else 0.0
        return ItemBank.from_records([{"item_id": "x", "model": model, "a": a, "b": b, "c": c}])
    k = draw(st.integers(2, 7))
    t = draw(st.lists(st.floats(-4, 4), min_size=k - 1, max_size=k - 1))
    if model == "grm":
        t = sorted(t)
        t = [v + 0.05 * i for i, v in enumerate(t)]          # strictly increasing
    return ItemBank.from_records([{"item_id": "x", "model": model, "a": a, "thresholds": t}])


@settings(max_examples=150, deadline=None)
@given(items(), st.lists(st.floats(-6, 6), min_size=1, max_size=8))
def test_probabilities_sum_to_one(bank, thetas):
    p = category_probabilities(bank, thetas)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    assert np.all(p >= 0)


@settings(max_examples=150, deadline=None)
@given(items(), st.floats(-6, 5.9), st.floats(1e-3, 3))
def test_cumulative_probabilities_and_expected_score_increase_with_theta(bank, theta, step):
    lo, hi = theta, min(theta + step, 6.0)
    p = category_probabilities(bank, [lo, hi])[:, 0, :]
    tail = np.cumsum(p[:, ::-1], axis=1)[:, ::-1][:, 1:]    # P(X ≥ k), k ≥ 1
    assert np.all(tail[1] >= tail[0] - 1e-12)
    e = expected_score(bank, [lo, hi])
    assert e[1] >= e[0] - 1e-12


@settings(max_examples=100, deadline=None)
@given(items(), st.floats(-4, 4))
def test_information_equals_minus_expected_second_derivative_of_loglik(bank, theta):
    # I(θ) = -Σ_k P_k ∂² log P_k / ∂θ², by central differences of log P (an identity
    # independent of the first-derivative formula the engine uses).
    h = 1e-4
    lp = log_category_probabilities(bank, [theta - h, theta, theta + h])[:, 0, :]
    k = bank.n_categories[0]
    second = (lp[2, :k] - 2 * lp[1, :k] + lp[0, :k]) / h**2
    want = -np.sum(np.exp(lp[1, :k]) * second)
    got = item_information(bank, theta)[0, 0]
    # Error budget of the second difference: truncation h²/12·|∂⁴ log P| is below 1e-6 here; the
    # rounding error is about 4·ε·M/h², where M bounds the terms log P is computed from
    # (a·Σ|θ - b_v| for GPCM, up to a·K·(|θ| + max|b|)); with a = 4, K = 5 that reaches 1e-5.
    terms = bank.a[0] * k * (abs(theta) + np.nanmax(np.abs(np.r_[bank.b, bank.thresholds[0], 0.0])) + 1)
    rounding = 4 * np.finfo(float).eps * terms / h**2
    assert got == pytest.approx(want, rel=2e-4, abs=2e-6 + rounding)


def test_information_closed_forms():
    theta = np.linspace(-3, 3, 13)
    bank = ItemBank.from_arrays(["2pl", "3pl"], a=[1.7, 1.2], b=[0.2, -0.3], c=[0, 0.2])
    p = category_probabilities(bank, theta)[:, :, 1]
    info = item_information(bank, theta)
    np.testing.assert_allclose(info[:, 0], 1.7**2 * p[:, 0] * (1 - p[:, 0]), rtol=1e-12)
    c = 0.2
    want = 1.2**2 * (p[:, 1] - c) ** 2 * (1 - p[:, 1]) / ((1 - c) ** 2 * p[:, 1])
    np.testing.assert_allclose(info[:, 1], want, rtol=1e-12)
    np.testing.assert_allclose(test_information(bank, theta), info.sum(axis=1))


def test_expected_score_per_item_and_total():
    theta = [-1.0, 0.5]
    per = expected_score(MIXED, theta, per_item=True)
    p = category_probabilities(MIXED, theta)
    np.testing.assert_allclose(per, (p * np.arange(5)).sum(axis=2))
    np.testing.assert_allclose(expected_score(MIXED, theta), per.sum(axis=1))


# ------------------------------------------------------------------ the container


def test_records_round_trip_and_subset():
    again = ItemBank.from_records(MIXED.to_records())
    for f in ("a", "b", "c", "thresholds", "n_categories"):
        np.testing.assert_array_equal(getattr(again, f), getattr(MIXED, f))
    assert again.model == MIXED.model
    sub = MIXED.subset(["p4", "two"])
    assert sub.item_ids == ("p4", "two")
    assert sub.n_categories.tolist() == [4, 2]
    assert MIXED.index("g5") == 4


def test_bank_is_frozen_and_read_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        MIXED.a = np.ones(7)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        MIXED.a[0] = 2.0


def test_one_hot_layout():
    y = one_hot([[1, 0, 1, 2, 4, 3, -1]], MIXED)
    assert y.shape == (1, int(MIXED.n_categories.sum()))
    offsets = MIXED.offsets
    assert y.sum() == 6
    for j, k in enumerate([1, 0, 1, 2, 4, 3]):
        assert y[0, offsets[j] + k] == 1
    assert y[0, offsets[6]: offsets[7]].sum() == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model": "4pl", "a": [1.0], "b": [0.0]}, "unknown model '4pl' for item 'item1'"),
    ({"model": "2pl", "a": [0.0], "b": [0.0]}, "item 'item1': a must be finite and positive, got 0.0"),
    ({"model": "rasch", "a": [1.5], "b": [0.0]}, "item 'item1': a rasch item has a = 1, got 1.5"),
    ({"model": "3pl", "a": [1.0], "b": [0.0], "c": [1.0]}, r"item 'item1': c must be in \[0, 1\), got 1.0"),
    ({"model": "2pl", "a": [1.0], "b": [0.0], "c": [0.2]}, "item 'item1': a 2pl item has c = 0, got 0.2"),
    ({"model": "grm", "a": [1.0], "thresholds": [[0.5, -0.5]]},
     r"item 'item1': grm thresholds must be strictly increasing, got \[0.5, -0.5\]"),
    ({"model": "2pl", "a": [1.0, 1.0], "b": [0.0, 0.0], "item_ids": ["q", "q"]},
     r"duplicate item id 'q' \(items 0 and 1\)"),
    ({"model": "2pl", "a": [1.0, 1.0], "b": [0.0]}, r"parameter arrays have different lengths"),
])
def test_invalid_banks_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ItemBank.from_arrays(**kwargs)


def test_invalid_theta_is_rejected():
    with pytest.raises(ValueError, match="theta must be finite"):
        category_probabilities(MIXED, [0.0, np.inf])
    with pytest.raises(ValueError, match=r"theta must be a scalar or a 1-d array, got shape \(1, 2\)"):
        item_information(MIXED, [[0.0, 1.0]])
