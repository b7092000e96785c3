"""Ability estimation against independent computations.

* EAP against a brute-force integral (scipy.integrate.quad) of a likelihood written here.
* MLE and MAP against scipy.optimize on single persons, with the same hand-written
  likelihood.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from assess.irt import (
    THETA_MAX,
    THETA_MIN,
    ItemBank,
    eap,
    estimate_ability,
    map_estimate,
    mle,
    simulate_items,
    simulate_responses,
    test_information,
)

BANK = ItemBank.from_records([
    {"item_id": "r", "model": "rasch", "b": -0.3},
    {"item_id": "two", "model": "2pl", "a": 1.4, "b": -0.7},
    {"item_id": "three", "model": "3pl", "a": 1.8, "b": 0.5, "c": 0.2},
    {"item_id": "two-b", "model": "2pl", "a": 0.8, "b": 1.1},
    {"item_id": "g3", "model": "grm", "a": 1.1, "thresholds": [-1.0, 0.8]},
    {"item_id": "g5", "model": "grm", "a": 0.7, "thresholds": [-2.0, -0.5, 0.4, 1.9]},
    {"item_id": "p4", "model": "gpcm", "a": 0.9, "thresholds": [0.5, -0.4, 1.2]},
])

RESPONSES = np.array([
    [1, 0, 1, 0, 2, 3, 1],
    [0, 1, -1, 0, 1, -1, 3],
    [1, 1, 1, 1, 0, 0, 0],
    [-1, -1, 0, -1, 2, 4, -1],
    [0, 0, 1, 1, 1, 2, 2],
])


def item_prob(rec, theta, k):
    """P(X = k | θ) from DESIGN.md's formulas, independent of the engine."""
    a, model, t = rec["a"], rec["model"], rec["thresholds"]
    if model in ("rasch", "2pl", "3pl"):
        c = rec["c"]
        p = c + (1 - c) / (1 + np.exp(-a * (theta - rec["b"])))
        return p if k == 1 else 1 - p
    if model == "grm":
        star = [1.0] + [1 / (1 + np.exp(-a * (theta - bk))) for bk in t] + [0.0]
        return star[k] - star[k + 1]
    z = [sum(a * (theta - bv) for bv in t[:v]) for v in range(len(t) + 1)]
    z = np.array(z)
    return np.exp(z[k] - z.max()) / np.exp(z - z.max()).sum()


def loglik(row, theta, bank=BANK):
    recs = bank.to_records()
    return sum(np.log(item_prob(recs[j], theta, k)) for j, k in enumerate(row) if k >= 0)


@pytest.mark.parametrize("prior", [(0.0, 1.0), (0.7, 0.6)])
def test_eap_matches_brute_force_quadrature(prior):
    m, s = prior
    est = eap(RESPONSES, BANK, prior_mean=m, prior_sd=s)
    for i, row in enumerate(RESPONSES):
        f = lambda t: np.exp(loglik(row, t)) * stats.norm.pdf(t, m, s)  # noqa: E731
        lo, hi = m - 8 * s, m + 8 * s
        z = integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0]
        m1 = integrate.quad(lambda t: t * f(t), lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0] / z
        m2 = integrate.quad(lambda t: t * t * f(t), lo, hi, epsabs=0, epsrel=1e-11,
                            limit=200)[0] / z
        assert est.theta[i] == pytest.approx(m1, abs=1e-6)
        assert est.se[i] == pytest.approx(np.sqrt(m2 - m1 * m1), abs=1e-6)


def test_eap_without_responses_returns_the_prior():
    est = eap(np.full((2, BANK.n_items), -1), BANK, prior_mean=0.4, prior_sd=0.8)
    np.testing.assert_allclose(est.theta, 0.4, atol=1e-9)
    np.testing.assert_allclose(est.se, 0.8, rtol=1e-6)
    assert est.n_responses.tolist() == [0, 0]


def test_mle_matches_scipy_on_single_persons():
    est = mle(RESPONSES, BANK)
    for i, row in enumerate(RESPONSES):
        res = optimize.minimize_scalar(lambda t: -loglik(row, t), bounds=(-6, 6),
                                       method="bounded", options={"xatol": 1e-10})
        assert est.theta[i] == pytest.approx(res.x, abs=1e-5)
        assert est.converged[i]
    # SE from the test information of the items each person answered
    for i, row in enumerate(RESPONSES):
        answered = BANK.subset(np.flatnonzero(row >= 0))
        want = 1 / np.sqrt(test_information(answered, est.theta[i])[0])
        assert est.se[i] == pytest.approx(want, rel=1e-9)


