"""Linking: recovery of a known scale transformation."""

from __future__ import annotations

import numpy as np
import pytest

from assess.irt import simulate_items
from assess.irt.linking import LINKING_METHODS, link, transform_bank
from assess.irt.models import ItemBank

A_TRUE, B_TRUE = 1.3, -0.4          # θ_base = A θ_new + B


def mixed_base(seed: int) -> ItemBank:
    parts = [simulate_items("2pl", 20, rng=seed, item_ids=[f"d{j}" for j in range(20)]),
             simulate_items("3pl", 5, rng=seed + 1, item_ids=[f"g{j}" for j in range(5)]),
             simulate_items("grm", 5, rng=seed + 2, item_ids=[f"p{j}" for j in range(5)])]
    return ItemBank.from_records([r for p in parts for r in p.to_records()])


def new_scale(base: ItemBank) -> ItemBank:
    return transform_bank(base, 1 / A_TRUE, -B_TRUE / A_TRUE)    # the inverse map


@pytest.mark.parametrize("method", LINKING_METHODS)
def test_linking_recovers_an_exact_transformation(method):
    base = mixed_base(1)
    r = link(base, new_scale(base), method=method)
    assert r.A == pytest.approx(A_TRUE, abs=1e-5) and r.B == pytest.approx(B_TRUE, abs=1e-5)
    np.testing.assert_allclose(r.items.a, base.a, rtol=1e-5)
    np.testing.assert_allclose(r.items.b, base.b, atol=1e-5)
    np.testing.assert_allclose(r.items.thresholds, base.thresholds, atol=1e-5)
    assert len(r.anchors) == 30


@pytest.mark.parametrize("method", LINKING_METHODS)
def test_linking_recovers_the_transformation_despite_estimation_error(method):
    rng = np.random.default_rng(2)
    base = mixed_base(3)
    new = new_scale(base)
    recs = new.to_records()
    for rec in recs:     # calibration error of a few thousand persons: SE(a) ≈ 0.05, SE(b) ≈ 0.05
        rec["a"] *= float(np.exp(rng.normal(0, 0.05)))
        if rec.get("b") is not None:
            rec["b"] += float(rng.normal(0, 0.05))
        if rec.get("thresholds"):
            rec["thresholds"] = sorted(t + float(rng.normal(0, 0.05)) for t in rec["thresholds"])
    noisy = ItemBank.from_records(recs)
    # also unique (non-anchor) items in the new bank move with the anchors
    extra = simulate_items("2pl", 3, rng=4, item_ids=["u0", "u1", "u2"])
    noisy = ItemBank.from_records(noisy.to_records() + extra.to_records())
    r = link(base, noisy, method=method)
    # 30 anchors with errors of 0.05: the constants are good to a few hundredths; the
    # moment methods on a (mean-mean) are the least precise
    assert abs(r.A - A_TRUE) < 0.08 and abs(r.B - B_TRUE) < 0.08
    assert r.items.n_items == 33 and len(r.anchors) == 30
    u = r.items.index("u0")
    assert r.items.a[u] == pytest.approx(extra.a[0] / r.A)
    assert r.items.b[u] == pytest.approx(r.A * extra.b[0] + r.B)


def test_rasch_anchors_fix_the_slope():
    base = simulate_items("rasch", 10, rng=5)
    r = link(base, transform_bank(base, 1.0, 0.7), method="stocking-lord")
    assert r.A == 1.0 and r.B == pytest.approx(-0.7, abs=1e-6)


def test_linking_errors():
    base = simulate_items("2pl", 5, rng=6)
    other = simulate_items("2pl", 5, rng=6, item_ids=list("abcde"))
    with pytest.raises(ValueError, match=r"linking needs at least 2 anchor items, got 0"):
        link(base, other)
    with pytest.raises(ValueError, match=r"unknown linking method 'equipercentile'"):
        link(base, base, method="equipercentile")
    with pytest.raises(ValueError, match=r"anchor item 'zz' is not in both banks"):
        link(base, base, anchors=["item1", "zz"])


def _noisy(bank: ItemBank, seed: int, sd: float = 0.05) -> ItemBank:
    rng = np.random.default_rng(seed)
    recs = bank.to_records()
    for rec in recs:
        rec["a"] *= float(np.exp(rng.normal(0, sd)))
        if rec.get("b") is not None:
            rec["b"] += float(rng.normal(0, sd))
        if rec.get("thresholds"):
            rec["thresholds"] = sorted(t + float(rng.normal(0, sd)) for t in rec["thresholds"])
    return ItemBank.from_records(recs)


@pytest.mark.parametrize("method", ["haebara", "stocking-lord"])
def test_symmetric_criteria_recover_the_transformation(method):
    base = mixed_base(7)
    r = link(base, new_scale(base), method=method, symmetric=True)
    assert r.A == pytest.approx(A_TRUE, abs=1e-5) and r.B == pytest.approx(B_TRUE, abs=1e-5)
    r = link(base, _noisy(new_scale(base), 8), method=method, symmetric=True)
    assert abs(r.A - A_TRUE) < 0.08 and abs(r.B - B_TRUE) < 0.08


@pytest.mark.parametrize("method", ["haebara", "stocking-lord"])
def test_symmetric_criteria_give_inverse_links_in_the_two_directions(method):
    # with estimation error the two directions disagree under the one-sided criterion;
    # the symmetric one is the same sum either way, so its links are exact inverses
    base = _noisy(mixed_base(9), 10, sd=0.15)
    new = _noisy(new_scale(mixed_base(9)), 11, sd=0.15)
    fwd = link(base, new, method=method, symmetric=True)
    back = link(new, base, method=method, symmetric=True)
    assert back.A == pytest.approx(1 / fwd.A, rel=1e-5)
    assert back.B == pytest.approx(-fwd.B / fwd.A, abs=1e-5)
    fwd1 = link(base, new, method=method)
    back1 = link(new, base, method=method)
    assert abs(back1.A * fwd1.A - 1) + abs(back1.B + fwd1.B / fwd1.A) > 1e-3
    with pytest.raises(ValueError, match=r"symmetric applies to haebara and stocking-lord"):
        link(base, new, method="mean-sigma", symmetric=True)
