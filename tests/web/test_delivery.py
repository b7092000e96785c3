"""Test delivery through the web: the flow, the save API, resume, expiry, scoring, secrecy."""
from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update

from assess.extensions import db
from assess.models import Attempt, AttemptEvent, ItemVersion, Response, Score, utcnow


@pytest.fixture
def setup(app, make_user, make_competency, make_wave, login, client):
    """A participant signed in, enrolled in an open wave with a fixed MC part and a Likert part."""
    mc = make_competency("T.01", "mc", n=6)
    lk = make_competency("T.02", "likert", n=5)
    user = make_user("participant")
    wave = make_wave([
        {"competency_id": mc, "method": "fixed", "n_items": 6},
        {"competency_id": lk, "method": "random", "n_items": 4, "layout": "section"},
    ], users=[user])
    login(user)
    return {"user": user, "wave": wave, "mc": mc, "lk": lk}


def start(client, wave_id) -> int:
    response = client.post(f"/me/waves/{wave_id}/start", data={"consent": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(re.search(r"/attempts/(\d+)", response.location).group(1))


def form_of(app, attempt_id):
    with app.app_context():
        return db.session.get(Attempt, attempt_id).form


def save(client, attempt_id, *answers):
    return client.post(f"/api/attempts/{attempt_id}/answers", json={"answers": list(answers)})


def stored(app, attempt_id):
    with app.app_context():
        return {r.item_id: (r.choice, r.seq, r.category) for r in
                db.session.execute(select(Response).where(Response.attempt_id == attempt_id)).scalars()}


def test_my_assessments_lists_the_open_wave_and_start_shows_instructions(client, setup):
    page = client.get("/me/").get_data(as_text=True)
    assert "Gelombang" in page and f"/me/waves/{setup['wave']}/start" in page
    instructions = client.get(f"/me/waves/{setup['wave']}/start").get_data(as_text=True)
    assert "Kompetensi T.01" in instructions
    refused = client.post(f"/me/waves/{setup['wave']}/start", data={})  # no consent
    assert refused.status_code == 200
    assert "Silakan konfirmasi bahwa Anda telah membaca petunjuk" in refused.get_data(as_text=True)


def test_save_is_idempotent_and_an_older_sequence_never_wins(app, client, setup):
    attempt_id = start(client, setup["wave"])
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    first = save(client, attempt_id, {"item": item, "choice": 2, "seq": 1})
    assert first.status_code == 200 and first.get_json()["acks"] == [{"item": item, "seq": 1, "status": "saved"}]
    again = save(client, attempt_id, {"item": item, "choice": 2, "seq": 1})  # a retry
    assert again.status_code == 200
    assert save(client, attempt_id, {"item": item, "choice": 3, "seq": 3}).get_json()["acks"][0]["status"] == "saved"
    late = save(client, attempt_id, {"item": item, "choice": 1, "seq": 2})  # arrives out of order
    assert late.get_json()["acks"] == [{"item": item, "seq": 3, "status": "stale"}]
    rows = stored(app, attempt_id)
    entry = form_of(app, attempt_id)["sections"][0]["items"][0]
    assert len(rows) == 1 and rows[item][1] == 3
    assert rows[item][0] == entry["order"][3]  # the displayed position maps to the canonical option


def test_bad_answers_are_refused_and_nothing_is_written(app, client, setup):
    attempt_id = start(client, setup["wave"])
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    for answer in ({"item": 999999, "choice": 0, "seq": 1}, {"item": item, "choice": 9, "seq": 1},
                   {"item": item, "choice": 0, "seq": -1}, {"item": item, "choice": 0}):
        response = save(client, attempt_id, {"item": item, "choice": 0, "seq": 5}, answer)
        assert response.status_code == 400 and response.get_json()["message"]
    assert stored(app, attempt_id) == {}
    assert client.post(f"/api/attempts/{attempt_id}/answers", json={"answers": []}).status_code == 400


def test_saves_to_another_participants_attempt_are_refused(app, client, setup, make_user, login):
    attempt_id = start(client, setup["wave"])
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    other = app.test_client()
    login(make_user("participant"), c=other)
    assert save(other, attempt_id, {"item": item, "choice": 0, "seq": 1}).status_code == 404
    assert other.get(f"/me/attempts/{attempt_id}").status_code == 404
    assert other.get(f"/api/attempts/{attempt_id}/clock").status_code == 404
    assert stored(app, attempt_id) == {}


def test_saves_after_the_deadline_are_refused_and_the_attempt_is_scored(app, client, setup):
    attempt_id = start(client, setup["wave"])
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    assert save(client, attempt_id, {"item": item, "choice": 1, "seq": 1}).status_code == 200
    with app.app_context():
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id)
                           .values(deadline_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    late = save(client, attempt_id, {"item": item, "choice": 2, "seq": 2})
    assert late.status_code == 409
    body = late.get_json()
    assert body["error"] == "time_up" and "Waktu habis" in body["message"]
    assert stored(app, attempt_id)[item][1] == 1  # the saved answer is kept, the late one is not
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "expired"
        assert db.session.scalar(select(func.count()).select_from(Score).where(Score.attempt_id == attempt_id)) == 2


def test_submit_twice_gives_one_submission_and_one_score(app, client, setup):
    attempt_id = start(client, setup["wave"])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.form["current"] = len(attempt.form["sections"])  # every part done
        from sqlalchemy.orm.attributes import flag_modified
        flag_modified(attempt, "form")
        db.session.commit()
    first = client.post(f"/me/attempts/{attempt_id}/submit")
    second = client.post(f"/me/attempts/{attempt_id}/submit")
    assert first.status_code == second.status_code == 302
    with app.app_context():
        events = db.session.execute(select(AttemptEvent.kind).where(AttemptEvent.attempt_id == attempt_id)).scalars().all()
        assert events.count("submitted") == 1
        assert db.session.scalar(select(func.count()).select_from(Score).where(Score.attempt_id == attempt_id)) == 2
    assert "selesai" in client.get(f"/me/attempts/{attempt_id}/finished").get_data(as_text=True).lower()
    with app.app_context():  # exposure: each item given counts once, as the attempt closed (not at the 2nd submit)
        from assess.models import Item

        form = db.session.get(Attempt, attempt_id).form
        given = {e["item_id"] for section in form["sections"] for e in section["items"]}
        counts = dict(db.session.execute(select(Item.id, Item.exposure_count)).all())
        assert len(given) == 10 and {i for i, n in counts.items() if n} == given
        assert set(counts[i] for i in given) == {1}


def test_whole_fixed_flow_without_javascript_and_scores_match_the_engine(app, client, setup):
    attempt_id = start(client, setup["wave"])
    location = client.get(f"/me/attempts/{attempt_id}").location
    pages = 0
    while "/finished" not in location and pages < 30:
        pages += 1
        page = client.get(location)
        if page.status_code == 302:
            location = page.location
            continue
        html = page.get_data(as_text=True)
        if "/review" in location or "/confirm" in location:
            location = client.post(location).location
            continue
        choices = dict(re.findall(r'name="choice-(\d+)" value="(\d+)"', html))  # last option of each
        data = {f"choice-{item}": value for item, value in choices.items()}
        data["action"] = "next"
        location = client.post(location, data=data).location
    assert "/finished" in location
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "submitted"
        from assess.irt.estimation import eap
        from assess.services.scoring import bank_of
        for score in db.session.execute(select(Score).where(Score.attempt_id == attempt_id)).scalars():
            rows = db.session.execute(
                select(Response, ItemVersion).join(ItemVersion, Response.item_version_id == ItemVersion.id)
                .where(Response.attempt_id == attempt_id, Response.item_id.in_(
                    [e["item_id"] for s in attempt.form["sections"] if s["competency_id"] == score.competency_id
                     for e in s["items"]]))).all()
            expected = eap(np.array([[r.category for r, _ in rows]]), bank_of([v for _, v in rows]))
            assert score.n_items == len(rows) > 0
            assert score.theta == pytest.approx(float(expected.theta[0]), abs=1e-9)
            assert score.se == pytest.approx(float(expected.se[0]), abs=1e-9)
            assert sorted(score.item_versions) == sorted(v.id for _, v in rows)


def test_resume_on_another_device_keeps_items_and_time_and_takes_over(app, client, setup, login):
    attempt_id = start(client, setup["wave"])
    form_before = form_of(app, attempt_id)
    item = form_before["sections"][0]["items"][0]["item_id"]
    assert save(client, attempt_id, {"item": item, "choice": 1, "seq": 1}).status_code == 200
    with app.app_context():
        deadline = db.session.get(Attempt, attempt_id).deadline_at
    laptop2 = app.test_client()
    login(setup["user"], c=laptop2)
    page = laptop2.get(laptop2.get(f"/me/attempts/{attempt_id}").location)
    assert page.status_code == 200 and 'checked' in page.get_data(as_text=True)
    form_after = form_of(app, attempt_id)
    assert [e["item_id"] for e in form_after["sections"][0]["items"]] == [e["item_id"] for e in form_before["sections"][0]["items"]]
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).deadline_at == deadline  # the clock did not restart
    stale = save(client, attempt_id, {"item": item, "choice": 2, "seq": 2})  # the first device again
    assert stale.status_code == 409 and stale.get_json()["error"] == "taken_over"
    with app.app_context():
        kinds = db.session.execute(select(AttemptEvent.kind).where(AttemptEvent.attempt_id == attempt_id)).scalars().all()
    assert "takeover" in kinds


def test_participants_never_receive_keys_scores_or_parameters(app, client, setup):
    attempt_id = start(client, setup["wave"])
    location = client.get(f"/me/attempts/{attempt_id}").location
    html = client.get(location).get_data(as_text=True)
    assert "Pilihan" in html  # the options are there ...
    for leak in ("score", "key", "threshold", "irt", "\"a\":", "difficulty", "kunci", "skor"):
        assert leak not in html.lower(), leak  # ... but nothing that scores them
    item = form_of(app, attempt_id)["sections"][0]["items"][0]["item_id"]
    for body in (save(client, attempt_id, {"item": item, "choice": 0, "seq": 1}).get_data(as_text=True),
                 client.get(f"/api/attempts/{attempt_id}/clock").get_data(as_text=True),
                 client.get("/api/me").get_data(as_text=True)):
        assert "score" not in body and "category" not in body and "points" not in body
    # The radio values are display positions 0..n-1, so the HTML cannot reveal which one is keyed.
    values = re.findall(r'name="choice-\d+" value="(\d+)"', html)
    assert values == [str(i) for i in range(len(values))]


def test_expire_command_and_lazy_expiry_close_and_score_once(app, client, runner, setup, make_user, make_wave, login):
    start(client, setup["wave"])
    other = make_user("participant")
    with app.app_context():
        from assess.models import Enrollment
        db.session.add(Enrollment(wave_id=setup["wave"], user_id=other.id))
        db.session.commit()
    c2 = app.test_client()
    login(other, c=c2)
    other_attempt = start(c2, setup["wave"])
    with app.app_context():
        db.session.execute(update(Attempt).values(deadline_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    # Lazily: touching the attempt closes it.
    assert c2.get(f"/me/attempts/{other_attempt}").location.endswith("/finished")
    result = runner.invoke(args=["attempts", "expire"])
    assert result.exit_code == 0 and "Closed and scored 1 expired" in result.output
    assert "Closed and scored 0" in runner.invoke(args=["attempts", "expire"]).output
    with app.app_context():
        statuses = db.session.execute(select(Attempt.status)).scalars().all()
        assert statuses == ["expired", "expired"]
        n_expired_events = db.session.scalar(select(func.count()).select_from(AttemptEvent).where(AttemptEvent.kind == "expired"))
        assert n_expired_events == 2


def test_not_enrolled_or_closed_waves_cannot_be_started(app, client, setup, make_wave, make_competency):
    comp = make_competency("T.09", "mc", n=5)
    not_mine = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}])
    response = client.post(f"/me/waves/{not_mine}/start", data={"consent": "y"})
    assert response.status_code == 302
    assert "tidak terdaftar" in client.get("/me/").get_data(as_text=True)
    closed = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}], users=[setup["user"]],
                       opens_in_hours=-48, closes_in_hours=-24)
    client.post(f"/me/waves/{closed}/start", data={"consent": "y"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.wave_id == closed)) == 0