def test_map_matches_scipy_on_single_persons():
    m, s = 0.3, 0.9
    est = map_estimate(RESPONSES, BANK, prior_mean=m, prior_sd=s)
    for i, row in enumerate(RESPONSES):
        res = optimize.minimize_scalar(
            lambda t: -loglik(row, t) + 0.5 * ((t - m) / s) ** 2, bounds=(-6, 6),
            method="bounded", options={"xatol": 1e-10})
        assert est.theta[i] == pytest.approx(res.x, abs=1e-5)
        answered = BANK.subset(np.flatnonzero(row >= 0))
        info = test_information(answered, est.theta[i])[0] + 1 / s**2
        assert est.se[i] == pytest.approx(1 / np.sqrt(info), rel=1e-9)


def test_mle_gives_documented_values_for_extreme_patterns():
    bank = simulate_items("2pl", 10, rng=1)
    x = np.array([[1] * 10, [0] * 10, [1, 0] * 5, [-1] * 10, [1] * 5 + [-1] * 5])
    est = mle(x, bank)
    assert est.theta[0] == THETA_MAX and est.extreme[0] == 1
    assert est.theta[1] == THETA_MIN and est.extreme[1] == -1
    assert est.theta[4] == THETA_MAX and est.extreme[4] == 1
    assert est.extreme[2] == 0 and THETA_MIN < est.theta[2] < THETA_MAX
    for i in (0, 1):
        want = 1 / np.sqrt(test_information(bank, est.theta[i])[0])
        assert np.isfinite(est.se[i]) and est.se[i] == pytest.approx(want)
    assert np.isnan(est.theta[3]) and np.isnan(est.se[3])
    assert np.all(np.isfinite(est.theta[[0, 1, 2, 4]]))
    # polytomous: all top categories is also extreme
    grm = simulate_items("grm", 4, n_categories=3, rng=2)
    est = mle([[2, 2, 2, 2], [0, 0, 0, 0], [2, 0, 2, 0]], grm)
    assert est.extreme.tolist() == [1, -1, 0]
    assert est.theta[0] == THETA_MAX and est.theta[1] == THETA_MIN


def test_scoring_many_persons_equals_scoring_each_alone():
    rng = np.random.default_rng(5)
    bank = simulate_items("gpcm", 12, n_categories=4, rng=rng)
    x = simulate_responses(bank, rng.standard_normal(40), rng=rng,
                           administered=rng.random((40, 12)) < 0.8)
    for method in ("eap", "map", "mle"):
        together = estimate_ability(x, bank, method)
        for i in (0, 7, 39):
            alone = estimate_ability(x[i: i + 1], bank, method)
            assert alone.theta[0] == pytest.approx(together.theta[i], abs=1e-7, nan_ok=True)
            assert alone.se[0] == pytest.approx(together.se[i], abs=1e-7, nan_ok=True)


def test_eap_recovers_simulated_abilities():
    rng = np.random.default_rng(11)
    bank = simulate_items("2pl", 40, rng=rng)
    theta = rng.standard_normal(4000)
    est = eap(simulate_responses(bank, theta, rng=rng), bank)
    z = (est.theta - theta) / est.se
    # posterior SDs are calibrated: E[(θ - θ̂)²] = E[posterior variance]
    assert np.mean((est.theta - theta) ** 2) == pytest.approx(np.mean(est.se**2), rel=0.1)
    assert abs(np.mean(z)) < 4 / np.sqrt(theta.size)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: eap(np.zeros((2, 3), int), BANK), "responses has 3 columns but the item bank has 7 items"),
    (lambda: eap(np.zeros(7, int), BANK), r"responses must be a 2-d array \(persons × items\), got shape \(7,\)"),
    (lambda: mle([[2, 0, 0, 0, 0, 0, 0]], BANK), r"responses\[0, 0\] = 2 is outside 0..1 for item 'r'"),
    (lambda: map_estimate([[0, 0, 0, 0, 5, 0, 0]], BANK), r"responses\[0, 4\] = 5 is outside 0..2 for item 'g3'"),
    (lambda: eap([[0.5, 0, 0, 0, 0, 0, 0]], BANK), r"responses\[0, 0\] = 0.5 is not an integer category"),
    (lambda: eap(RESPONSES, BANK, prior_sd=0.0), "prior_sd must be finite and positive, got 0.0"),
    (lambda: map_estimate(RESPONSES, BANK, prior_mean=np.nan), "prior_mean must be finite, got nan"),
    (lambda: estimate_ability(RESPONSES, BANK, "wle"), "unknown method 'wle'; expected one of eap, map, mle"),
    (lambda: eap(RESPONSES, BANK.to_records()), "items must be an ItemBank, got list"),
])
def test_invalid_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_nan_marks_missing_in_float_arrays():
    x = RESPONSES.astype(float)
    x[x < 0] = np.nan
    np.testing.assert_allclose(eap(x, BANK).theta, eap(RESPONSES, BANK).theta)
