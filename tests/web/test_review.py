"""Assessor review: queue, own-agency exclusion, four eyes, flags, audit, access."""
from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from assess.extensions import db
from assess.models import Attempt, AuditLog, Item, Response, Review, ReviewCase, Score, User, utcnow


@pytest.fixture
def scored(app, make_user, make_competency, make_wave):
    """Build scored attempts directly: answers given as IRT categories (or raw Likert answers)."""
    from assess.services import delivery

    def factory(user, wave_id, answers: dict | None = None, elapsed_ms=8000, raw_likert=None):
        with app.app_context():
            from assess.models import Wave

            wave = db.session.get(Wave, wave_id)
            attempt = Attempt(wave_id=wave.id, user_id=user.id, status="in_progress", started_at=utcnow(),
                              deadline_at=utcnow() + timedelta(hours=1), form=delivery.draw_form(wave.spec))
            db.session.add(attempt)
            db.session.flush()
            for s_index, section in enumerate(attempt.form["sections"]):
                for n, entry in enumerate(section["items"]):
                    version = db.session.get(db.Model.registry._class_registry["ItemVersion"], entry["version_id"])
                    if raw_likert is not None and version.item_type == "likert":
                        choice = raw_likert[n % len(raw_likert)] - 1
                    else:
                        wanted = (answers or {}).get(entry["item_id"], 1)
                        choice = next(c for c in range(len(entry["order"]))
                                      if delivery.scoring.category_of(version, c)[0] == wanted) if version.item_type != "likert" else (wanted if not version.reverse_keyed else 4 - wanted)
                    category, points = delivery.scoring.category_of(version, choice)
                    ms = elapsed_ms(n) if callable(elapsed_ms) else elapsed_ms
                    db.session.add(Response(attempt_id=attempt.id, item_id=entry["item_id"], item_version_id=version.id,
                                            choice=choice, category=category, points=points, seq=1, elapsed_ms=ms))
            db.session.flush()
            delivery.close_attempt(attempt.id, "submitted")
            db.session.commit()
            return attempt.id

    return factory


def _model_answers(app, competency_ids, theta: float, seed: int) -> dict:
    """Answers (item id -> category) drawn from the items' own IRT model at ``theta``."""
    from assess.irt.simulate import simulate_responses
    from assess.services.scoring import bank_of

    with app.app_context():
        items = db.session.execute(select(Item).where(Item.competency_id.in_(competency_ids)).order_by(Item.id)).scalars().all()
        bank = bank_of([i.current for i in items])
        x = simulate_responses(bank, np.array([theta]), rng=np.random.default_rng(seed))[0]
        return {item.id: int(c) for item, c in zip(items, x)}


@pytest.fixture
def world(app, make_agency, make_user, make_competency, make_wave, scored):
    """Two agencies; participants in both; assessors in agency A; scored attempts."""
    agency_a, agency_b = make_agency("AGA", cluster=1), make_agency("AGB", cluster=2)
    mc = make_competency("R.01", "mc", n=16, battery="managerial")
    lk = make_competency("R.02", "likert", n=9)
    p_a = make_user("participant", agency=agency_a, name="Peserta A")
    p_b = make_user("participant", agency=agency_b, name="Peserta B")
    p_b2 = make_user("participant", agency=agency_b, name="Peserta B2")
    wave = make_wave([{"competency_id": mc, "method": "fixed", "n_items": 16},
                      {"competency_id": lk, "method": "fixed", "n_items": 9}], users=[p_a, p_b, p_b2])
    fitting = _model_answers(app, [mc, lk], theta=0.3, seed=11)
    attempts = {
        "a": scored(p_a, wave, answers=fitting, elapsed_ms=12000),
        "b": scored(p_b, wave, answers=fitting, elapsed_ms=12000),
        "b2": scored(p_b2, wave, raw_likert=[5], elapsed_ms=300),  # straight-lined, too fast
    }
    asr1 = make_user("assessor", agency=agency_a, username="asr1")
    asr2 = make_user("assessor", agency=agency_a, username="asr2")
    return {"attempts": attempts, "asr1": asr1, "asr2": asr2, "agency_a": agency_a, "agency_b": agency_b,
            "wave": wave, "mc": mc}


