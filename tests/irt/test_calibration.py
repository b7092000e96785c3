"""Calibration: recovery, published values, standard errors, anchors, problem items.

Recovery tolerances come from sampling theory, not from trial and error: each estimate's
error is compared with its own standard error, with a Bonferroni bound so that a correct
engine fails a test with probability below 0.1 % (the data are seeded, so the outcome is
fixed). The standard errors themselves are checked against the observed information
(numerical Hessian of the marginal log-likelihood), an independent computation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from assess.irt import (
    ItemBank,
    calibrate,
    marginal_loglik,
    simulate_items,
    simulate_responses,
)

FAMILY_ALPHA = 1e-3


def z_scores(fit, true: ItemBank) -> dict[str, np.ndarray]:
    """(estimate - truth) / SE for every estimated parameter, by parameter kind."""
    t = true.subset(list(fit.items.item_ids))
    out = {}
    for f in ("a", "b", "c"):
        est, se, tr = getattr(fit.items, f), getattr(fit.se, f), getattr(t, f)
        m = np.isfinite(se)
        if m.any():
            out[f] = (est[m] - tr[m]) / se[m]
    m = np.isfinite(fit.se.thresholds)
    if m.any():
        out["thresholds"] = (fit.items.thresholds[m] - t.thresholds[m]) / fit.se.thresholds[m]
    return out


def assert_recovered(fit, true: ItemBank) -> None:
    z = z_scores(fit, true)
    allz = np.concatenate(list(z.values()))
    # Bonferroni: with m estimates, P(max |z| > crit) ≤ FAMILY_ALPHA under correct SEs.
    crit = stats.norm.isf(FAMILY_ALPHA / (2 * allz.size))
    worst = {k: float(np.max(np.abs(v))) for k, v in z.items()}
    assert np.max(np.abs(allz)) < crit, f"|z| above {crit:.2f}: {worst}"
    # Standard errors of the right size: E[z²] = 1 (errors share the sample's θ
    # distribution, so they are correlated and mean z² is not χ²/m; a factor-two error
    # in the SEs moves it by a factor of four).
    assert 0.25 < np.mean(allz**2) < 4.0, {k: float(np.mean(v**2)) for k, v in z.items()}


@pytest.mark.parametrize(("model", "n_items", "n_persons", "k"), [
    ("rasch", 20, 2000, 2),
    ("2pl", 20, 2000, 2),
    ("3pl", 20, 5000, 2),
    ("grm", 10, 2000, 5),
    ("gpcm", 10, 2000, 4),
])
def test_parameter_recovery(model, n_items, n_persons, k):
    rng = np.random.default_rng(2024)
    true = simulate_items(model, n_items, n_categories=k, rng=rng)
    sd = 1.3 if model == "rasch" else 1.0
    x = simulate_responses(true, sd * rng.standard_normal(n_persons), rng=rng)
    fit = calibrate(x, model)
    assert fit.converged and not fit.problems and fit.items.n_items == n_items
    assert_recovered(fit, true)
    if model == "rasch":
        assert np.all(fit.items.a == 1.0)
        crit = stats.norm.isf(FAMILY_ALPHA / 2)
        assert abs(fit.latent_sd - sd) < crit * fit.latent_sd_se
    else:
        assert fit.latent_sd == 1.0 and np.isnan(fit.latent_sd_se)


def test_recovery_with_responses_missing_by_design():
    rng = np.random.default_rng(7)
    true = simulate_items("2pl", 60, rng=rng)
    n = 4000
    order = np.argsort(rng.random((n, 60)), axis=1)
    administered = np.zeros((n, 60), dtype=bool)
    np.put_along_axis(administered, order[:, :20], True, axis=1)   # 20 random items each
    x = simulate_responses(true, rng.standard_normal(n), rng=rng, administered=administered)
    fit = calibrate(x, "2pl")
    assert fit.converged
    assert_recovered(fit, true)


def test_mixed_bank_recovery():
    rng = np.random.default_rng(8)
    parts = [simulate_items("2pl", 6, rng=rng), simulate_items("grm", 4, n_categories=4, rng=rng),
             simulate_items("gpcm", 4, n_categories=3, rng=rng), simulate_items("3pl", 6, rng=rng)]
    records = []
    for p, tag in zip(parts, "abcd"):
        for r in p.to_records():
            records.append({**r, "item_id": tag + r["item_id"]})
    true = ItemBank.from_records(records)
    x = simulate_responses(true, rng.standard_normal(6000), rng=rng)
    fit = calibrate(x, list(true.model), item_ids=true.item_ids)
    assert fit.converged
    assert fit.items.model == true.model
    assert fit.items.n_categories.tolist() == true.n_categories.tolist()
    assert_recovered(fit, true)


# Bock & Lieberman (1970) LSAT section 7: 1000 examinees, 5 items, as a pattern table.
# Source: R package mirt, data(LSAT7) (columns Item.1..Item.5, freq); its documentation
# (expand.table) prints the first rows: 00000 12, 00001 19, 00010 1, 00011 7, 00100 3,
# 00101 19. Item proportions correct: .828 .658 .772 .606 .843.
LSAT7 = [
    ("00000", 12), ("00001", 19), ("00010", 1), ("00011", 7), ("00100", 3), ("00101", 19),
    ("00110", 3), ("00111", 17), ("01000", 10), ("01001", 5), ("01010", 3), ("01011", 7),
    ("01100", 7), ("01101", 23), ("01110", 8), ("01111", 28), ("10000", 7), ("10001", 39),
    ("10010", 11), ("10011", 34), ("10100", 14), ("10101", 51), ("10110", 15), ("10111", 90),
    ("11000", 6), ("11001", 25), ("11010", 7), ("11011", 35), ("11100", 18), ("11101", 136),
    ("11110", 32), ("11111", 308),
]


def lsat7() -> np.ndarray:
    pats = np.array([[int(ch) for ch in p] for p, _ in LSAT7])
    return np.repeat(pats, [f for _, f in LSAT7], axis=0)


def test_lsat7_data():
    x = lsat7()
    assert x.shape == (1000, 5)
    np.testing.assert_allclose(x.mean(axis=0), [0.828, 0.658, 0.772, 0.606, 0.843])


def test_lsat7_2pl_reproduces_published_mirt_estimates():
    # R mirt, tests/testthat/test-01-dich.R: mod1 <- mirt(expand.table(LSAT7), 1);
    # coef(mod1) gives, per item, (a1, d, g, u) in slope-intercept form d = -a b:
    #   0.988 1.8561 0 1 | 1.081 0.808 0 1 | 1.706 1.8043 0 1 | 0.7651 0.486 0 1 |
    #   0.7358 1.8545 0 1   (checked there with tolerance 1e-2)
    published_a = [0.988, 1.081, 1.706, 0.7651, 0.7358]
    published_d = [1.8561, 0.808, 1.8043, 0.486, 1.8545]
    fit = calibrate(lsat7(), "2pl")
    assert fit.converged
    a, d = fit.items.a, -fit.items.a * fit.items.b
    np.testing.assert_allclose(a, published_a, atol=0.005)   # equal to 2 decimals
    np.testing.assert_allclose(d, published_d, atol=0.005)
    # R mirt prints "Log-likelihood = -2658.805" for this model
    assert fit.loglik == pytest.approx(-2658.805, abs=0.001)


def test_lsat7_3pl_without_prior_reproduces_mirt():
    # R mirt, tests/testthat/test-15-IRTpars.R: mirt(expand.table(LSAT7), 1, '3PL'),
    # coef(..., simplify = TRUE)$items[, 'd'] and IRTpars b. Item 2's guessing is weakly
    # identified (flat likelihood), so its values are compared to 0.02.
    d_pub = [1.86562047, 0.09404091, 1.78051762, 0.48189021, 1.86845282]
    b_pub = [-1.85291884, -0.04877029, -1.06840017, -0.65462572, -2.43551721]
    fit = calibrate(lsat7(), "3pl", guess_prior=None, standard_errors=False)
    d = -fit.items.a * fit.items.b
    tol = np.array([0.005, 0.02, 0.005, 0.005, 0.005])
    assert np.all(np.abs(d - d_pub) < tol), d
    assert np.all(np.abs(fit.items.b - b_pub) < tol), fit.items.b
    # the 3PL nests the 2PL: its maximum cannot be lower
    assert fit.loglik >= calibrate(lsat7(), "2pl", standard_errors=False).loglik


def observed_information_se(x, fit, model):
    """SEs from the numerical Hessian of the marginal log-likelihood (IRT parameters)."""
    it = fit.items
    J = it.n_items
    finite = np.isfinite(it.thresholds)

    def bank(v):
        if model == "2pl":
            return ItemBank.from_arrays("2pl", a=v[:J], b=v[J:])
        t = np.full(it.thresholds.shape, np.nan)
        t[finite] = v[J:]
        return ItemBank.from_arrays(model, a=v[:J], thresholds=t)

    v0 = np.concatenate([it.a, it.b] if model == "2pl" else [it.a, it.thresholds[finite]])
    h = 1e-4
    P = v0.size
    H = np.zeros((P, P))
    f0 = marginal_loglik(x, bank(v0))
    for i in range(P):
        up, down = v0.copy(), v0.copy()
        up[i] += h
        down[i] -= h
        H[i, i] = (marginal_loglik(x, bank(up)) - 2 * f0 + marginal_loglik(x, bank(down))) / h**2
        for j in range(i + 1, P):
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                v = v0.copy()
                v[i] += si * h
                v[j] += sj * h
                vals.append(marginal_loglik(x, bank(v)))
            H[i, j] = H[j, i] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
    return np.sqrt(np.diag(np.linalg.inv(-H)))


@pytest.mark.parametrize("model", ["2pl", "grm", "gpcm"])
def test_standard_errors_agree_with_observed_information(model):
    # The cross-product (empirical) information and the observed information are
    # asymptotically equal; at n = 1000-3000 they agree to a few per cent.
    if model == "2pl":
        x = lsat7()
    else:
        rng = np.random.default_rng(3)
        true = simulate_items(model, 3, n_categories=4, rng=rng)      # 12 parameters
        x = simulate_responses(true, rng.standard_normal(3000), rng=rng)
    fit = calibrate(x, model, tol=1e-7, ll_tol=1e-9)
    se = np.concatenate([fit.se.a, fit.se.b] if model == "2pl"
                        else [fit.se.a, fit.se.thresholds[np.isfinite(fit.se.thresholds)]])
    np.testing.assert_allclose(se, observed_information_se(x, fit, model), rtol=0.05)


def test_anchors_put_new_items_on_the_anchor_scale():
    rng = np.random.default_rng(12)
    true = simulate_items("2pl", 30, rng=rng)
    # a new cohort, abler and more spread out than the calibration sample of the anchors
    x = simulate_responses(true, 0.5 + 1.2 * rng.standard_normal(5000), rng=rng)
    anchors = true.subset(list(range(15)))
    fit = calibrate(x, "2pl", item_ids=true.item_ids, anchors=anchors)
    assert fit.converged
    assert fit.anchors == anchors.item_ids
    np.testing.assert_array_equal(fit.items.a[:15], anchors.a)
    np.testing.assert_array_equal(fit.items.b[:15], anchors.b)
    assert np.all(np.isnan(fit.se.a[:15]))
    crit = stats.norm.isf(FAMILY_ALPHA / 4)
    assert abs(fit.latent_mean - 0.5) < crit * fit.latent_mean_se
    assert abs(fit.latent_sd - 1.2) < crit * fit.latent_sd_se
    new = fit.items.subset(list(range(15, 30)))
    fake = dataclasses.replace(fit, items=new, se=dataclasses.replace(
        fit.se, item_ids=new.item_ids, a=fit.se.a[15:], b=fit.se.b[15:], c=fit.se.c[15:],
        thresholds=fit.se.thresholds[15:]))
    assert_recovered(fake, true)
    # without anchors the same data land on the sample's own N(0, 1) scale instead
    free = calibrate(x, "2pl", item_ids=true.item_ids, standard_errors=False)
    assert np.mean(free.items.b - true.b) < -0.3


def test_problem_items_are_reported_not_dropped_silently():
    rng = np.random.default_rng(4)
    true = simulate_items("2pl", 8, rng=rng)
    x = simulate_responses(true, rng.standard_normal(800), rng=rng)
    x[:, 2] = 1                                 # no variance
    x[5:, 5] = -1                               # answered by 5 persons only
    fit = calibrate(x, "2pl", item_ids=true.item_ids)
    reasons = {p.item_id: p.reason for p in fit.problems}
    assert reasons == {true.item_ids[2]: "no variance", true.item_ids[5]: "too few responses"}
    assert fit.items.item_ids == tuple(i for k, i in enumerate(true.item_ids) if k not in (2, 5))
    msg = {p.item_id: p.message for p in fit.problems}
    assert msg[true.item_ids[2]] == f"item {true.item_ids[2]!r}: all 800 responses are in category 1"
    assert msg[true.item_ids[5]] == f"item {true.item_ids[5]!r} has 5 responses (fewer than 10)"
    grm = simulate_items("grm", 3, n_categories=4, rng=rng)
    y = simulate_responses(grm, rng.standard_normal(500), rng=rng)
    y[y[:, 0] == 1, 0] = 2                      # category 1 of item 1 never chosen
    fit = calibrate(y, "grm", n_categories=4)
    assert [(p.column, p.reason) for p in fit.problems] == [(0, "category never observed")]


def test_acceleration_reaches_the_same_maximum_and_plain_em_is_monotone():
    rng = np.random.default_rng(5)
    true = simulate_items("gpcm", 8, n_categories=4, rng=rng)
    x = simulate_responses(true, rng.standard_normal(1500), rng=rng)
    fast = calibrate(x, "gpcm", standard_errors=False)
    slow = calibrate(x, "gpcm", accelerate=False, standard_errors=False, max_iter=2000)
    assert fast.converged and slow.converged and fast.n_iter < slow.n_iter
    assert np.all(np.diff(slow.history) > -1e-8)
    assert abs(fast.loglik - slow.loglik) < 1e-3
    np.testing.assert_allclose(fast.items.a, slow.items.a, atol=2e-3)
    np.testing.assert_allclose(fast.items.thresholds, slow.items.thresholds, atol=2e-3)


def test_non_convergence_is_flagged():
    rng = np.random.default_rng(6)
    true = simulate_items("2pl", 10, rng=rng)
    x = simulate_responses(true, rng.standard_normal(500), rng=rng)
    fit = calibrate(x, "2pl", max_iter=2)
    assert not fit.converged and fit.n_iter == 2
    assert "EM did not converge in 2 iterations" in fit.warnings


def test_result_is_frozen_and_complete():
    fit = calibrate(lsat7(), "2pl")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.loglik = 0.0  # type: ignore[misc]
    assert fit.n_persons == 1000 and fit.elapsed > 0 and len(fit.history) == fit.n_iter
    assert fit.log_posterior == fit.loglik            # no priors on a 2PL by default


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"responses": [[0, 1], [1, 2]]}, r"responses\[1, 1\] = 2 is outside 0..1 for item 'item2' \(2pl\)"),
    ({"responses": [[0, 1], [1, -3]]}, r"responses\[1, 1\] = -3 is negative"),
    ({"model": "4pl"}, "unknown model '4pl'; expected one of rasch, 2pl, 3pl, grm, gpcm"),
    ({"item_ids": ["x"]}, "item_ids has 1 entries but responses has 2 columns"),
    ({"anchors": ItemBank.from_arrays("2pl", a=[1.0], b=[0.0], item_ids=["zz"])},
     "anchor item 'zz' is not among the response columns"),
    ({"guess_prior": (0.5, 2.0)}, r"guess_prior must be a Beta\(α, β\) pair with α, β ≥ 1"),
    ({"n_quad": 3}, "n_quad must be at least 5, got 3"),
    ({"responses": np.zeros(3)}, r"responses must be a 2-d array"),
])
def test_invalid_arguments_are_rejected(kwargs, message):
    args = {"responses": [[0, 1], [1, 0], [1, 1]], "model": "2pl", **kwargs}
    with pytest.raises(ValueError, match=message):
        calibrate(args.pop("responses"), **args)


def test_slope_prior_keeps_small_sample_slopes_sane():
    rng = np.random.default_rng(9)
    true = simulate_items("2pl", 10, rng=rng)
    x = simulate_responses(true, rng.standard_normal(120), rng=rng)
    free = calibrate(x, "2pl")
    shrunk = calibrate(x, "2pl", slope_prior=(0.0, 0.5))
    assert shrunk.converged
    # the lognormal(0, 0.5) prior pulls log a towards 0 (a towards 1)
    assert np.sum(np.abs(np.log(shrunk.items.a))) < np.sum(np.abs(np.log(free.items.a)))
    assert shrunk.log_posterior < shrunk.loglik <= free.loglik
    assert np.all(np.isfinite(shrunk.se.a)) and np.all(shrunk.se.a < free.se.a)