def test_adaptive_section_runs_to_a_stopping_rule_without_going_back(app, client, make_user, make_competency, make_wave, login):
    comp = make_competency("T.05", "mc", n=30)
    user = make_user("participant")
    wave = make_wave([{"competency_id": comp, "method": "cat", "min_items": 4, "max_items": 8, "se_target": 0.2}], users=[user])
    login(user)
    attempt_id = start(client, wave)
    first = client.get(f"/me/attempts/{attempt_id}").location
    assert first.endswith("/s/0/q/0")
    seen = []
    location = first
    for _ in range(20):
        if "/q/" not in location:
            break
        html = client.get(location).get_data(as_text=True)
        item = re.search(r'name="choice-(\d+)"', html).group(1)
        seen.append(item)
        refused = client.post(location, data={"action": "next"})  # no answer: refused
        assert refused.status_code == 302
        location = client.post(location, data={f"choice-{item}": "0", "action": "next"}).location
        location = client.get(location).location or location
        if len(seen) == 2:
            back = client.get(first)  # going back to the first item is refused: resume instead
            assert back.location == f"/me/attempts/{attempt_id}"
            assert client.get(back.location).location.endswith("/s/0/q/2")
    form = form_of(app, attempt_id)["sections"][0]
    assert form["cat"]["stop"] == "max_items"  # SE 0.2 is out of reach in 8 items
    assert len(form["items"]) == 8 and len(set(seen)) == 8
    assert "/confirm" in client.get(f"/me/attempts/{attempt_id}").location