def test_scoring_opens_a_case_with_flags_and_evidence(app, world):
    with app.app_context():
        cases = {c.attempt_id: c for c in db.session.execute(select(ReviewCase)).scalars()}
        flagged = cases[world["attempts"]["b2"]]
        codes = {f["code"] for f in flagged.flags}
        assert {"straight_lining", "reverse_inconsistency", "rapid_guessing"} <= codes
        straight = next(f for f in flagged.flags if f["code"] == "straight_lining")
        assert straight["value"] == 1.0 and straight["evidence"]["answer"] == 5
        assert cases[world["attempts"]["b"]].flag_count == 0


def test_a_wide_interval_is_a_note_not_a_flag(app, client, world, login):
    """Large SEs (short scales) show once per attempt, name the competencies, and do not make the
    case flagged: it can still be approved in bulk."""
    from types import SimpleNamespace

    from assess.models import Attempt
    from assess.services import review

    attempt_id = world["attempts"]["b"]
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        wide = [SimpleNamespace(competency_id=world["mc"], person_fit=0.1, n_items=4, se=0.8),
                SimpleNamespace(competency_id=world["mc"], person_fit=-0.2, n_items=4, se=0.7)]
        case_ = review.refresh_case(attempt, scores=wide)
        [note] = case_.flags
        assert note["code"] == "large_se" and note["value"] == 0.8 and len(note["evidence"]["competencies"]) == 2
        assert case_.flag_count == 0
        db.session.commit()
    login(world["asr1"])
    html = client.get(f"/review/attempts/{attempt_id}").get_data(as_text=True)
    assert "competencies: R.01 (se: 0.8, n_items: 4); R.01 (se: 0.7, n_items: 4)" in html
    assert '"competency_id": ' not in html  # no raw JSON with database ids
    assert "Peserta B<" not in client.get("/review/?state=flagged").get_data(as_text=True)


def test_queue_excludes_own_agency_and_sorts_flags_first(app, client, world, login):
    login(world["asr1"])
    page = client.get("/review/").get_data(as_text=True)
    assert "Peserta A" not in page  # own agency
    assert page.index("Peserta B2") < page.index("Peserta B<")
    assert client.get(f"/review/attempts/{world['attempts']['a']}").status_code == 403
    assert client.post(f"/review/attempts/{world['attempts']['a']}/approve").status_code == 403
    assert client.get(f"/review/attempts/{world['attempts']['b']}").status_code == 200
    flagged_only = client.get("/review/?state=flagged").get_data(as_text=True)
    assert "Peserta B2" in flagged_only and "Peserta B<" not in flagged_only
    by_flag = client.get("/review/?flag=straight_lining").get_data(as_text=True)
    assert "Peserta B2" in by_flag and "Peserta B<" not in by_flag
    by_cluster = client.get("/review/?cluster=1").get_data(as_text=True)
    assert "Peserta B" not in by_cluster


def test_report_explains_each_score(app, client, world, login):
    login(world["asr1"])
    html = client.get(f"/review/attempts/{world['attempts']['b']}").get_data(as_text=True)
    with app.app_context():
        scores = db.session.execute(select(Score).where(Score.attempt_id == world["attempts"]["b"])).scalars().all()
    for score in scores:
        assert f"{score.theta:.2f}" in html and f"{score.se:.2f}" in html
    assert "<svg" in html and "JPM" in html and "R.01-001" in html


