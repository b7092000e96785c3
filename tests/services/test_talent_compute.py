"""Computing placements from the database: attempts used, settings versions, relocation planning."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from assess.extensions import db
from assess.models import Review, ReviewCase, TalentPlacement, TalentSettings
from assess.services import relocation, talent
from tests.talent_helpers import add_attempt, add_skp, good_scores, make_agency, make_bank, make_participant, make_wave


@pytest.fixture
def world(app_ctx):
    comp = make_bank()
    agency = make_agency("KEMENA", 1, priority=2, units=("SET", "DJA"))
    wave = make_wave("W1")
    return {"comp": comp, "agency": agency, "wave": wave}


def placements(user_id=None):
    query = select(TalentPlacement).order_by(TalentPlacement.id)
    if user_id is not None:
        query = query.where(TalentPlacement.user_id == user_id)
    return list(db.session.execute(query).scalars())


def test_compute_places_from_the_latest_finished_attempt(world):
    comp, agency, wave = world["comp"], world["agency"], world["wave"]
    user = make_participant(agency, job_level="administrator")
    add_skp(user, "sangat_baik")
    add_attempt(user, wave, good_scores(level=1, theta=-2.0), comp, hours_ago=30)       # older
    latest = add_attempt(user, wave, good_scores(level=3, theta=1.0), comp, hours_ago=2)
    add_attempt(user, wave, good_scores(level=5, theta=3.0), comp, status="void", hours_ago=1)  # never used
    add_attempt(user, wave, good_scores(level=5, theta=3.0), comp, status="in_progress", hours_ago=0.5)
    report = talent.compute()
    [p] = placements(user.id)
    assert p.attempt_id == latest.id and p.is_current
    assert p.jpm == 100.0 and p.band == "optimal" and p.potential == "tinggi" and p.performance == "atas"
    assert p.box == 9 and p.ready is True and p.cluster == 1
    assert p.levels["M.01"] == 3
    assert report.participants == 1 and report.created == 1


def test_missing_skp_gives_no_box_in_the_database(world):
    user = make_participant(world["agency"])
    add_attempt(user, world["wave"], good_scores(), world["comp"])
    talent.compute()
    [p] = placements(user.id)
    assert p.box is None and p.performance is None and "no_skp" in p.note
    assert p.band == "optimal"  # the rest is still computed


def test_every_placement_records_its_settings_version_and_old_versions_stay(world):
    user = make_participant(world["agency"], job_level="jpt_pratama")  # expected 4
    add_skp(user, "baik")
    add_attempt(user, world["wave"], good_scores(level=3), world["comp"])
    talent.compute()
    v1 = talent.latest_settings()
    first = placements(user.id)
    assert [p.settings_id for p in first] == [v1.id] and first[0].jpm == 75.0 and first[0].band == "kurang_optimal"
    doc = talent.with_defaults(v1.settings)
    doc["expected_levels"]["jpt_pratama"] = 3
    v2 = talent.save_settings(doc, note="JPT Pratama at 3")
    with pytest.raises(talent.TalentError):
        talent.save_settings(doc)  # unchanged: no new version
    talent.compute(v2)
    rows = placements(user.id)
    assert [(db.session.get(TalentSettings, p.settings_id).version, p.jpm) for p in rows] == [(1, 75.0), (2, 100.0)]
    again = talent.compute(v2)  # recomputing updates in place
    assert again.updated == 1 and again.created == 0 and len(placements(user.id)) == 2


def test_cluster_comes_from_the_unit_and_a_wave_filter_keeps_one_current_placement(world):
    agency = world["agency"]
    dja = next(u for u in agency.units if u.code == "DJA")
    dja.cluster = 3
    user = make_participant(agency, unit=dja)
    add_skp(user)
    wave2 = make_wave("W2")
    add_attempt(user, world["wave"], good_scores(level=2), world["comp"], hours_ago=48)
    add_attempt(user, wave2, good_scores(level=4), world["comp"], hours_ago=1)
    talent.compute(wave_id=world["wave"].id)
    [old] = placements(user.id)
    assert old.cluster == 3 and old.is_current is False  # W1 is not the latest attempt
    talent.compute()
    rows = {p.wave_id: p for p in placements(user.id)}
    assert rows[wave2.id].is_current and not rows[world["wave"].id].is_current


def test_approved_only_is_one_filter_on_the_attempts(world):
    user = make_participant(world["agency"])
    approved = add_attempt(user, world["wave"], good_scores(level=2), world["comp"], hours_ago=10)
    add_attempt(user, world["wave"], good_scores(level=4), world["comp"], hours_ago=1)
    db.session.add(Review(attempt_id=approved.id, decision="approve", state="final"))
    db.session.add(ReviewCase(attempt_id=approved.id, state="approved"))  # what review.approve() leaves
    db.session.flush()
    ids = lambda **kw: [r.attempt_id for r in db.session.execute(talent.latest_attempts(**kw))]  # noqa: E731
    assert ids() != [approved.id]
    assert ids(approved_only=True) == [approved.id]


def test_relocation_plan_on_a_constructed_case(app_ctx):
    """Five ready ASN in cluster 1 and one who is not; stage 1 holds 2, stage 2 holds 1.

    Order: unit priority (else agency's), then box (9 first), then JPM:
    B (unit priority 1, box 9), A (unit priority 1, box 5), C (agency priority 2, box 9, JPM 100),
    E (agency priority 2, box 9, JPM 90), D (unranked, box 8). Stage 1: B, A; stage 2: C; E and D wait.
    """
    comp = make_bank()
    agency = make_agency("KEMENB", 1, priority=2, units=("SET", "DJP"))
    other = make_agency("LPNKX", 1, priority=None)
    djp = next(u for u in agency.units if u.code == "DJP")
    setj = next(u for u in agency.units if u.code == "SET")
    djp.priority = 1
    wave = make_wave("WP")
    people = {}
    for key, unit_agency, unit, scores, skp in [
        ("A", agency, djp, good_scores(level=3, theta=0.0), "baik"),          # box 5
        ("B", agency, djp, good_scores(level=3, theta=1.0), "sangat_baik"),   # box 9
        ("C", agency, setj, good_scores(level=3, theta=1.0), "sangat_baik"),  # box 9, JPM 100
        ("D", other, None, good_scores(level=3, theta=1.0), "baik"),          # box 8, unranked agency
        ("E", agency, setj, {**good_scores(level=3, theta=1.0), "M.02": (1.0, 2)}, "sangat_baik"),  # JPM < 100
        ("F", agency, setj, good_scores(level=2, theta=1.0), "sangat_baik"),  # digital level 2: not ready
    ]:
        user = make_participant(unit_agency, unit=unit, job_level="administrator", name=f"Peserta {key}")
        add_skp(user, skp)
        add_attempt(user, wave, scores, comp)
        people[key] = user
    talent.compute()
    settings = talent.latest_settings()
    assert relocation.ready_counts(settings.id) == {1: 5}
    page = relocation.ordered_ready(settings.id, 1)
    order = [user.name[-1] for _, tp, user, *_ in page.items]
    assert order == ["B", "A", "C", "E", "D"]
    caps = [2, 1]
    assert [relocation.stage_of(rank, caps) for rank, *_ in page.items] == [1, 1, 2, None, None]
    assert relocation.allocate(5, caps) == ([2, 1], 2)
    scheme_small = relocation.save_scheme(None, code="S-118", name="118.000", movers=118000, description=None,
                                          stage_labels=["2025", "2026"], capacities={(1, 1): 2, (1, 2): 1})
    scheme_big = relocation.save_scheme(None, code="S-180", name="180.000", movers=180000, description=None,
                                        stage_labels=["2025"], capacities={(1, 1): 10})
    small, big = (relocation.plan(s, relocation.ready_counts(settings.id)) for s in (scheme_small, scheme_big))
    assert (small.clusters[0].fits, small.clusters[0].waiting, small.moving, small.waiting) == ([2, 1], 2, 3, 2)
    assert (big.clusters[0].fits, big.clusters[0].waiting, big.moving) == ([5], 0, 5)
    assert relocation.allocate(0, [3]) == ([0], 0) and relocation.stage_of(0, [0, 1]) == 2


def test_a_confirmed_override_counts_in_the_talent_map(world):
    """An assessor's level override, once a second assessor confirms it, replaces the scored level."""
    user = make_participant(world["agency"])
    attempt = add_attempt(user, world["wave"], good_scores(level=2), world["comp"], hours_ago=2)
    before = talent.compute(user_ids=[user.id])
    placement = db.session.execute(select(TalentPlacement).where(TalentPlacement.user_id == user.id,
                                                                 TalentPlacement.is_current.is_(True))).scalar_one()
    jpm_before = placement.jpm
    for competency_id in world["comp"].values() if isinstance(world["comp"], dict) else [world["comp"]]:
        db.session.add(Review(attempt_id=attempt.id, decision="override", state="confirmed",
                              competency_id=getattr(competency_id, "id", competency_id), old_level=2, new_level=5,
                              reason_code="additional_evidence", reason_text="wawancara"))
    db.session.flush()
    talent.compute(user_ids=[user.id])
    placement = db.session.execute(select(TalentPlacement).where(TalentPlacement.user_id == user.id,
                                                                 TalentPlacement.is_current.is_(True))).scalar_one()
    assert before is not None and placement.jpm > jpm_before


def test_a_short_test_that_measured_one_jpm_competency_gets_no_jpm(world):
    """The JPM is taken over the JPM batteries' competencies the bank can test (operational items)."""
    from assess.models import Item

    comp, agency, wave = world["comp"], world["agency"], world["wave"]
    for code in ("M.01", "M.02", "SK.01"):
        db.session.add(Item(code=f"{code}-001", competency_id=comp[code], status="operational"))
    db.session.add(Item(code="DL.01-001", competency_id=comp["DL.01"], status="operational"))
    db.session.flush()
    assert talent.jpm_competencies(["managerial", "sociocultural"]) == {"M.01", "M.02", "SK.01"}
    short, full = make_participant(agency), make_participant(agency)
    add_attempt(short, wave, {"M.01": (1.0, 4), "DL.01": (1.0, 4)}, comp)
    add_attempt(full, wave, good_scores(level=3), comp)
    talent.compute()
    [p] = placements(short.id)
    assert p.jpm is None and p.band is None and "jpm_incomplete" in p.note.split(",")
    assert p.detail["jpm_not_measured"] == ["M.02", "SK.01"]
    [q] = placements(full.id)
    assert q.jpm == 100.0 and q.band == "optimal"
    # A competency without operational items cannot be measured, so it is not required.
    db.session.execute(Item.__table__.update().where(Item.code == "M.02-001").values(status="retired"))
    assert talent.jpm_competencies(["managerial", "sociocultural"]) == {"M.01", "SK.01"}


def test_a_later_short_test_does_not_push_out_a_complete_mapping(world):
    from assess.models import Item

    comp, agency, wave = world["comp"], world["agency"], world["wave"]
    for code in ("M.01", "M.02", "SK.01"):
        db.session.add(Item(code=f"{code}-001", competency_id=comp[code], status="operational"))
    db.session.flush()
    user = make_participant(agency)
    full = add_attempt(user, wave, good_scores(level=3), comp, hours_ago=48)
    add_attempt(user, make_wave("W2"), {"M.01": (2.0, 5), "DL.01": (1.0, 4)}, comp, hours_ago=1)  # later, partial
    talent.compute()
    [p] = [p for p in placements(user.id) if p.is_current]
    assert p.attempt_id == full.id and p.jpm == 100.0
    # A later complete attempt does replace it.
    newer = add_attempt(user, wave, good_scores(level=2), comp, hours_ago=0.5)
    talent.compute()
    [p] = [p for p in placements(user.id) if p.is_current]
    assert p.attempt_id == newer.id
