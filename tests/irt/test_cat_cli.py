"""The cat-sim subcommand of the engine's command line."""

from __future__ import annotations

import csv

import numpy as np

from assess.irt.__main__ import main


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_cat_sim_writes_results_and_exposure(tmp_path, capsys):
    assert main(["simulate", "--model", "2pl", "--items", "120", "--persons", "5", "--seed", "3",
                 "--out-dir", str(tmp_path)]) == 0
    out, exp = tmp_path / "res.csv", tmp_path / "exp.csv"
    assert main(["cat-sim", "--params", str(tmp_path / "params.csv"), "--persons", "300",
                 "--min-items", "5", "--max-items", "25", "--se", "0.35", "--seed", "4",
                 "--out", str(out), "--exposure", str(exp)]) == 0
    rows = read_csv(out)
    assert rows[0] == ["person_id", "true_theta", "theta", "se", "n_items"] and len(rows) == 301
    se = np.array([float(r[3]) for r in rows[1:]])
    n = np.array([int(r[4]) for r in rows[1:]])
    assert np.all((n >= 5) & (n <= 25)) and np.all((se <= 0.35) | (n == 25))
    rates = read_csv(exp)
    assert rates[0] == ["item_id", "rate"] and len(rates) == 121
    # exposure rates sum to the mean test length
    assert abs(sum(float(r[1]) for r in rates[1:]) - n.mean()) < 1e-9
    err = capsys.readouterr().err
    assert "RMSE" in err and "mean length" in err and "maximum exposure" in err


def test_cat_sim_rejects_a_missing_bank(tmp_path, capsys):
    assert main(["cat-sim", "--params", str(tmp_path / "none.csv"), "--persons", "3",
                 "--max-items", "5", "--seed", "1", "--out", str(tmp_path / "r.csv")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()
