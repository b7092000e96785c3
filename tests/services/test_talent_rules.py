"""The talent rules against hand-computed cases: JPM, bands, axes, the 9-box, readiness.

DOMAIN.md: JPM = Σ min(level, expected) / Σ expected × 100; Optimal ≥ 90, Cukup Optimal 78 to
< 90, Kurang Optimal < 78; potential cuts θ −0.5 / 0.5, performance cuts 60 / 80 (defaults).
"""
from __future__ import annotations

import pytest

from assess.services import talent
from assess.services.talent import ScoreInput


@pytest.mark.parametrize("pairs, expected", [
    ([(3, 3), (2, 3), (4, 3)], 100 * 8 / 9),          # 3 + 2 + min(4, 3) = 8 of 9: 88.89
    ([(2, 2)] * 4 + [(1, 2)], 90.0),                  # 9 of 10: exactly 90
    ([(2, 2)] * 3 + [(1, 2)] * 2, 80.0),              # 8 of 10
    ([(2, 2)] * 14 + [(1, 2)] * 11, 78.0),            # 39 of 50: exactly 78
    ([(3, 3), (3, 3), (1, 3)], 100 * 7 / 9),          # 7 of 9: 77.78
    ([(5, 3), (1, 3)], 100 * 4 / 6),                  # a surplus never offsets a gap: 66.67
    ([(1, 1)], 100.0),
])
def test_jpm_hand_computed(pairs, expected):
    assert talent.job_person_match(pairs) == pytest.approx(expected, abs=1e-12)


def test_jpm_of_whole_percentages_is_exact_and_empty_is_none():
    assert talent.job_person_match([(2, 2)] * 4 + [(1, 2)]) == 90.0  # not 89.99999999999999
    assert talent.job_person_match([(2, 2)] * 14 + [(1, 2)] * 11) == 78.0
    assert talent.job_person_match([]) is None


@pytest.mark.parametrize("jpm, band", [
    (100.0, "optimal"), (90.0, "optimal"), (89.99, "cukup_optimal"), (89.999999, "cukup_optimal"),
    (78.0, "cukup_optimal"), (77.99, "kurang_optimal"), (0.0, "kurang_optimal"), (None, None),
])
def test_mapping_bands_at_every_boundary(jpm, band):
    assert talent.band_of(jpm, (90.0, 78.0)) == band


@pytest.mark.parametrize("jpm, band", [(80.0, "optimal"), (79.99, "cukup_optimal"), (68.0, "cukup_optimal"),
                                       (67.99, "kurang_optimal")])
def test_selection_bands_are_the_other_configurable_set(jpm, band):
    assert talent.band_of(jpm, talent.DEFAULT_SETTINGS["bands"]["selection"]) == band


def test_band_of_the_jpm_of_hand_computed_cases():
    assert talent.band_of(talent.job_person_match([(2, 2)] * 4 + [(1, 2)])) == "optimal"          # 90
    assert talent.band_of(talent.job_person_match([(3, 3), (2, 3), (4, 3)])) == "cukup_optimal"   # 88.89
    assert talent.band_of(talent.job_person_match([(2, 2)] * 14 + [(1, 2)] * 11)) == "cukup_optimal"  # 78
    assert talent.band_of(talent.job_person_match([(3, 3), (3, 3), (1, 3)])) == "kurang_optimal"  # 77.78


@pytest.mark.parametrize("index, category", [
    (-2.0, "rendah"), (-0.5000001, "rendah"), (-0.5, "menengah"), (0.0, "menengah"), (0.4999, "menengah"),
    (0.5, "tinggi"), (3.0, "tinggi"), (None, None)])
def test_potential_boundaries(index, category):
    assert talent.potential_of(index, (-0.5, 0.5)) == category


@pytest.mark.parametrize("score, category", [
    (0.0, "bawah"), (59.99, "bawah"), (60.0, "sesuai"), (79.99, "sesuai"), (80.0, "atas"), (100.0, "atas"),
    (None, None)])
def test_performance_boundaries(score, category):
    assert talent.performance_of(score, (60.0, 80.0)) == category


# The grid exactly as DOMAIN.md draws it (KemenPANRB): rows are performance from the top.
DOMAIN_GRID = """
kinerja di atas       4            7          9
kinerja sesuai        2            5          8
kinerja di bawah      1            3          6
"""