def test_report_gives_no_jpm_when_the_attempt_missed_a_jpm_competency(app, client, world, login, make_competency):
    login(world["asr1"])
    url = f"/review/attempts/{world['attempts']['b']}"
    assert "Job-person match (JPM)" in client.get(url).get_data(as_text=True)
    make_competency("R.03", "mc", n=4, battery="managerial")  # the bank now tests a second managerial competency
    html = client.get(url).get_data(as_text=True)
    assert "tidak diukur: R.03" in html and "Job-person match (JPM)" not in html


def test_four_eyes_override_and_audit(app, client, world, login):
    attempt = world["attempts"]["b"]
    login(world["asr1"])
    with app.app_context():
        level = db.session.execute(select(Score.level).where(Score.attempt_id == attempt, Score.competency_id == world["mc"])).scalar_one()
    new_level = 5 if level != 5 else 4
    r = client.post(f"/review/attempts/{attempt}/override", data={
        "competency_id": world["mc"], "new_level": new_level, "reason_code": "additional_evidence",
        "reason_text": "Hasil wawancara perilaku mendukung level lebih tinggi."})
    assert r.status_code == 302
    own = client.post(f"/review/attempts/{attempt}/confirm", data={"note": "ok"})
    assert "tidak dapat mengonfirmasi" in client.get(own.location).get_data(as_text=True)
    with app.app_context():
        review = db.session.execute(select(Review).where(Review.attempt_id == attempt)).scalar_one()
        assert review.state == "pending" and review.old_level == level
    second = app.test_client()
    login(world["asr2"], c=second)
    waiting = second.get(f"/review/attempts/{attempt}").get_data(as_text=True)
    box = waiting[waiting.index("alert-warning"):][:600]
    # the second assessor sees which competency, in words: not "override → level 5 · additional_evidence"
    assert "Penggantian level</strong> R.01 Kompetensi R.01 → level" in box
    assert "Bukti tambahan (wawancara, portofolio)" in box and "additional_evidence" not in box
    second.post(f"/review/attempts/{attempt}/confirm", data={"note": "setuju"})
    with app.app_context():
        review = db.session.execute(select(Review).where(Review.attempt_id == attempt)).scalar_one()
        assert review.state == "confirmed" and review.confirmed_by_id == world["asr2"].id
        case = db.session.execute(select(ReviewCase).where(ReviewCase.attempt_id == attempt)).scalar_one()
        assert case.state == "overridden"
        original = db.session.execute(select(Score.level).where(Score.attempt_id == attempt, Score.competency_id == world["mc"])).scalar_one()
        assert original == level  # the scored level is kept
        actions = [a.action for a in db.session.execute(select(AuditLog).where(AuditLog.target_id == str(attempt)).order_by(AuditLog.id)).scalars()]
        assert actions == ["review.override", "review.confirm"]
    html = second.get(f"/review/attempts/{attempt}").get_data(as_text=True)
    assert "Penggantian level" in html and "Dikonfirmasi asesor kedua" in html  # the timeline in words


def test_retest_voids_the_attempt_after_confirmation(app, client, world, login):
    attempt = world["attempts"]["b2"]
    login(world["asr1"])
    client.post(f"/review/attempts/{attempt}/retest", data={"reason_code": "administration_problem",
                                                             "reason_text": "Koneksi terputus berulang kali."})
    second = app.test_client()
    login(world["asr2"], c=second)
    second.post(f"/review/attempts/{attempt}/confirm", data={})
    with app.app_context():
        assert db.session.get(Attempt, attempt).status == "void"


def test_bulk_approve_only_touches_unflagged(app, client, world, login):
    login(world["asr1"])
    client.post("/review/bulk-approve", data={"attempt": [world["attempts"]["b"], world["attempts"]["b2"], world["attempts"]["a"]]})
    with app.app_context():
        states = {c.attempt_id: c.state for c in db.session.execute(select(ReviewCase)).scalars()}
    assert states[world["attempts"]["b"]] == "approved"
    assert states[world["attempts"]["b2"]] == "awaiting"  # flagged
    assert states[world["attempts"]["a"]] == "awaiting"   # own agency