def test_adaptive_section_balances_content_over_subdomains(app, client, make_user, make_competency, make_wave, login):
    from assess.models import Item
    comp = make_competency("T.06", "mc", n=24, subdomains=("Keamanan", "Etika", "Etika"))
    user = make_user("participant")
    wave = make_wave([{"competency_id": comp, "method": "cat", "min_items": 6, "max_items": 6, "se_target": 0.1,
                       "settings": {"content": {"subdomains": ["Keamanan", "Etika"]}}}], users=[user])
    login(user)
    attempt_id = start(client, wave)
    location = client.get(f"/me/attempts/{attempt_id}").location
    while "/q/" in location:
        item = re.search(r'name="choice-(\d+)"', client.get(location).get_data(as_text=True)).group(1)
        location = client.post(location, data={f"choice-{item}": "1", "action": "next"}).location
        location = client.get(location).location or location
    with app.app_context():
        section = db.session.get(Attempt, attempt_id).form["sections"][0]
        subdomains = [db.session.get(Item, e["item_id"]).current.subdomain for e in section["items"]]
    assert len(subdomains) == 6 and subdomains.count("Keamanan") == 3  # equal shares, within one item


def test_a_question_page_is_light_and_its_static_files_are_cached_for_good(app, client, setup):
    """On a slow line a question costs only its own HTML: CSS and JS carry a content hash in their
    URL and may be kept for a year, so they are fetched once, not on every question."""
    import hashlib
    from pathlib import Path

    attempt_id = start(client, setup["wave"])
    page = client.get(f"/me/attempts/{attempt_id}/s/0/q/0")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < 30_000
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert {a.split("?")[0] for a in assets} >= {"/static/js/attempt.js", "/static/css/app.css"}
    static = Path(app.static_folder)
    total = 0
    for url in assets:
        path, _, query = url.partition("?")
        body = (static / path.removeprefix("/static/")).read_bytes()
        assert query == "v=" + hashlib.sha256(body).hexdigest()[:12]  # a changed file, a new URL
        response = client.get(url)
        assert response.status_code == 200
        assert response.cache_control.max_age == 365 * 24 * 3600 and response.cache_control.public
        assert "no-store" not in response.headers["Cache-Control"]
        total += len(body)
    assert total < 400_000  # Bootstrap's CSS and JS, our own CSS and script: once per browser


def test_go_to_question_lands_on_that_question_of_a_one_page_part(app, client, setup):
    """From a part's review page, "Ke soal 3" of a part shown on one page scrolls to question 3."""
    attempt_id = start(client, setup["wave"])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.form["current"] = 1  # the Likert part, all four statements on one page
        from sqlalchemy.orm.attributes import flag_modified
        flag_modified(attempt, "form")
        db.session.commit()
    review = client.get(f"/me/attempts/{attempt_id}/s/1/review").get_data(as_text=True)
    assert f'href="/me/attempts/{attempt_id}/s/1/q/2#soal-3"' in review
    page = client.get(f"/me/attempts/{attempt_id}/s/1/q/2").get_data(as_text=True)
    assert page.count('id="soal-') == 4 and 'id="soal-3"' in page