def test_all_nine_boxes_are_reachable_and_numbered_as_domain_md():
    drawn = [[int(x) for x in line.split()[-3:]] for line in DOMAIN_GRID.strip().splitlines()]
    assert [list(row) for row in talent.GRID] == drawn
    expected = {("atas", "rendah"): 4, ("atas", "menengah"): 7, ("atas", "tinggi"): 9,
                ("sesuai", "rendah"): 2, ("sesuai", "menengah"): 5, ("sesuai", "tinggi"): 8,
                ("bawah", "rendah"): 1, ("bawah", "menengah"): 3, ("bawah", "tinggi"): 6}
    reached = {}
    for score, performance in ((50.0, "bawah"), (70.0, "sesuai"), (90.0, "atas")):
        for theta, potential in ((-1.0, "rendah"), (0.0, "menengah"), (1.0, "tinggi")):
            box = talent.box_of(talent.performance_of(score), talent.potential_of(theta))
            reached[(performance, potential)] = box
    assert reached == expected
    assert sorted(reached.values()) == list(range(1, 10))
    assert talent.TALENT_POOL == (7, 8, 9)
    assert set(talent.BOX_RECOMMENDATIONS) == set(range(1, 10))


def test_a_box_is_never_guessed():
    assert talent.box_of(None, "tinggi") is None
    assert talent.box_of("atas", None) is None


def scores(**levels) -> list[ScoreInput]:
    """ScoreInput from code=(battery, theta, level)."""
    return [ScoreInput(code.replace("_", "."), battery, theta, level) for code, (battery, theta, level) in levels.items()]


def test_evaluate_places_a_hand_computed_participant():
    # Administrator: expected level 3. Managerial 3 and 2, sociocultural 4: (3 + 2 + 3) / 9 = 88.89.
    s = scores(M_01=("managerial", 0.4, 3), M_02=("managerial", 0.0, 2), SK_01=("sociocultural", 1.0, 4),
               DL_01=("digital", 1.0, 4), DL_02=("digital", 0.0, 3), ES_01=("emerging", 0.5, 3),
               BA_01=("berakhlak", 0.2, 3))
    ev = talent.evaluate(talent.DEFAULT_SETTINGS, job_level="administrator", scores=s, skp=(2025, "sangat_baik", None))
    assert ev.expected == 3
    assert ev.jpm == pytest.approx(88.888888, abs=1e-5) and ev.band == "cukup_optimal"
    # Potential: emerging 0.5, digital mean 0.5, managerial mean 0.2; equal weights: 0.4 → menengah.
    assert ev.potential_index == pytest.approx(0.4) and ev.potential == "menengah"
    assert ev.performance_score == 90.0 and ev.performance == "atas"
    assert ev.box == 7
    # Digital mean 3.5 ≥ 3, BerAKHLAK 3 ≥ 3, band not Kurang Optimal: ready.
    assert ev.ready is True and ev.note is None
    assert ev.levels == {"M.01": 3, "M.02": 2, "SK.01": 4, "DL.01": 4, "DL.02": 3, "ES.01": 3, "BA.01": 3}


def test_missing_skp_gives_no_box_and_says_why():
    s = scores(M_01=("managerial", 2.0, 5), ES_01=("emerging", 2.0, 5), DL_01=("digital", 2.0, 5), BA_01=("berakhlak", 2.0, 5))
    ev = talent.evaluate(talent.DEFAULT_SETTINGS, job_level="pelaksana", scores=s, skp=None)
    assert ev.box is None and ev.performance is None
    assert ev.potential == "tinggi" and ev.band == "optimal"
    assert "no_skp" in ev.note.split(",")


def test_skp_score_overrides_the_predikat_and_the_predikat_has_a_default():
    table = talent.DEFAULT_SETTINGS["predikat_scores"]
    assert talent.skp_score("baik", None, table) == 75.0
    assert talent.skp_score("baik", 82.5, table) == 82.5
    assert talent.performance_of(talent.skp_score("sangat_baik", None, table)) == "atas"
    assert talent.performance_of(talent.skp_score("baik", None, table)) == "sesuai"
    assert talent.performance_of(talent.skp_score("butuh_perbaikan", None, table)) == "bawah"


@pytest.mark.parametrize("case, ready, failed, unknown", [
    ({"digital": [3, 4], "berakhlak": [3]}, True, [], []),              # means 3.5 and 3
    ({"digital": [3, 2], "berakhlak": [3]}, False, ["digital"], []),     # mean 2.5 < 3
    ({"digital": [4], "berakhlak": [2]}, False, ["berakhlak"], []),
    ({"digital": [4]}, None, [], ["berakhlak"]),                         # not assessed: unknown
    ({"digital": [2]}, False, ["digital"], ["berakhlak"]),               # a failure decides
])
def test_readiness_rules(case, ready, failed, unknown):
    s = [ScoreInput(f"{b}.{i}", b, 0.0, level) for b, levels in case.items() for i, level in enumerate(levels)]
    got, detail = talent.readiness(s, "optimal", talent.DEFAULT_SETTINGS)
    assert got is ready and detail["failed"] == failed and detail["unknown"] == unknown