def test_no_route_can_change_the_audit_log(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_participants_cannot_reach_review_pages(app, client, world, login, make_user):
    with app.app_context():
        participant = db.session.execute(select(User).where(User.name == "Peserta B")).scalar_one()
        db.session.expunge(participant)
    login(participant)
    for url in ("/review/", f"/review/attempts/{world['attempts']['b']}", f"/review/attempts/{world['attempts']['b2']}"):
        assert client.get(url).status_code == 403
    assert client.post(f"/review/attempts/{world['attempts']['b']}/approve").status_code == 403
    assert client.get(f"/me/attempts/{world['attempts']['b2']}/finished").status_code == 404


def test_flag_rates_on_simulated_attempts(app, make_user, make_competency, make_wave, scored):
    """Model-fitting simulees are rarely flagged; straight-liners and rapid guessers always are."""
    from assess.irt.simulate import simulate_responses
    from assess.services.scoring import bank_of

    lk = make_competency("F.01", "likert", n=12)
    mc = make_competency("F.02", "mc", n=20)
    users = [make_user("participant") for _ in range(45)]
    wave = make_wave([{"competency_id": mc, "method": "fixed", "n_items": 20},
                      {"competency_id": lk, "method": "fixed", "n_items": 12}], users=users, shuffle=False)
    with app.app_context():
        items = db.session.execute(select(Item).order_by(Item.id)).scalars().all()
        versions = [i.current for i in items if i.competency_id in (lk, mc)]
        ids = [v.item_id for v in versions]
        bank = bank_of(versions)
    rng = np.random.default_rng(2026)
    fitting, aberrant = users[:30], users[30:]
    x = simulate_responses(bank, rng.standard_normal(len(fitting)), rng=rng)
    for person, user in enumerate(fitting):
        times = rng.lognormal(np.log(15000), 0.4, size=len(ids))
        scored(user, wave, answers=dict(zip(ids, x[person].tolist())), elapsed_ms=lambda n, t=times: int(t[n]))
    for user in aberrant[:8]:
        scored(user, wave, raw_likert=[5], elapsed_ms=9000)            # agrees with everything
    for user in aberrant[8:]:
        scored(user, wave, answers={i: 0 for i in ids}, elapsed_ms=400)  # clicks through
    with app.app_context():
        cases = {c.attempt.user_id: c for c in db.session.execute(select(ReviewCase)).scalars()}
    false_alarms = sum(cases[u.id].flag_count > 0 for u in fitting) / len(fitting)
    hits = sum(cases[u.id].flag_count > 0 for u in aberrant) / len(aberrant)
    assert false_alarms <= 0.15, false_alarms
    assert hits == 1.0
    assert all(any(f["code"] == "straight_lining" for f in cases[u.id].flags) for u in aberrant[:8])
    assert all(any(f["code"] == "rapid_guessing" for f in cases[u.id].flags) for u in aberrant[8:])


def _recalibrate_easier(app, competency_id: int, shift: float = 2.5) -> None:
    """A new version of every item with b lower by ``shift``: the same answers now mean lower θ."""
    from assess.models import ItemVersion

    with app.app_context():
        for item in db.session.execute(select(Item).where(Item.competency_id == competency_id)).scalars():
            old = item.current
            item.current_version += 1
            item.versions.append(ItemVersion(
                version=item.current_version, item_type=old.item_type, level=old.level, stem=old.stem,
                options=old.options, irt_model=old.irt_model, a=old.a, b=old.b - shift, c=old.c,
                change_note="recalibrated"))
        db.session.commit()


def test_rescore_after_a_parameter_update_shows_the_diff_then_applies(app, client, world, login, make_user):
    with app.app_context():
        before = {s.attempt_id: s.level for s in db.session.execute(
            select(Score).where(Score.competency_id == world["mc"])).scalars()}
    _recalibrate_easier(app, world["mc"])
    admin = make_user("admin")
    login(admin)
    page = client.get(f"/review/rescore/{world['wave']}").get_data(as_text=True)
    assert "R.01" in page, page[page.find("<main"):][:1500]
    with app.app_context():
        from assess.services import review as review_service
        total, changes, _ = review_service.rescore_preview(world["wave"])
        assert total == 3 and changes and all(c.new_level < c.old_level for c in changes)
        assert {s.attempt_id: s.level for s in db.session.execute(
            select(Score).where(Score.competency_id == world["mc"])).scalars()} == before  # preview wrote nothing
    client.post(f"/review/rescore/{world['wave']}")
    with app.app_context():
        after = {s.attempt_id: s.level for s in db.session.execute(
            select(Score).where(Score.competency_id == world["mc"])).scalars()}
        assert after == {c.attempt_id: c.new_level for c in changes} | {k: v for k, v in before.items() if k not in {c.attempt_id for c in changes}}
        assert db.session.execute(select(AuditLog).where(AuditLog.action == "review.rescore")).scalar_one()


def test_the_rescore_preview_judges_bands_by_the_talent_settings_in_force(app, world):
    from assess.services import review as review_service, talent

    _recalibrate_easier(app, world["mc"])
    with app.app_context():
        # Defaults: an Ahli Muda is expected at level 2; R.01 drops from 3 to 1, JPM 100 % -> 50 %.
        _, changes, bands = review_service.rescore_preview(world["wave"])
        dropped = {c.attempt_id for c in changes if c.competency == "R.01" and c.old_level >= 2 > c.new_level}
        assert dropped and bands == {a: ("optimal", "kurang_optimal") for a in dropped}
        # Settings expecting level 1 of an Ahli Muda: the same drop leaves the band alone.
        doc = talent.with_defaults(None) | {"jpm_batteries": ["managerial"], "readiness_levels": {},
                                            "potential_weights": {"managerial": 1.0}}  # this bank's batteries
        doc["expected_levels"]["ahli_muda"] = 1
        talent.save_settings(doc, note="uji")
        db.session.commit()
        assert review_service.rescore_preview(world["wave"])[2] == {}
        # Bands cut at 40 and 20: a JPM of 50 % is Optimal again.
        doc["expected_levels"]["ahli_muda"] = 2
        doc["bands"]["mapping"] = [40.0, 20.0]
        talent.save_settings(doc, note="uji 2")
        db.session.commit()
        assert review_service.rescore_preview(world["wave"])[2] == {}


def test_admin_assigns_to_another_agencys_assessor_only(app, client, world, login, make_user, make_agency):
    admin = make_user("admin")
    outsider = make_user("assessor", agency=make_agency("AGC", cluster=3), username="asr3")
    login(admin)
    attempt = world["attempts"]["a"]  # a participant of agency A
    page = client.get(f"/review/attempts/{attempt}").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*id="assign-to".*?</select>', page, re.S).group(0)
    assert f'value="{outsider.id}"' in select_html and f'value="{world["asr1"].id}"' not in select_html
    client.post(f"/review/attempts/{attempt}/assign", data={"assessor_id": world["asr1"].id})  # own agency: refused
    with app.app_context():
        assert db.session.execute(select(ReviewCase.assessor_id).where(ReviewCase.attempt_id == attempt)).scalar_one() is None
    client.post(f"/review/attempts/{attempt}/assign", data={"assessor_id": outsider.id})
    with app.app_context():
        assert db.session.execute(select(ReviewCase.assessor_id).where(ReviewCase.attempt_id == attempt)).scalar_one() == outsider.id
        assert db.session.execute(select(AuditLog).where(AuditLog.action == "review.assign")).scalar_one().actor_id == admin.id


def test_wave_page_links_to_the_rescore_preview(client, world, login, make_user):
    login(make_user("admin"))
    page = client.get(f"/admin/waves/{world['wave']}").get_data(as_text=True)
    assert f"/review/rescore/{world['wave']}" in page
