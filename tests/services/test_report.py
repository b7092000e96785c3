"""Misclassification probabilities and JPM bands against direct computation."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import norm

from assess.services import report

CUTS = [-1.5, -0.5, 0.5, 1.5]


@pytest.mark.parametrize("theta, se", [(0.2, 0.3), (-1.45, 0.25), (1.6, 0.5), (0.0, 1.0), (2.8, 0.4)])
def test_misclassification_matches_a_direct_computation(theta, se):
    level = 1 + sum(theta >= c for c in CUTS)
    lo = -np.inf if level == 1 else CUTS[level - 2]
    hi = np.inf if level == 5 else CUTS[level - 1]
    direct = 1 - (norm.cdf(hi, theta, se) - norm.cdf(lo, theta, se))
    assert report.misclassification(theta, se, CUTS) == pytest.approx(direct, abs=1e-12)
    assert report.level_probabilities(theta, se, CUTS).sum() == pytest.approx(1.0)


def test_a_score_on_a_cut_is_a_coin_toss_and_a_far_score_is_safe():
    # On the cut between 3 and 4: half the mass is below (level 3), a sliver is above level 4.
    expected = 0.5 + (1 - norm.cdf(1.5, 0.5, 0.3))
    assert report.misclassification(0.5, 0.3, CUTS) == pytest.approx(expected, abs=1e-12)
    assert report.misclassification(0.0, 0.05, CUTS) < 1e-9


@pytest.mark.parametrize("levels, expected, value, band", [
    ([3, 3, 3], [3, 3, 3], 100.0, "optimal"),
    ([5, 5, 1], [3, 3, 3], 100 * 7 / 9, "kurang_optimal"),  # a surplus never offsets a gap
    ([3] * 9 + [2], [3] * 10, 100 * 29 / 30, "optimal"),
    ([3] * 8 + [2, 2], [3] * 10, 100 * 28 / 30, "optimal"),    # 93.3
    ([3] * 7 + [2, 2, 2], [3] * 10, 90.0, "optimal"),          # exactly 90: Optimal
    ([3] * 6 + [2] * 4, [3] * 10, 100 * 26 / 30, "cukup_optimal"),
    ([4] * 39 + [3], [4] * 40, 100 * 159 / 160, "optimal"),
])
def test_jpm_and_band(levels, expected, value, band):
    assert report.jpm(levels, expected) == pytest.approx(value)
    assert report.band_of(report.jpm(levels, expected)) == band


def test_band_boundaries():
    assert report.band_of(89.99) == "cukup_optimal" and report.band_of(90.0) == "optimal"
    assert report.band_of(77.99) == "kurang_optimal" and report.band_of(78.0) == "cukup_optimal"


def test_band_probabilities_match_brute_force_enumeration():
    rng = np.random.default_rng(7)
    thetas, ses = rng.normal(0, 1, 4), rng.uniform(0.2, 0.6, 4)
    expected = [3, 3, 2, 4]
    probs = [report.level_probabilities(t, s, CUTS) for t, s in zip(thetas, ses)]
    brute = {b: 0.0 for b in report.BANDS}
    for combo in itertools.product(range(1, 6), repeat=4):
        p = np.prod([probs[i][lv - 1] for i, lv in enumerate(combo)])
        brute[report.band_of(report.jpm(combo, expected))] += p
    exact = report.band_probabilities(probs, expected)
    for band in report.BANDS:
        assert exact[band] == pytest.approx(brute[band], abs=1e-12)
