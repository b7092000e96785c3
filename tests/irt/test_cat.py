"""CAT primitives: selection, exclusion, content balancing, exposure control, stopping."""

from __future__ import annotations

import numpy as np
import pytest

from assess.irt import eap, item_information, simulate_items
from assess.irt.cat import (
    STOP_MAX_ITEMS,
    STOP_NO_ITEMS,
    STOP_SE_TARGET,
    ContentTargets,
    next_item,
    select_item,
    simulate_cat,
    sympson_hetter,
)
from assess.irt.models import ItemBank


@pytest.fixture(scope="module")
def mixed_bank() -> ItemBank:
    """A bank mixing 2pl, 3pl, grm and gpcm items."""
    parts = [simulate_items(m, 30, rng=i, item_ids=[f"{m}{j}" for j in range(30)])
             for i, m in enumerate(("2pl", "3pl", "grm", "gpcm"))]
    return ItemBank.from_records([r for p in parts for r in p.to_records()])


@pytest.mark.parametrize("theta", [-2.0, -0.3, 0.0, 1.1, 2.5])
def test_selection_is_the_brute_force_maximum_of_information(mixed_bank, theta):
    info = item_information(mixed_bank, theta)[0]
    assert select_item(mixed_bank, theta) == int(np.argmax(info))
    # polytomous only: still the most informative of them
    dich = [j for j, m in enumerate(mixed_bank.model) if m in ("2pl", "3pl")]
    poly = np.setdiff1d(np.arange(mixed_bank.n_items), dich)
    assert select_item(mixed_bank, theta, exclude=dich) == int(poly[np.argmax(info[poly])])


def test_next_item_uses_the_interim_eap_and_the_best_item_there(mixed_bank):
    rng = np.random.default_rng(3)
    adm = rng.choice(mixed_bank.n_items, 12, replace=False)
    x = np.array([rng.integers(0, mixed_bank.n_categories[j]) for j in adm])
    step = next_item(mixed_bank, adm, x, max_items=30)
    row = np.full((1, mixed_bank.n_items), -1)
    row[0, adm] = x
    ref = eap(row, mixed_bank)
    assert step.theta == pytest.approx(ref.theta[0], abs=1e-10)
    assert step.se == pytest.approx(ref.se[0], abs=1e-10)
    info = item_information(mixed_bank, step.theta)[0]
    info[adm] = -np.inf
    assert step.item == int(np.argmax(info)) and step.stop_reason is None
    assert step.item_id == mixed_bank.item_ids[step.item]
    assert step.information == pytest.approx(info[step.item])
    assert step.n_administered == 12


def test_first_answers_give_finite_estimates():
    bank = simulate_items("2pl", 50, rng=1)
    start = next_item(bank, [], [], max_items=10)
    assert start.theta == pytest.approx(0.0, abs=1e-12) and start.se == pytest.approx(1.0, abs=1e-3)
    for x in (0, 1):
        s = next_item(bank, [start.item], [x], max_items=10)
        assert np.isfinite(s.theta) and abs(s.theta) < 2 and (s.theta > 0) == (x == 1)


def test_seen_and_excluded_items_are_never_chosen():
    bank = simulate_items("2pl", 40, rng=2)
    rng = np.random.default_rng(0)
    for _ in range(200):
        adm = rng.choice(40, rng.integers(0, 20), replace=False)
        exc = rng.choice(40, rng.integers(0, 15), replace=False)
        x = rng.integers(0, 2, adm.size)
        s = next_item(bank, adm, x, exclude=exc, max_items=40, randomesque=5,
                      exposure_k=rng.random(40), rng=rng)
        if s.item is None:
            assert np.union1d(adm, exc).size == 40
        else:
            assert s.item not in adm and s.item not in exc


def test_randomesque_draws_among_the_top_k():
    bank = simulate_items("2pl", 60, rng=4)
    top5 = set(np.argsort(-item_information(bank, 0.0)[0])[:5].tolist())
    picks = {select_item(bank, 0.0, randomesque=5, rng=s) for s in range(200)}
    assert picks == top5


def test_content_balancing_meets_its_proportions_within_one_item():
    bank = simulate_items("2pl", 300, rng=5)
    rng = np.random.default_rng(6)
    labels = rng.choice(["num", "verbal", "spatial"], 300)
    ct = ContentTargets(labels, {"num": 0.5, "verbal": 0.3, "spatial": 0.2})
    sim = simulate_cat(bank, rng.standard_normal(300), max_items=20, content=ct, rng=7)
    for i in range(300):
        given = labels[sim.items[i, : sim.n_items[i]]]
        for t in range(1, sim.n_items[i] + 1):        # after every item, not only at the end
            for area, p in ct.targets.items():
                assert abs(np.sum(given[:t] == area) - p * t) < 1.0
    # the stateless call agrees with the simulation
    s = next_item(bank, sim.items[0, :7], sim.responses[0, :7], max_items=20, content=ct)
    assert s.item == sim.items[0, 7]