def test_readiness_excludes_kurang_optimal_and_can_use_the_minimum():
    s = [ScoreInput("DL.01", "digital", 0.0, 4), ScoreInput("DL.02", "digital", 0.0, 2), ScoreInput("BA.01", "berakhlak", 0.0, 3)]
    assert talent.readiness(s, "cukup_optimal", talent.DEFAULT_SETTINGS)[0] is True      # mean 3
    assert talent.readiness(s, "kurang_optimal", talent.DEFAULT_SETTINGS)[1]["failed"] == ["band"]
    strict = dict(talent.DEFAULT_SETTINGS, readiness_aggregate="min")
    assert talent.readiness(s, "optimal", strict)[1]["failed"] == ["digital"]             # min 2
    assert talent.readiness(s, None, talent.DEFAULT_SETTINGS)[0] is None                  # no band: unknown


def test_potential_index_weights_batteries_and_competencies():
    s = scores(ES_01=("emerging", 1.0, 4), DL_01=("digital", 0.0, 3), DL_02=("digital", 1.0, 4), M_01=("managerial", -1.0, 2))
    index, parts = talent.potential_index(s, {"emerging": 2.0, "digital": 1.0})
    assert index == pytest.approx((2 * 1.0 + 0.5) / 3)
    assert parts == {"emerging": 1.0, "digital": 0.5}
    assert talent.potential_index(s, {"M.01": 1.0})[0] == -1.0
    assert talent.potential_index(s, {"sociocultural": 1.0}) == (None, {})


def test_expected_levels_follow_domain_md_and_are_configurable():
    assert talent.DEFAULT_SETTINGS["expected_levels"] == {
        "jpt_utama": 5, "jpt_madya": 5, "jpt_pratama": 4, "administrator": 3, "pengawas": 2, "pelaksana": 1,
        "ahli_utama": 4, "ahli_madya": 3, "ahli_muda": 2, "ahli_pertama": 1, "terampil": 1}
    s = scores(M_01=("managerial", 0.0, 3))
    assert talent.evaluate(talent.DEFAULT_SETTINGS, job_level="jpt_pratama", scores=s, skp=None).jpm == 75.0
    custom = dict(talent.DEFAULT_SETTINGS, expected_levels=dict(talent.DEFAULT_SETTINGS["expected_levels"], jpt_pratama=3))
    assert talent.evaluate(custom, job_level="jpt_pratama", scores=s, skp=None).jpm == 100.0


def test_invalid_settings_are_refused_with_a_problem_per_key():
    batteries = {"managerial", "sociocultural", "digital", "emerging", "berakhlak"}
    bad = dict(talent.DEFAULT_SETTINGS, bands={"mapping": [70, 90], "selection": [80, 68]},
               potential_cuts=[0.5, -0.5], readiness_levels={"nothing": 3})
    with pytest.raises(talent.TalentError) as error:
        talent.validate_settings(bad, batteries=batteries)
    assert set(error.value.problems) == {"bands_mapping", "potential_cuts", "readiness_levels"}
    assert talent.validate_settings(talent.DEFAULT_SETTINGS, batteries=batteries) == talent.with_defaults({})
    upside_down = dict(talent.DEFAULT_SETTINGS, predikat_scores={**talent.DEFAULT_SETTINGS["predikat_scores"],
                                                                 "sangat_baik": 0.0})
    with pytest.raises(talent.TalentError) as error:
        talent.validate_settings(upside_down, batteries=batteries)
    assert set(error.value.problems) == {"predikat_scores"}


def test_a_jpm_over_some_of_the_required_competencies_is_no_jpm():
    """One managerial competency out of the JPM's three is not a 100 %% match: no JPM, no band, says why."""
    s = scores(M_01=("managerial", 1.0, 4), DL_01=("digital", 1.0, 4), BA_01=("berakhlak", 0.2, 3),
               ES_01=("emerging", 0.5, 3))
    required = {"M.01", "M.02", "SK.01"}
    ev = talent.evaluate(talent.DEFAULT_SETTINGS, job_level="administrator", scores=s, skp=(2025, "baik", None),
                         jpm_required=required)
    assert ev.jpm is None and ev.band is None
    assert "jpm_incomplete" in ev.note.split(",") and ev.detail["jpm_not_measured"] == ["M.02", "SK.01"]
    assert ev.potential is not None  # the other axes are still placed from what was measured
    full = s + scores(M_02=("managerial", 0.0, 3), SK_01=("sociocultural", 0.0, 3))
    ev = talent.evaluate(talent.DEFAULT_SETTINGS, job_level="administrator", scores=full, skp=None,
                         jpm_required=required)
    assert ev.jpm == 100.0 and "jpm_incomplete" not in (ev.note or "")
    # Without the list (a bank the service could not read) the old rule stands.
    assert talent.evaluate(talent.DEFAULT_SETTINGS, job_level="administrator", scores=s, skp=None).jpm == 100.0
