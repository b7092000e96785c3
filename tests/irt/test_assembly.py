"""Form assembly by milp, information curves and marginal reliability."""

from __future__ import annotations

import numpy as np
import pytest

from assess.irt import eap, item_information, simulate_items, simulate_responses
from assess.irt.assembly import (
    assemble_form,
    cat_marginal_reliability,
    information_curve,
    marginal_reliability,
)
from assess.irt.cat import simulate_cat


@pytest.fixture(scope="module")
def bank():
    return simulate_items("2pl", 150, rng=1)


@pytest.fixture(scope="module")
def labels():
    return np.random.default_rng(2).choice(["num", "verbal", "spatial"], 150).tolist()


def test_the_milp_form_meets_every_constraint(bank, labels):
    theta, target = [-1.0, 0.0, 1.0], [5.0, 6.0, 5.0]
    content = {"num": (4, 8), "verbal": (4, 8), "spatial": (3, 5)}
    excluded = np.argsort(-item_information(bank, 0.0)[0])[:10]       # the best items
    form = assemble_form(bank, theta, target, min_items=15, max_items=20, labels=labels,
                         content=content, exclude=excluded)
    n = form.items.size
    assert 15 <= n <= 20
    assert not set(form.items.tolist()) & set(excluded.tolist())
    got = information_curve(bank, theta, form.items)
    np.testing.assert_allclose(got, form.information)
    assert np.all(got >= np.array(target) - 1e-7)
    lab = np.array(labels)[form.items]
    for area, (lo, hi) in content.items():
        assert lo <= np.sum(lab == area) <= hi
    assert form.max_excess == pytest.approx(np.max(got - target))
    assert form.item_ids == tuple(bank.item_ids[j] for j in form.items)


def test_infeasible_constraints_give_a_clear_error(bank, labels):
    with pytest.raises(ValueError, match=r"the constraints cannot all be met: target "
                                         r"information 50 at θ = 0 exceeds"):
        assemble_form(bank, [0.0], [50.0], min_items=5, max_items=10)
    with pytest.raises(ValueError, match=r"the constraints cannot all be met: the content "
                                         r"minimums add up to 12 items"):
        assemble_form(bank, [0.0], [1.0], min_items=5, max_items=10, labels=labels,
                      content={"num": (4, 6), "verbal": (4, 6), "spatial": (4, 6)})
    # jointly infeasible (each bound alone is fine): at most 3 items of a single area,
    # but the information target needs more than 3 items
    with pytest.raises(ValueError, match=r"the constraints cannot all be met: no form "
                                         r"satisfies"):
        assemble_form(bank, [0.0], [4.0], min_items=1, max_items=10,
                      labels=["num"] * 150, content={"num": (0, 3)})


def test_marginal_reliability_matches_simulation(bank):
    form = np.argsort(-item_information(bank, 0.0)[0])[:20]
    rho = marginal_reliability(bank, form)
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(4000)
    x = simulate_responses(bank.subset(form), theta, rng=rng)
    est = eap(x, bank.subset(form))
    # squared correlation of EAP and θ estimates the reliability (SD about 0.005 at N=4000);
    # the 1/(I + 1) approximation of the posterior variance is good to ~0.01 at 20 items
    assert abs(np.corrcoef(est.theta, theta)[0, 1] ** 2 - rho) < 0.03
    sim = simulate_cat(bank, theta[:1000], max_items=20, rng=4)
    assert cat_marginal_reliability(sim.se) > rho - 0.02        # CAT at least as reliable