def test_exposure_control_lowers_the_maximum_exposure_rate():
    bank = simulate_items("2pl", 150, rng=8)
    rng = np.random.default_rng(9)
    free = simulate_cat(bank, rng.standard_normal(1000), max_items=10, rng=10)
    assert free.max_exposure > 0.9                      # max-info CAT: first item for all
    ec = sympson_hetter(bank, 0.3, max_items=10, n_simulees=1000, max_iter=15, rng=11)
    controlled = simulate_cat(bank, rng.standard_normal(1000), max_items=10,
                              exposure_k=ec.k, rng=12)
    # SE of a rate near 0.3 from 1000 simulees is 0.015; the maximum over items adds ~2 SE
    assert controlled.max_exposure < 0.3 + 0.05
    assert controlled.rmse < 1.25 * free.rmse


def test_each_stopping_rule_triggers():
    bank = simulate_items("2pl", 30, rng=12)
    rng = np.random.default_rng(13)
    # max_items
    adm = np.arange(5)
    s = next_item(bank, adm, rng.integers(0, 2, 5), max_items=5, se_target=0.01)
    assert (s.item, s.stop_reason) == (None, STOP_MAX_ITEMS)
    # se target reached, but not before min_items
    s = next_item(bank, np.arange(25), rng.integers(0, 2, 25), min_items=3, max_items=30,
                  se_target=0.9)
    assert s.stop_reason == STOP_SE_TARGET and s.se <= 0.9
    s = next_item(bank, np.arange(2), [1, 0], min_items=3, max_items=30, se_target=0.99)
    assert s.stop_reason is None and s.se <= 0.99
    # no item left: everything seen or excluded
    s = next_item(bank, np.arange(20), rng.integers(0, 2, 20), exclude=np.arange(20, 30),
                  max_items=30)
    assert (s.item, s.stop_reason) == (None, STOP_NO_ITEMS)
    # the same reasons in simulation
    sim = simulate_cat(bank, rng.standard_normal(200), min_items=2, max_items=12,
                       se_target=0.5, rng=14)
    reasons = set(sim.stop_reason.tolist())
    assert reasons <= {STOP_MAX_ITEMS, STOP_SE_TARGET}
    assert np.all(sim.se[sim.stop_reason == STOP_SE_TARGET] <= 0.5)
    assert np.all(sim.n_items[sim.stop_reason == STOP_MAX_ITEMS] == 12)
    sim = simulate_cat(bank, np.zeros(5), max_items=30, exposure_k=None, rng=1)
    assert np.all(sim.n_items == 30) and set(sim.stop_reason.tolist()) == {STOP_MAX_ITEMS}
    small = bank.subset(range(8))
    sim = simulate_cat(small, np.zeros(5), max_items=10, rng=1)
    assert np.all(sim.n_items == 8) and set(sim.stop_reason.tolist()) == {STOP_NO_ITEMS}


def test_simulation_recovers_ability_as_its_standard_errors_say():
    bank = simulate_items("2pl", 300, rng=15)
    rng = np.random.default_rng(16)
    theta = rng.standard_normal(2000)
    sim = simulate_cat(bank, theta, max_items=20, rng=17)
    # posterior SDs describe the errors: mean squared error ≈ mean posterior variance
    # (2000 simulees: the ratio's sampling SD is about 0.03)
    assert 0.85 < sim.rmse**2 / np.mean(sim.se**2) < 1.15
    assert abs(sim.bias) < 0.05


