"""Exploration for issue 4 (not a target benchmark): Sympson-Hetter with exposure parameters per
test stage, k_early for positions 1..split and k_late after, calibrated by the same iterative
procedure to the same overall cap r = 0.25, spending each over-selected item's exposure budget on
the early positions first. 500-item 2PL banks, fixed length 20, maximum information, 20,000
simulees; prints the RMSE cost against the uncontrolled CAT on the same simulees and answers.
split 0 is plain Sympson-Hetter.

    .venv/bin/python benchmarks/explore_sh_by_stage.py

Seen 2026-11-25 (seeds 11/12/13): plain +9.2 / +7.7 / +8.0 %; split 5 +7.3 / +7.1 / +7.5 %;
spending the budget on later positions instead: +12 to +20 %. But on the benchmark's own 2,000
simulees (3 calibrations x 2 runs each) split 5 gained nothing: +11.5 / +7.5 / +7.8 % against
+10.5 / +7.1 / +8.3 % for plain SH. A dead end, kept so that it is not tried again blind.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from assess.irt import simulate_items
from assess.irt.simulate import simulate_responses
from assess.irt._core import grid_log_probs, THETA_MIN, THETA_MAX
from assess.irt.models import item_information
from assess.irt.cat import _eap_from_loglik, _grid

L_TEST = 20

def run(bank, theta, x, k_early, k_late, split, rng):
    N, J = theta.size, bank.n_items
    nodes, logprior = _grid(0.0, 1.0)
    lg = grid_log_probs(bank, nodes)
    Lk = np.broadcast_to(logprior, (N, nodes.size)).copy()
    grid = np.linspace(THETA_MIN, THETA_MAX, 1201); step = grid[1]-grid[0]
    table = item_information(bank, grid)
    avail = np.ones((N, J), bool)
    th, se = _eap_from_loglik(Lk.copy(), nodes)
    sel_e = np.zeros(J); sel_l = np.zeros(J); adm = np.zeros(J)
    rows = np.arange(N)
    for t in range(L_TEST):
        pos = (th - THETA_MIN) / step
        i0 = np.clip(np.floor(pos).astype(int), 0, 1199); w = (pos - i0)[:, None]
        info = table[i0] * (1 - w) + table[i0 + 1] * w
        k = k_early if t < split else k_late
        passed = avail & (rng.random((N, J)) < k[None, :])
        score = np.where(passed, info, -np.inf)
        choice = np.argmax(score, axis=1)
        ok = np.isfinite(score[rows, choice])
        fallback = np.argmax(np.where(avail, info, -np.inf), axis=1)
        choice = np.where(ok, choice, fallback)
        floor = info[rows, choice]
        lottery = avail & (info >= floor[:, None])
        rejected = lottery & ~passed & ok[:, None]
        cnt = lottery.sum(axis=0)
        if t < split: sel_e += cnt
        else: sel_l += cnt
        avail &= ~rejected
        avail[rows, choice] = False
        adm += np.bincount(choice, minlength=J)
        xx = x[rows, choice]
        Lk += lg[:, choice, xx].T
        th, se = _eap_from_loglik(Lk.copy(), nodes)
    return th, adm / N, sel_e / N, sel_l / N

def calibrate(bank, r, split, n=5000, iters=30, seed=1):
    rng = np.random.default_rng(seed)
    J = bank.n_items
    ke, kl = np.ones(J), np.ones(J)
    for it in range(iters):
        theta = rng.standard_normal(n)
        x = simulate_responses(bank, theta, rng=rng)
        _, exp_, pse, psl = run(bank, theta, x, ke, kl, split, rng)
        if exp_.max() <= r + 0.005:
            break
        # spend the budget on later positions first
        new_ke = np.where(pse > r, r / np.maximum(pse, 1e-12), 1.0)
        rest = np.maximum(r - new_ke * pse, 0.0)
        new_kl = np.where(psl > 0, np.minimum(1.0, rest / np.maximum(psl, 1e-12)), 1.0)
        kl = np.minimum(kl, new_kl); ke = np.minimum(ke, new_ke)
    return ke, kl, it + 1, exp_.max()

for seed in (11, 12, 13):
    rng = np.random.default_rng(seed)  # the same banks as bench_irt_cat.py --seed 11, 12, 13
    bank = simulate_items("2pl", 500, rng=rng)
    theta = rng.standard_normal(20000)
    x = simulate_responses(bank, theta, rng=rng)
    ones = np.ones(500)
    th0, e0, _, _ = run(bank, theta, x, ones, ones, 0, np.random.default_rng(3))
    r0 = np.sqrt(np.mean((th0 - theta) ** 2))
    for split in (0, 5):
        t = time.time()
        ke, kl, it, mx = calibrate(bank, 0.25, split, seed=seed + 100)
        th, e, _, _ = run(bank, theta, x, ke, kl, split, np.random.default_rng(4))
        r1 = np.sqrt(np.mean((th - theta) ** 2))
        print(f"seed {seed} split {split}: RMSE {r1:.4f} vs {r0:.4f} ({r1/r0-1:+.1%}), max exposure {e.max():.3f}, "
              f"iters {it}, k_early<1 {int((ke<1).sum())}, k_late<1 {int((kl<1).sum())}, {time.time()-t:.0f}s", flush=True)
