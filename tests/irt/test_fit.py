"""Item fit (S-X², infit/outfit) and person fit (lz*): null distributions and power."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from assess.irt import (
    calibrate,
    category_probabilities,
    map_estimate,
    mle,
    simulate_items,
    simulate_responses,
)
from assess.irt.fit import (
    item_fit_msq,
    item_fit_sx2,
    person_fit_lz_star,
    summed_score_distribution,
)
from assess.irt.models import ItemBank

N = 2000


@pytest.mark.parametrize("model,n_items", [("rasch", 40), ("2pl", 40), ("3pl", 40),
                                           ("grm", 20), ("gpcm", 20)])
def test_lz_star_is_about_standard_normal_for_fitting_simulees(model, n_items):
    rng = np.random.default_rng(len(model) * 100 + n_items)
    bank = simulate_items(model, n_items, rng=rng)
    x = simulate_responses(bank, rng.standard_normal(N), rng=rng)
    est = mle(x, bank)
    z = person_fit_lz_star(x, bank, est.theta)[est.extreme == 0]
    # Snijders (2001): N(0, 1) up to O(n^-1/2) terms (skewness of l0 at n = 20-40 items
    # shifts the mean by ~0.1); Monte Carlo SD of the mean 0.02, of the SD 0.016
    assert abs(np.mean(z)) < 0.2
    assert 0.85 < np.std(z) < 1.15
    # type I error at the 5 % level: binomial SD 0.005, plus the finite-n shift
    assert 0.025 < np.mean(z < -1.645) < 0.08
    zm = person_fit_lz_star(x, bank, map_estimate(x, bank).theta, estimator="map")
    assert abs(np.mean(zm)) < 0.2 and 0.85 < np.std(zm) < 1.15


def assert_nominal(p_values, *, mean_tol: float) -> None:
    """p-values uniform under the model: the 5 % rejection rate within three binomial SDs of
    0.05, and the mean near 0.5 (``mean_tol`` about three SDs of the mean of that many)."""
    p = np.asarray(p_values)
    assert np.mean(p < 0.05) < 0.05 + 3 * np.sqrt(0.05 * 0.95 / p.size)
    assert abs(np.mean(p) - 0.5) < mean_tol


def test_lz_star_is_clearly_negative_for_random_guessing_and_copying():
    rng = np.random.default_rng(1)
    bank = simulate_items("2pl", 40, rng=rng)
    # random guessing on every item (four-option items: P(correct) = 1/4)
    x_guess = (rng.random((500, 40)) < 0.25).astype(int)
    z = person_fit_lz_star(x_guess, bank, map_estimate(x_guess, bank).theta, estimator="map")
    assert np.mean(z) < -2 and np.mean(z < -1.645) > 0.6
    # low-ability copiers who copied a high-ability source on the 16 hardest items
    theta = np.full(500, -1.0)
    x_copy = simulate_responses(bank, theta, rng=rng)
    source = simulate_responses(bank, np.full(500, 1.5), rng=rng)
    hard = np.argsort(bank.b)[-16:]
    x_copy[:, hard] = source[:, hard]
    z = person_fit_lz_star(x_copy, bank, map_estimate(x_copy, bank).theta, estimator="map")
    assert np.mean(z) < -1.5 and np.mean(z < -1.645) > 0.4


def test_lz_star_reduces_to_snijders_formula_for_dichotomous_items():
    rng = np.random.default_rng(2)
    bank = simulate_items("2pl", 15, rng=rng)
    x = simulate_responses(bank, rng.standard_normal(5), rng=rng)
    theta = rng.normal(0, 0.5, 5)
    got = person_fit_lz_star(x, bank, theta, estimator="map", prior_mean=0, prior_sd=1)
    a, b = bank.a, bank.b
    for i in range(5):
        p = 1 / (1 + np.exp(-a * (theta[i] - b)))
        q = 1 - p
        dp = a * p * q
        w = np.log(p / q)
        r = dp / (p * q)
        c = np.sum(dp * w) / np.sum(dp * r)
        num = np.sum((x[i] - p) * w) + c * (-theta[i])
        tau = np.sqrt(np.sum((w - c * r) ** 2 * p * q))
        assert got[i] == pytest.approx(num / tau, rel=1e-10)


def test_lz_star_handles_missing_and_too_short_patterns():
    bank = simulate_items("grm", 5, rng=3)
    x = np.array([[0, 1, 2, -1, 3], [-1, -1, 1, -1, -1]])
    z = person_fit_lz_star(x, bank, [0.2, 0.0])
    assert np.isfinite(z[0]) and np.isnan(z[1])
    with pytest.raises(ValueError, match=r"theta has 1 entries but responses has 2 rows"):
        person_fit_lz_star(x, bank, [0.0])
    with pytest.raises(ValueError, match=r"unknown estimator 'wle'"):
        person_fit_lz_star(x, bank, [0.0, 0.0], estimator="wle")


# ----------------------------------------------------------------------------- item fit


def test_lord_wingersky_matches_brute_force_enumeration():
    bank = simulate_items("gpcm", 4, n_categories=3, rng=5)
    p = category_probabilities(bank, [-1.0, 0.5])
    f = summed_score_distribution(p)
    brute = np.zeros((2, 9))
    for pattern in product(range(3), repeat=4):
        brute[:, sum(pattern)] += np.prod([p[:, j, k] for j, k in enumerate(pattern)], axis=0)
    np.testing.assert_allclose(f, brute, atol=1e-14)


@pytest.mark.parametrize("model,n_items", [("2pl", 20), ("3pl", 20), ("grm", 10),
                                           ("gpcm", 10)])
def test_sx2_keeps_its_nominal_type_i_error_on_fitting_data(model, n_items):
    rng = np.random.default_rng(40 + n_items + len(model))
    p_values = []
    for _ in range(4):
        bank = simulate_items(model, n_items, rng=rng)
        x = simulate_responses(bank, rng.standard_normal(2000), rng=rng)
        fit = calibrate(x, model, standard_errors=False)
        sx = item_fit_sx2(x, fit.items, latent_mean=fit.latent_mean, latent_sd=fit.latent_sd)
        p_values.extend(sx.p_value.tolist())
    # 40-80 p-values: mean SD ≤ 0.046
    assert_nominal(p_values, mean_tol=0.15)


def test_sx2_flags_an_item_simulated_with_another_model():
    rng = np.random.default_rng(7)
    true = simulate_items("2pl", 20, rng=rng)
    recs = true.to_records()
    # item 0 truly 3PL with strong guessing; calibrated as 2PL it misfits
    recs[0] = {"item_id": recs[0]["item_id"], "model": "3pl", "a": 2.0, "b": 1.0, "c": 0.35}
    x = simulate_responses(ItemBank.from_records(recs), rng.standard_normal(3000), rng=rng)
    fit = calibrate(x, "2pl", standard_errors=False)
    sx = item_fit_sx2(x, fit.items, latent_mean=fit.latent_mean, latent_sd=fit.latent_sd)
    assert sx.p_value[0] < 0.001
    assert np.median(sx.p_value[1:]) > 0.1


def test_infit_and_outfit_are_near_one_for_rasch_data_and_not_for_a_misfit():
    rng = np.random.default_rng(8)
    bank = simulate_items("rasch", 15, rng=rng)
    theta = rng.standard_normal(3000)
    x = simulate_responses(bank, theta, rng=rng)
    # item 0 answered at random: noise, mean squares well above 1
    x[:, 0] = rng.integers(0, 2, 3000)
    fit = item_fit_msq(x, bank, theta)
    # for a fitting item the mean square has SD about sqrt(2/N) ≈ 0.03 (infit) and a bit
    # more for outfit: 0.15 is several SDs
    assert np.all(np.abs(fit.infit[1:] - 1) < 0.1) and np.all(np.abs(fit.outfit[1:] - 1) < 0.15)
    assert fit.infit[0] > 1.3 and fit.outfit[0] > 1.3
    assert fit.n.tolist() == [3000] * 15


def _booklets(rng, n_persons: int, n_items: int) -> np.ndarray:
    """Three forms of a multiple-form design: items 0..n/2 common, the rest split in three
    (each form: the common items and one third of the others)."""
    common = n_items // 2
    form = rng.integers(0, 3, n_persons)
    part = common + np.arange(n_items - common) % 3
    adm = np.ones((n_persons, n_items), dtype=bool)
    adm[:, common:] = (part[None, :] - common) == form[:, None]
    return adm


def test_sx2_with_missing_responses_adds_up_the_booklets():
    rng = np.random.default_rng(11)
    bank = simulate_items("2pl", 18, rng=rng)
    x = simulate_responses(bank, rng.standard_normal(1500), rng=rng)
    adm = _booklets(rng, 1500, 18)
    x[~adm] = -1
    x[:40, 9:] = -1                         # a fourth, small booklet: left out (40 < 100)
    fit = item_fit_sx2(x, bank)
    stat, groups = np.zeros(18), np.zeros(18, dtype=int)
    for pattern in np.unique(adm[40:], axis=0):           # each booklet as complete data
        rows = np.flatnonzero(np.all(adm == pattern, axis=1) & (np.arange(1500) >= 40))
        items = np.flatnonzero(pattern)
        one = item_fit_sx2(x[np.ix_(rows, items)], bank.subset(items))
        stat[items] += one.statistic
        groups[items] += one.n_groups
    np.testing.assert_allclose(fit.statistic, stat, rtol=1e-12)
    assert fit.n_groups.tolist() == groups.tolist()
    assert fit.df.tolist() == (groups - 2).tolist()
    # nothing usable: every pattern unique (data missing at random)
    x[rng.random(x.shape) < 0.3] = -1
    none = item_fit_sx2(x[:200], bank)
    assert np.all(np.isnan(none.p_value)) and np.all(none.n_groups == 0)


def test_sx2_with_booklets_keeps_its_type_i_error_and_flags_misfit():
    rng = np.random.default_rng(12)
    p_values = []
    for rep in range(3):
        true = simulate_items("2pl", 24, rng=rng)
        recs = true.to_records()
        if rep == 0:     # a truly 3PL item among the common items, calibrated as 2PL
            recs[0] = {"item_id": recs[0]["item_id"], "model": "3pl", "a": 2.0, "b": 1.0,
                       "c": 0.35}
        x = simulate_responses(ItemBank.from_records(recs), rng.standard_normal(4500), rng=rng)
        x[~_booklets(rng, 4500, 24)] = -1             # three forms of 16 items, 1500 each
        fit = calibrate(x, "2pl", standard_errors=False)
        sx = item_fit_sx2(x, fit.items, latent_mean=fit.latent_mean, latent_sd=fit.latent_sd)
        assert np.all(sx.n_groups > 0)
        if rep == 0:     # less power than with complete data: 3 × 1500 persons, 16 items
            assert sx.p_value[0] < 0.01
            p_values.extend(sx.p_value[1:].tolist())
        else:
            p_values.extend(sx.p_value.tolist())
    # 71 p-values: mean SD 0.034
    assert_nominal(p_values, mean_tol=0.12)


def test_zstd_is_standard_normal_for_fitting_items():
    # 300 identical items answered by the same persons at known θ are 300 independent
    # draws of each item's mean squares: their ZSTDs must be N(0, 1) (mean SE 0.06, SD SE
    # 0.04). An easy item (b = -1.5) and a polytomous one, where the mean squares are skewed.
    rng = np.random.default_rng(9)
    theta = rng.standard_normal(300)
    banks = [ItemBank.from_arrays("rasch", a=np.ones(300), b=np.full(300, -1.5)),
             ItemBank.from_records([{"item_id": f"p{j}", "model": "gpcm", "a": 1.2,
                                     "thresholds": [-1.0, 0.2, 1.5]} for j in range(300)])]
    for bank in banks:
        x = simulate_responses(bank, theta, rng=rng)
        fit = item_fit_msq(x, bank, theta)
        for z in (fit.infit_zstd, fit.outfit_zstd):
            assert abs(np.mean(z)) < 0.2 and 0.85 < np.std(z) < 1.15
            assert 0.01 < np.mean(np.abs(z) > 1.96) < 0.10


def test_zstd_matches_the_wright_masters_formulas_and_flags_misfit():
    rng = np.random.default_rng(10)
    bank = simulate_items("2pl", 6, rng=rng)
    theta = rng.standard_normal(400)
    x = simulate_responses(bank, theta, rng=rng)
    x[:, 0] = rng.integers(0, 2, 400)                      # noise
    x[:, 1] = (theta > bank.b[1]).astype(int)              # Guttman: too predictable
    x[rng.random((400, 6)) < 0.2] = -1                     # not administered
    fit = item_fit_msq(x, bank, theta)
    for j in range(6):                                     # one item at a time, by hand
        ok = x[:, j] >= 0
        p = 1 / (1 + np.exp(-bank.a[j] * (theta[ok] - bank.b[j])))
        w, c = p * (1 - p), p * (1 - p) * ((1 - p) ** 3 + p**3)
        y = x[ok, j]
        n = ok.sum()
        out = np.mean((y - p) ** 2 / w)
        inf = np.sum((y - p) ** 2) / np.sum(w)
        q_out = np.sqrt(np.sum(c / w**2) / n**2 - 1 / n)
        q_in = np.sqrt(np.sum(c - w**2)) / np.sum(w)
        assert fit.outfit_zstd[j] == pytest.approx((out ** (1 / 3) - 1) * 3 / q_out + q_out / 3)
        assert fit.infit_zstd[j] == pytest.approx((inf ** (1 / 3) - 1) * 3 / q_in + q_in / 3)
    assert fit.infit_zstd[0] > 3 and fit.outfit_zstd[0] > 3
    assert fit.infit_zstd[1] < -3 and fit.outfit_zstd[1] < -3