def test_bad_arguments_give_clear_errors():
    bank = simulate_items("2pl", 10, rng=0)
    with pytest.raises(ValueError, match=r"responses has 1 entries but administered_idx has 2"):
        next_item(bank, [0, 1], [1], max_items=5)
    with pytest.raises(ValueError, match=r"administered_idx\[1\] = 10 is outside 0..9"):
        next_item(bank, [0, 10], [1, 1], max_items=5)
    with pytest.raises(ValueError, match=r"administered_idx lists item 3 more than once"):
        next_item(bank, [3, 3], [1, 1], max_items=5)
    with pytest.raises(ValueError, match=r"responses\[0\] = 2 is outside 0..1 for item 'item1'"):
        next_item(bank, [0], [2], max_items=5)
    with pytest.raises(ValueError, match=r"min_items \(6\) must not exceed max_items \(5\)"):
        next_item(bank, [], [], min_items=6, max_items=5)
    with pytest.raises(ValueError, match=r"se_target must be positive, got 0"):
        next_item(bank, [], [], max_items=5, se_target=0)
    with pytest.raises(ValueError, match=r"exposure_k must have shape \(10,\), got \(3,\)"):
        next_item(bank, [], [], max_items=5, exposure_k=[1, 1, 1])
    with pytest.raises(ValueError, match=r"target proportions must sum to 1, got 0.9"):
        ContentTargets(["a"] * 10, {"a": 0.9})
    with pytest.raises(ValueError, match=r"item 0 has subdomain 'b', which has no target"):
        ContentTargets(["b"] * 10, {"a": 1.0})
    with pytest.raises(ValueError, match=r"content has 3 labels but the bank has 10 items"):
        next_item(bank, [], [], max_items=5, content=ContentTargets(["a"] * 3, {"a": 1.0}))
    with pytest.raises(ValueError, match=r"target 0.1 is unreachable"):
        sympson_hetter(bank, 0.1, max_items=5)


def test_items_failing_the_exposure_lottery_are_reported_for_later_exclusion():
    bank = simulate_items("2pl", 20, rng=21)
    order = np.argsort(-item_information(bank, 0.0)[0])
    k = np.ones(20)
    k[order[:2]] = 0.0                                   # the two best never pass
    s = next_item(bank, [], [], max_items=5, exposure_k=k, rng=0)
    assert s.item == order[2] and set(s.rejected) == set(order[:2].tolist())
    s = next_item(bank, [], [], max_items=5, rng=0)
    assert s.item == order[0] and s.rejected == ()


def test_with_randomesque_the_lottery_is_on_the_selected_item():
    # Sympson-Hetter puts the item the selection rule chose to the lottery; a failed item is
    # set aside and the rule chooses again. Best item never passes (k = 0), randomesque 2:
    # the draw picks the best (then fails, and draws again among 2nd and 3rd) or the 2nd.
    bank = simulate_items("2pl", 20, rng=22)
    order = np.argsort(-item_information(bank, 0.0)[0])
    k = np.ones(20)
    k[order[0]] = 0.0
    rng = np.random.default_rng(23)
    picks, rejected = [], []
    for _ in range(4000):
        s = next_item(bank, [], [], max_items=5, randomesque=2, exposure_k=k, rng=rng)
        picks.append(s.item)
        rejected.append(s.rejected)
    picks = np.array(picks)
    assert set(picks.tolist()) == {order[1], order[2]}
    # P(2nd) = 1/2 + 1/4, P(3rd) = 1/4; P(best rejected) = 1/2 (binomial SD 0.007)
    assert np.mean(picks == order[1]) == pytest.approx(0.75, abs=0.03)
    assert np.mean([r == (order[0],) for r in rejected]) == pytest.approx(0.5, abs=0.03)
    assert all(r in ((), (order[0],)) for r in rejected)
    # rejected exactly when the best was drawn first: then the 2nd and 3rd are equally likely
    after = picks[[r != () for r in rejected]]
    assert np.mean(after == order[1]) == pytest.approx(0.5, abs=0.04)


def test_exposure_control_with_randomesque_holds_items_at_the_target():
    # P(administered) = k P(selected) holds with randomesque, so the calibration neither
    # overshoots nor restricts more items than needed: the most exposed items sit at the
    # target (not far below it) on fresh simulees.
    bank = simulate_items("2pl", 150, rng=24)
    ec = sympson_hetter(bank, 0.3, max_items=10, randomesque=3, n_simulees=2000, max_iter=20,
                        rng=25)
    sim = simulate_cat(bank, np.random.default_rng(26).standard_normal(4000), max_items=10,
                       randomesque=3, exposure_k=ec.k, rng=27)
    # SE of a rate at 0.3 from 4000 simulees: 0.007; the largest of ~10 such items adds ~2 SE
    assert 0.27 < sim.max_exposure < 0.33
    free = simulate_cat(bank, np.random.default_rng(26).standard_normal(4000), max_items=10,
                        randomesque=3, rng=27)
    # only items over the target without control need k < 1 (a few more for the shifts
    # that restricting them causes), not most of the bank
    assert np.sum(ec.k < 1) <= 2 * np.sum(free.exposure > 0.3) + 5
