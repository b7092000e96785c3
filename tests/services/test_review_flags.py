"""Person-fit and precision flags over a whole battery: the multiplicity of 25 competencies."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from assess.services.flags import DEFAULTS, _misfit


def _scores(lz, n_items):
    return [SimpleNamespace(competency_id=i + 1, person_fit=float(z), n_items=n, se=0.5)
            for i, (z, n) in enumerate(zip(lz, n_items))]


def test_fitting_attempts_over_25_short_scales_are_rarely_flagged():
    # lz* of short scales is noisier than N(0, 1): draw it with SD 1.4, as the demo's 4-item scales show.
    rng = np.random.default_rng(3)
    flagged = old_rule = 0
    for _ in range(2000):
        lz = np.concatenate([rng.normal(0, 1.4, 20), rng.normal(0, 1.0, 5)])
        flagged += bool(_misfit(_scores(lz, [4] * 20 + [12] * 5), DEFAULTS))
        old_rule += bool((lz < DEFAULTS["misfit_lz"]).any())  # each competency alone at -1.96
    assert old_rule / 2000 > 0.6
    assert flagged / 2000 < 0.12  # 2.5 %% nominal; the short scales' wide lz* inflate the combined z a little


def test_aberrant_patterns_are_still_flagged():
    # One long scale far off: flagged on its own, against the Bonferroni-corrected cut.
    flags = _misfit(_scores([-4.0] + [0.0] * 24, [20] + [4] * 24), DEFAULTS)
    alone = [f for f in flags if "competency_id" in f["evidence"]]
    assert len(alone) == 1 and alone[0]["evidence"]["competency_id"] == 1 and alone[0]["threshold"] == -1.96
    flags = _misfit(_scores([-4.0, 0.0, 0.0], [20, 20, 20]), DEFAULTS)
    cut = next(f for f in flags if "competency_id" in f["evidence"])["threshold"]
    assert abs(cut - (-2.394)) < 1e-3  # Φ⁻¹(0.025 / 3)
    # Many short scales all somewhat off (random answering everywhere): the combined z catches it.
    flags = _misfit(_scores([-1.2] * 16, [4] * 16), DEFAULTS)
    [combined] = flags
    assert combined["evidence"]["combined_over"] == 16 and abs(combined["value"] - (-4.8)) < 1e-9
    assert [x["competency_id"] for x in combined["evidence"]["lowest"]] == [1, 2, 3, 4, 5]
    # One short scale off while the rest fit: not enough to judge.
    assert _misfit(_scores([-3.0] + [0.0] * 24, [4] * 25), DEFAULTS) == []
