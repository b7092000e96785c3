"""The engine's command line: round trip, progress on stderr, bad input."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assess.irt.__main__ import main
from assess.irt.io import read_params

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "assess.irt", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_round_trip_simulate_calibrate_score(tmp_path):
    sim = run_cli("simulate", "--model", "grm", "--items", "8", "--persons", "3000",
                  "--categories", "4", "--seed", "42", "--out-dir", str(tmp_path / "sim"))
    assert sim.returncode == 0, sim.stderr
    responses = read_csv(tmp_path / "sim" / "responses.csv")
    assert responses[0] == ["person_id"] + [f"i{j}" for j in range(1, 9)]
    assert len(responses) == 3001
    assert read_csv(tmp_path / "sim" / "params.csv")[0] == [
        "item_id", "model", "a", "b", "c", "b1", "b2", "b3"]
    assert read_csv(tmp_path / "sim" / "theta.csv")[0] == ["person_id", "theta", "se"]

    cal = run_cli("calibrate", str(tmp_path / "sim" / "responses.csv"), "--model", "grm",
                  "--out", str(tmp_path / "est.csv"))
    assert cal.returncode == 0, cal.stderr
    assert cal.stdout == ""
    lines = cal.stderr.splitlines()
    assert sum("iteration" in line and "log-likelihood" in line for line in lines) >= 3
    assert lines[-1].startswith("converged after")
    true, est = read_params(tmp_path / "sim" / "params.csv"), read_params(tmp_path / "est.csv")
    assert est.item_ids == true.item_ids and est.model == true.model
    assert np.max(np.abs(est.a - true.a)) < 0.25
    assert np.nanmax(np.abs(est.thresholds - true.thresholds)) < 0.35

    for method in ("eap", "map", "mle"):
        out = tmp_path / f"theta_{method}.csv"
        sc = run_cli("score", str(tmp_path / "sim" / "responses.csv"), "--params",
                     str(tmp_path / "est.csv"), "--method", method, "--out", str(out))
        assert sc.returncode == 0, sc.stderr
        assert f"by {method.upper()}" in sc.stderr
        rows = read_csv(out)
        assert rows[0] == ["person_id", "theta", "se"] and len(rows) == 3001
        theta = np.array([float(r[1]) for r in rows[1:]])
        se = np.array([float(r[2]) for r in rows[1:]])
        truth = np.array([float(r[1]) for r in read_csv(tmp_path / "sim" / "theta.csv")[1:]])
        inside = np.abs(theta) < 6               # MLE puts extreme patterns at ±6
        assert inside.mean() > 0.95
        # the reported SEs describe the actual errors: mean squared error ≈ mean SE²
        # (3000 persons: the ratio's sampling SD is a few per cent)
        ratio = np.mean((theta - truth)[inside] ** 2) / np.mean(se[inside] ** 2)
        assert 0.8 < ratio < 1.25, (method, ratio)


def test_missing_cells_and_anchors(tmp_path, capsys):
    assert main(["simulate", "--model", "2pl", "--items", "12", "--persons", "1500",
                 "--seed", "1", "--missing", "0.3", "--out-dir", str(tmp_path)]) == 0
    rows = read_csv(tmp_path / "responses.csv")
    assert any(cell == "" for row in rows[1:] for cell in row[1:])
    # hold the first four items at their true values
    params = read_csv(tmp_path / "params.csv")
    with open(tmp_path / "anchors.csv", "w", newline="") as f:
        csv.writer(f).writerows(params[:5])
    assert main(["calibrate", str(tmp_path / "responses.csv"), "--model", "2pl", "--out",
                 str(tmp_path / "est.csv"), "--anchors", str(tmp_path / "anchors.csv"),
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "latent mean" in err and "  iteration " not in err
    est = read_params(tmp_path / "est.csv")
    assert [float(v) for v in est.a[:4]] == [float(r[2]) for r in params[1:5]]


RESPONSES = "person_id,i1,i2,i3\np1,1,0,\np2,0,1,1\np3,1,1,0\np4,0,0,1\n"
PARAMS = ("item_id,model,a,b,c\ni1,2pl,1.2,0.1,0\ni2,2pl,0.8,-0.5,0\n"
          "i3,3pl,1.5,0.3,0.2\n")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("responses", "params", "message"), [
    # unknown item id (a response column the params file does not have)
    (RESPONSES.replace("i3", "i9", 1), PARAMS,
     "responses.csv, row 1, column 4: unknown item id 'i9': not in"),
    # a non-integer cell
    (RESPONSES.replace("p2,0,1,1", "p2,0,x,1"), PARAMS,
     "responses.csv, row 3 (person 'p2'), column 3 (item 'i2'): 'x' is not an integer category"),
    (RESPONSES.replace("p2,0,1,1", "p2,0,1.5,1"), PARAMS,
     "responses.csv, row 3 (person 'p2'), column 3 (item 'i2'): '1.5' is not an integer category"),
    # a category outside the item's range
    (RESPONSES.replace("p4,0,0,1", "p4,0,2,1"), PARAMS,
     "responses.csv, row 5 (person 'p4'), column 3 (item 'i2'): category 2 is outside 0..1 "
     "of this 2pl item"),
    (RESPONSES.replace("p4,0,0,1", "p4,0,-1,1"), PARAMS,
     "responses.csv, row 5 (person 'p4'), column 3 (item 'i2'): category -1 is negative"),
    # a duplicate person id
    (RESPONSES.replace("p3,", "p1,"), PARAMS,
     "responses.csv, row 4, column 1: duplicate person id 'p1' (first in row 2)"),
    # malformed headers
    (RESPONSES.replace("person_id", "id"), PARAMS,
     "responses.csv, row 1, column 1: malformed header: expected 'person_id,<item_id>...'"),
    (RESPONSES.replace("i2,i3", "i2,i2"), PARAMS,
     "responses.csv, row 1, column 4: malformed header: duplicate item id 'i2' (also column 3)"),
    (RESPONSES.replace("p2,0,1,1", "p2,0,1"), PARAMS,
     "responses.csv, row 3: has 3 fields, the header has 4"),
    (RESPONSES, PARAMS.replace("item_id,model,a,b,c", "item_id,model,a,c,b"),
     "params.csv, row 1, column 4: malformed header: expected 'item_id,model,a,b,c,b1,b2,...'"),
    (RESPONSES, PARAMS.replace("i2,2pl,0.8", "i2,2pl,abc"),
     "params.csv, row 3, column 3 (a): 'abc' is not a number"),
    (RESPONSES, PARAMS.replace("i2,2pl", "i2,4pl"),
     "params.csv, row 3, column 2 (model): unknown model '4pl'"),
    (RESPONSES, PARAMS.replace("1.5,0.3,0.2", "1.5,0.3,"),
     "params.csv, row 4, column 5 (c): empty, but a 3pl item needs c"),
    (RESPONSES, PARAMS.replace("i2,2pl,0.8", "i2,2pl,-0.8"),
     "params.csv, row 3: item 'i2': a must be finite and positive, got -0.8"),
])
def test_score_rejects_bad_input_and_writes_nothing(tmp_path, capsys, responses, params,
                                                     message):
    r = write(tmp_path / "responses.csv", responses)
    p = write(tmp_path / "params.csv", params)
    out = tmp_path / "theta.csv"
    assert main(["score", str(r), "--params", str(p), "--method", "eap", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert not out.exists()
    assert set(os.listdir(tmp_path)) == {"responses.csv", "params.csv"}


@pytest.mark.parametrize(("responses", "model", "message"), [
    (RESPONSES.replace("p4,0,0,1", "p4,0,3,1"), "2pl",
     "responses.csv, row 5 (person 'p4'), column 3 (item 'i2'): category 3 is outside 0..1 "
     "of a 2pl item"),
    (RESPONSES.replace("p4,0,0,1", "p4,0,0,x"), "grm",
     "responses.csv, row 5 (person 'p4'), column 4 (item 'i3'): 'x' is not an integer category"),
    (RESPONSES.replace("p4,", "p2,"), "gpcm",
     "responses.csv, row 5, column 1: duplicate person id 'p2' (first in row 3)"),
    ("person_id\n", "2pl", "responses.csv, row 1, column 1: malformed header"),
])
def test_calibrate_rejects_bad_input_and_writes_nothing(tmp_path, capsys, responses, model,
                                                         message):
    r = write(tmp_path / "responses.csv", responses)
    out = tmp_path / "params_out.csv"
    assert main(["calibrate", str(r), "--model", model, "--out", str(out)]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert set(os.listdir(tmp_path)) == {"responses.csv"}


def test_calibrate_rejects_unknown_anchor_item(tmp_path, capsys):
    r = write(tmp_path / "responses.csv", RESPONSES)
    a = write(tmp_path / "anchors.csv", PARAMS.replace("i3,3pl", "i7,3pl"))
    out = tmp_path / "est.csv"
    assert main(["calibrate", str(r), "--model", "2pl", "--anchors", str(a), "--out",
                 str(out)]) == 1
    assert "anchors.csv, row 4, column 1: unknown item id 'i7'" in capsys.readouterr().err
    assert not out.exists()


def test_problem_items_are_reported_on_stderr(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = (rng.random((300, 4)) < 0.6).astype(int)
    x[:, 1] = 1
    lines = ["person_id,q1,q2,q3,q4"] + [f"p{i},{','.join(map(str, row))}"
                                         for i, row in enumerate(x)]
    r = write(tmp_path / "responses.csv", "\n".join(lines) + "\n")
    out = tmp_path / "est.csv"
    assert main(["calibrate", str(r), "--model", "2pl", "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: not calibrated: item 'q2': all 300 responses are in category 1" in err
    assert "3 items calibrated, 1 not" in err
    assert read_params(out).item_ids == ("q1", "q3", "q4")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["score", "x.csv", "--method", "wle", "--params", "p.csv", "--out", "t.csv"])
    assert exc.value.code == 2
    assert "invalid choice: 'wle'" in capsys.readouterr().err
