"""Command line of the IRT engine (DESIGN.md, "Contracts")::

    python -m assess.irt simulate  --model {rasch,2pl,3pl,grm,gpcm} --items J --persons N
                                   [--categories K] --seed S --out-dir DIR
    python -m assess.irt calibrate RESPONSES.csv --model {rasch,2pl,3pl,grm,gpcm} --out PARAMS.csv
    python -m assess.irt score     RESPONSES.csv --params PARAMS.csv --method {eap,map,mle}
                                   --out THETA.csv
    python -m assess.irt cat-sim   --params BANK.csv --persons N [--min-items A] --max-items B
                                   [--se S] [--randomesque K] [--sh-target R] --seed X
                                   --out RESULTS.csv [--exposure EXPOSURE.csv]

Extensions (all optional): ``simulate --missing P``; ``calibrate --anchors PARAMS.csv
--max-iter --tol --n-quad --min-responses --quiet``; ``score --prior-mean --prior-sd``.

Progress and a summary go to stderr. Bad input exits with status 1 and a message naming
the file, row and column, and writes no output file; usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assess.irt.calibration import calibrate
from assess.irt.estimation import estimate_ability
from assess.irt.io import (
    InputError,
    check_categories,
    read_params,
    read_responses,
    write_params,
    write_responses,
    write_theta,
)
from assess.irt.models import DICHOTOMOUS_MODELS, MODELS
from assess.irt.simulate import simulate_items, simulate_responses

__all__ = ["main"]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m assess.irt",
                                description="IRT engine: simulate, calibrate and score.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="simulate item parameters, abilities and responses")
    s.add_argument("--model", required=True, choices=MODELS)
    s.add_argument("--items", required=True, type=_positive_int)
    s.add_argument("--persons", required=True, type=_positive_int)
    s.add_argument("--categories", type=int, default=None,
                   help="categories of grm/gpcm items (default 4; must be 2 for dichotomous)")
    s.add_argument("--seed", required=True, type=int)
    s.add_argument("--out-dir", required=True, type=Path)
    s.add_argument("--missing", type=float, default=0.0,
                   help="probability that an item is not administered to a person (default 0)")

    c = sub.add_parser("calibrate", help="estimate item parameters (marginal ML, EM)")
    c.add_argument("responses", type=Path)
    c.add_argument("--model", required=True, choices=MODELS)
    c.add_argument("--out", required=True, type=Path)
    c.add_argument("--anchors", type=Path, default=None,
                   help="PARAMS.csv of items to hold fixed (fixed item parameter calibration)")
    c.add_argument("--max-iter", type=_positive_int, default=500)
    c.add_argument("--tol", type=float, default=1e-4)
    c.add_argument("--n-quad", type=_positive_int, default=41)
    c.add_argument("--min-responses", type=int, default=10)
    c.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")

    r = sub.add_parser("score", help="estimate abilities from known item parameters")
    r.add_argument("responses", type=Path)
    r.add_argument("--params", required=True, type=Path)
    r.add_argument("--method", required=True, choices=("eap", "map", "mle"))
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--prior-mean", type=float, default=0.0)
    r.add_argument("--prior-sd", type=float, default=1.0)

    k = sub.add_parser("cat-sim", help="simulate computerised adaptive tests on a bank")
    k.add_argument("--params", required=True, type=Path)
    k.add_argument("--persons", required=True, type=_positive_int)
    k.add_argument("--min-items", type=int, default=0)
    k.add_argument("--max-items", required=True, type=_positive_int)
    k.add_argument("--se", type=float, default=None, help="stop at this SE (default: fixed length)")
    k.add_argument("--randomesque", type=_positive_int, default=1)
    k.add_argument("--sh-target", type=float, default=None,
                   help="Sympson-Hetter exposure control at this maximum exposure rate")
    k.add_argument("--seed", required=True, type=int)
    k.add_argument("--out", required=True, type=Path)
    k.add_argument("--exposure", type=Path, default=None, help="write item_id,rate here")
    return p


def _simulate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    k = args.categories
    if args.model in DICHOTOMOUS_MODELS:
        if k not in (None, 2):
            raise InputError(f"--categories: a {args.model} item has 2 categories, got {k}")
        k = 2
    elif k is None:
        k = 4
    elif k < 2:
        raise InputError(f"--categories must be at least 2, got {k}")
    if not 0.0 <= args.missing < 1.0:
        raise InputError(f"--missing must be in [0, 1), got {args.missing}")
    rng = np.random.default_rng(args.seed)
    width_i, width_p = len(str(args.items)), len(str(args.persons))
    item_ids = [f"i{j + 1:0{width_i}d}" for j in range(args.items)]
    person_ids = [f"p{i + 1:0{width_p}d}" for i in range(args.persons)]
    items = simulate_items(args.model, args.items, n_categories=k, rng=rng, item_ids=item_ids)
    theta = rng.standard_normal(args.persons)
    administered = rng.random((args.persons, args.items)) >= args.missing \
        if args.missing > 0 else None
    x = simulate_responses(items, theta, rng=rng, administered=administered)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    write_params(out / "params.csv", items)
    write_theta(out / "theta.csv", person_ids, theta, np.full(theta.size, np.nan))
    write_responses(out / "responses.csv", person_ids, item_ids, x)
    _say(f"simulated {args.persons} persons × {args.items} {args.model} items "
         f"(seed {args.seed}) in {time.perf_counter() - start:.2f} s → "
         f"{out / 'responses.csv'}, {out / 'params.csv'}, {out / 'theta.csv'}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    table = read_responses(args.responses)
    anchors = None
    if args.anchors is not None:
        bank = read_params(args.anchors)
        cols = set(table.item_ids)
        known = [i for i in bank.item_ids if i in cols]
        for item in bank.item_ids:
            if item not in cols:
                raise InputError(f"{args.anchors}, row {bank.index(item) + 2}, column 1: "
                                 f"unknown item id {item!r}: not a column of {table.path}")
        anchors = bank.subset(known)
    x = table.responses
    if args.model in DICHOTOMOUS_MODELS:
        anchor_ids = set(anchors.item_ids) if anchors is not None else set()
        free = np.array([i not in anchor_ids for i in table.item_ids])
        bad = (x > 1) & free[None, :]
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(f"{table.where(i, j)}: category {x[i, j]} is outside 0..1 of a "
                             f"{args.model} item")
    if anchors is not None:
        pos = np.array([table.item_ids.index(i) for i in anchors.item_ids])
        bad = x[:, pos] >= anchors.n_categories[None, :]
        if bad.any():
            i, t = np.argwhere(bad)[0]
            raise InputError(f"{table.where(i, pos[t])}: category {x[i, pos[t]]} is outside "
                             f"0..{anchors.n_categories[t] - 1} of this {anchors.model[t]} "
                             "anchor item")
    _say(f"calibrating {x.shape[1]} {args.model} items from {x.shape[0]} persons "
         f"({np.mean(x >= 0):.0%} of cells answered)")

    def progress(it: int, ll: float, change: float) -> None:
        if not args.quiet:
            _say(f"  iteration {it:4d}   log-likelihood {ll:16.4f}   max change {change:.2e}")

    try:
        fit = calibrate(x, args.model, item_ids=table.item_ids, anchors=anchors,
                        max_iter=args.max_iter, tol=args.tol, n_quad=args.n_quad,
                        min_responses=args.min_responses, progress=progress)
    except ValueError as exc:
        raise InputError(f"{table.path}: {exc}") from None
    write_params(args.out, fit.items)
    for p in fit.problems:
        _say(f"warning: not calibrated: {p.message} ({p.reason})")
    for w in fit.warnings:
        _say(f"warning: {w}")
    if not fit.converged:
        _say(f"warning: the estimates did not converge in {args.max_iter} iterations; "
             "raise --max-iter")
    latent = ""
    if not np.isnan(fit.latent_sd_se):
        latent = f"; latent mean {fit.latent_mean:.4f}, SD {fit.latent_sd:.4f}"
    _say(f"{'converged' if fit.converged else 'NOT converged'} after {fit.n_iter} iterations "
         f"in {fit.elapsed:.2f} s; log-likelihood {fit.loglik:.4f}; "
         f"{fit.items.n_items} items calibrated, {len(fit.problems)} not{latent}; "
         f"{fit.n_persons} persons; wrote {args.out} "
         f"({time.perf_counter() - start:.2f} s in all)")
    return 0


def _score(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    table = read_responses(args.responses)
    bank = read_params(args.params)
    known = set(bank.item_ids)
    for j, item in enumerate(table.item_ids):
        if item not in known:
            raise InputError(f"{table.path}, row 1, column {j + 2}: unknown item id {item!r}: "
                             f"not in {args.params}")
    items = bank.subset(list(table.item_ids))
    check_categories(table, items)
    try:
        est = estimate_ability(table.responses, items, args.method,
                               prior_mean=args.prior_mean, prior_sd=args.prior_sd)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    write_theta(args.out, table.person_ids, est.theta, est.se)
    n_ext = int(np.count_nonzero(est.extreme))
    extra = ""
    if args.method == "mle" and n_ext:
        extra = f"; {n_ext} all-correct/all-wrong patterns set to the bounds ±6"
    _say(f"scored {len(table.person_ids)} persons on {items.n_items} items by "
         f"{args.method.upper()} in {time.perf_counter() - start:.2f} s; mean θ "
         f"{np.nanmean(est.theta):.3f}, mean SE {np.nanmean(est.se):.3f}{extra}; wrote {args.out}")
    return 0


def _cat_sim(args: argparse.Namespace) -> int:
    from assess.irt.cat import simulate_cat, sympson_hetter
    from assess.irt.io import _atomic_write, _fmt

    start = time.perf_counter()
    bank = read_params(args.params)
    rng = np.random.default_rng(args.seed)
    true = rng.standard_normal(args.persons)
    try:
        k = None if args.sh_target is None else sympson_hetter(
            bank, args.sh_target, min_items=args.min_items, max_items=args.max_items,
            se_target=args.se, randomesque=args.randomesque, rng=rng).k

        def bar(step: int, total: int) -> None:
            done = int(30 * step / total)
            print(f"\r  [{'#' * done}{' ' * (30 - done)}] step {step}/{total}", end="",
                  file=sys.stderr, flush=True)

        sim = simulate_cat(bank, true, min_items=args.min_items, max_items=args.max_items,
                           se_target=args.se, randomesque=args.randomesque, exposure_k=k,
                           rng=rng, progress=bar)
    except ValueError as exc:
        raise InputError(f"cat-sim: {exc}") from None
    print(file=sys.stderr)
    width = len(str(args.persons))
    _atomic_write(args.out, [["person_id", "true_theta", "theta", "se", "n_items"]] + [
        [f"p{i + 1:0{width}d}", _fmt(t), _fmt(e), _fmt(s), int(n)] for i, (t, e, s, n) in
        enumerate(zip(true.tolist(), sim.theta.tolist(), sim.se.tolist(), sim.n_items))])
    if args.exposure is not None:
        _atomic_write(args.exposure, [["item_id", "rate"]] + [
            [i, _fmt(r)] for i, r in zip(bank.item_ids, sim.exposure.tolist())])
    _say(f"{args.persons} simulees, {bank.n_items}-item bank: RMSE {sim.rmse:.4f}, "
         f"bias {sim.bias:+.4f}, mean length {sim.n_items.mean():.2f}, maximum exposure "
         f"{sim.max_exposure:.3f}; {time.perf_counter() - start:.2f} s; wrote {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    handler = {"simulate": _simulate, "calibrate": _calibrate, "score": _score,
               "cat-sim": _cat_sim}[args.command]
    try:
        return handler(args)
    except InputError as exc:
        _say(f"error: {exc}")
        return 1
    except OSError as exc:
        _say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
