"""Scoring benchmark of the IRT engine: EAP, MAP and MLE for 200,000 persons × 50 items.

Run from the repository root::

    .venv/bin/python benchmarks/bench_irt_scoring.py                 # 2PL bank, with mirt
    .venv/bin/python benchmarks/bench_irt_scoring.py --model grm --skip-mirt

Prints wall time (median of ``--repeat`` runs), peak memory (tracemalloc), RMSE against
the generating abilities and the mean reported SE, then the peak memory of EAP at growing
numbers of persons to show that memory grows linearly in persons × items. With Python mirt
installed (requirements-bench.txt) it scores the same responses with ``mirt.fscores`` and
prints the speed ratio and the largest difference in θ.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assess.irt import eap, map_estimate, mle  # noqa: E402
from assess.irt.simulate import simulate_items, simulate_responses  # noqa: E402

TARGETS = {"eap": 1.0, "map": 5.0, "mle": 5.0}


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="2pl", choices=("rasch", "2pl", "3pl", "grm", "gpcm"))
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-mirt", action="store_true")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="limit BLAS threads (needs threadpoolctl); 1 is robust on a busy machine")
    args = ap.parse_args(argv)
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=args.blas_threads, user_api="blas")

    rng = np.random.default_rng(args.seed)
    bank = simulate_items(args.model, args.items, rng=rng)
    theta = rng.standard_normal(args.persons)
    x = simulate_responses(bank, theta, rng=rng)
    print(f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews timings)")
    print(f"{args.persons} persons × {args.items} {args.model} items "
          f"({x.nbytes / 2**20:.0f} MB of responses)")
    eap(x[:1000], bank)                                  # warm-up outside the timings

    verdicts = []
    results = {}
    times_of = {}
    for name, fn in (("eap", eap), ("map", map_estimate), ("mle", mle)):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            est = fn(x, bank)
            times.append(time.perf_counter() - t)
        results[name] = est
        med = statistics.median(times)
        times_of[name] = med
        mem = peak_mb(lambda: fn(x, bank))
        inside = np.abs(est.theta) < 6
        err = np.sqrt(np.mean((est.theta - theta)[inside] ** 2))
        extra = f", {np.count_nonzero(est.extreme)} extreme patterns at ±6" if name == "mle" else ""
        print(f"{name.upper():4s} time {med:6.3f} s (runs: {', '.join(f'{t:.3f}' for t in times)})  "
              f"peak memory {mem:7.1f} MB  iterations {est.n_iter:2d}  converged "
              f"{est.converged.mean():.4f}  RMSE vs true θ {err:.4f}  mean SE "
              f"{np.mean(est.se[inside]):.4f}{extra}")
        verdicts.append((f"{name.upper()} ≤ {TARGETS[name]} s", med <= TARGETS[name], f"{med:.3f} s"))

    print("\nmemory of EAP against the number of persons (should be linear):")
    for n in (args.persons // 8, args.persons // 4, args.persons // 2, args.persons):
        mem = peak_mb(lambda: eap(x[:n], bank))
        print(f"  {n:7d} persons  peak {mem:7.1f} MB  = {mem * 2**20 / (n * args.items):6.1f} "
              "bytes per response")

    if not args.skip_mirt:
        try:
            import mirt
            from mirt.models.dichotomous import TwoParameterLogistic
        except ImportError:
            print("\nmirt not installed: pip install -r requirements-bench.txt")
        else:
            if args.model == "2pl":
                model = TwoParameterLogistic(n_items=args.items)
                model.set_parameters(discrimination=bank.a.copy(), difficulty=bank.b.copy())
                model._is_fitted = True      # parameters are given, not estimated
                print()
                for ours, method in (("eap", "EAP"), ("map", "MAP"), ("mle", "ML")):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        t = time.perf_counter()
                        res = mirt.fscores(model, x, method=method)
                        el = time.perf_counter() - t
                    th = np.asarray(res.theta, dtype=float).ravel()
                    mine = results[ours].theta
                    both = (np.abs(mine) < 5.9) & (np.abs(th) < 5.9)
                    print(f"mirt.fscores {method:3s} time {el:6.3f} s  ratio "
                          f"{el / times_of[ours]:5.1f}×  largest |Δθ| vs assess.irt "
                          f"{np.max(np.abs(th - mine)[both]):.4f} (non-extreme persons)")
            else:
                print("\nmirt comparison is implemented for the 2pl bank only")

    print(f"\n== targets (load average now {os.getloadavg()[0]:.2f})")
    for name, ok, value in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
