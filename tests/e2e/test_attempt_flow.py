"""The participant's test in a real browser: answer, reload and resume, lose the network and come
back, flag and review, submit; the same for an adaptive part; the server's clock, its warnings and
the deadline; keyboard-only answering; a 360-px phone.

Banks and waves are tiny (make_competency / make_wave) so that the whole file stays fast. Every
wait is a Playwright ``expect``; the database is read through the app fixture.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from assess.extensions import db
from assess.models import Attempt, Response, utcnow

pytestmark = pytest.mark.e2e

SAVED = "Semua jawaban tersimpan"


def offline_waiting(n: int) -> str:
    return f"Offline: {n} jawaban menunggu di perangkat ini"


# ----------------------------------------------------------------------------- helpers
def form_items(app, attempt_id: int, section: int = 0) -> list[int]:
    with app.app_context():
        return [e["item_id"] for e in db.session.get(Attempt, attempt_id).form["sections"][section]["items"]]


def stored(app, attempt_id: int) -> dict[int, Response]:
    """The saved responses by item id (detached, readable after the context closes)."""
    with app.app_context():
        rows = db.session.execute(select(Response).where(Response.attempt_id == attempt_id)).scalars().all()
        for row in rows:
            db.session.expunge(row)
        return {r.item_id: r for r in rows}


def attempt_row(app, attempt_id: int) -> Attempt:
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        db.session.expunge(attempt)
        return attempt


def move_deadline(app, attempt_id: int, seconds_from_now: float) -> None:
    with app.app_context():
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id)
                           .values(deadline_at=utcnow() + timedelta(seconds=seconds_from_now)))
        db.session.commit()


def queued(page, attempt_id: int) -> dict:
    """The answers waiting in this browser's localStorage queue."""
    return page.evaluate("k => JSON.parse(localStorage.getItem(k) || '{}')", f"assess.queue.{attempt_id}")


def choose(page, option: str):
    """Choose an option by its label and wait until the indicator says every answer is saved.

    The change handler marks the answer as pending synchronously, so the saved text can only come
    back after the server acknowledged it (that is, after it committed).
    """
    page.get_by_role("radio", name=option, exact=True).check()
    expect(page.locator("#save-status")).to_have_text(SAVED)


def question_url(attempt_id: int, q: int, s: int = 0):
    return re.compile(rf"/me/attempts/{attempt_id}/s/{s}/q/{q}$")


# ----------------------------------------------------------------------------- the fixed flow
def test_fixed_test_answer_reload_offline_flag_review_submit(app, page, make_user, make_competency,
                                                             make_wave, start_test):
    comp = make_competency("T.01", "mc", n=3)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3}], users=[user], minutes=7)
    attempt_id = start_test(page, user)
    items = form_items(app, attempt_id)
    status = page.locator("#save-status")
    heading = page.get_by_role("heading", level=1)

    expect(heading).to_have_text("Soal 1 dari 3")
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(7:00|6:[45]\d)$"))  # the wave's 7 minutes
    expect(status).to_have_text(SAVED)

    # Answer, flag, reload: the answer and the flag come back from the server.
    choose(page, "Pilihan 2")
    page.get_by_label("Tandai soal ini untuk ditinjau kembali").check()
    expect(status).to_have_text(SAVED)
    assert (stored(app, attempt_id)[items[0]].choice, stored(app, attempt_id)[items[0]].flagged) == (2, True)
    page.reload()
    expect(page).to_have_url(question_url(attempt_id, 0))
    expect(page.get_by_role("radio", name="Pilihan 2", exact=True)).to_be_checked()
    expect(page.get_by_label("Tandai soal ini untuk ditinjau kembali")).to_be_checked()
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(7:00|6:[45]\d)$"))  # the clock did not restart
    page.get_by_role("button", name="Berikutnya").click()
    expect(heading).to_have_text("Soal 2 dari 3")
    expect(page.get_by_role("button", name="Soal 1 (sudah dijawab)")).to_be_visible()

    # Offline: answers wait on the device (one per item, the newest wins) and moving on is held back.
    page.context.set_offline(True)
    page.get_by_role("radio", name="Pilihan 0", exact=True).check()
    expect(status).to_have_text(offline_waiting(1))
    page.get_by_role("radio", name="Pilihan 3", exact=True).check()
    expect(status).to_have_text(offline_waiting(1))
    waiting = queued(page, attempt_id)
    assert list(waiting) == [str(items[1])] and waiting[str(items[1])]["seq"] == 2
    page.get_by_role("button", name="Berikutnya").click()
    expect(status).to_contain_text("Anda sedang offline")
    expect(page).to_have_url(question_url(attempt_id, 1))
    assert items[1] not in stored(app, attempt_id)

    # Back online: the queue flushes, the indicator says so and the database has the answer.
    page.context.set_offline(False)
    expect(status).to_have_text(SAVED)
    assert queued(page, attempt_id) == {}
    assert stored(app, attempt_id)[items[1]].choice == 3
    page.get_by_role("button", name="Berikutnya").click()
    expect(heading).to_have_text("Soal 3 dari 3")
    choose(page, "Pilihan 1")

    # Resume from My assessments lands on the same question with the answer checked.
    page.get_by_role("link", name="Asesmen saya").click()
    expect(page.locator(".card")).to_contain_text("Sedang dikerjakan")
    page.get_by_role("link", name="Lanjutkan tes").click()
    expect(page).to_have_url(question_url(attempt_id, 2))
    expect(page.get_by_role("radio", name="Pilihan 1", exact=True)).to_be_checked()

    # Review shows the flag, then the last part is finished and the test submitted.
    page.get_by_role("button", name="Tinjau bagian ini").click()
    expect(heading).to_have_text("Tinjau bagian ini")
    expect(page.locator("main")).to_contain_text("3 dari 3 soal sudah dijawab.")
    expect(page.locator("main")).to_contain_text("1 ditandai untuk ditinjau kembali.")
    rows = page.locator("tbody tr")
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("✓")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("")
    expect(rows.nth(2).locator("td").nth(2)).to_have_text("")
    page.get_by_role("button", name="Selesaikan bagian terakhir").click()
    expect(heading).to_have_text("Kirim tes")
    page.get_by_role("button", name="Kirim jawaban saya").click()
    expect(heading).to_have_text("Terima kasih, tes Anda sudah selesai")
    expect(page.locator("main")).to_contain_text("Jawaban Anda diterima pada")

    assert attempt_row(app, attempt_id).status == "submitted"
    answers = stored(app, attempt_id)
    assert {i: (answers[i].choice, answers[i].flagged) for i in items} == {
        items[0]: (2, True), items[1]: (3, False), items[2]: (1, False)}


# ----------------------------------------------------------------------------- the CAT flow
def test_adaptive_test_no_going_back_reload_offline_and_submit(app, page, live_server, make_user,
                                                               make_competency, make_wave, start_test):
    comp = make_competency("T.05", "mc", n=12)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "cat", "min_items": 3, "max_items": 4, "se_target": 0.05}],
              users=[user], minutes=10)
    attempt_id = start_test(page, user)
    status = page.locator("#save-status")
    heading = page.get_by_role("heading", level=1)
    go_on = page.get_by_role("button", name="Jawab dan lanjutkan")

    expect(heading).to_have_text("Soal 1")
    expect(page.locator("main")).to_contain_text("Bagian 1 dari 1 · adaptif")
    expect(page.get_by_role("button", name="Sebelumnya")).to_have_count(0)
    expect(page.get_by_label("Tandai soal ini untuk ditinjau kembali")).to_have_count(0)
    choose(page, "Pilihan 1")
    go_on.click()
    expect(page).to_have_url(question_url(attempt_id, 1))
    expect(heading).to_have_text("Soal 2")
    expect(page.get_by_role("button", name="Sebelumnya")).to_have_count(0)

    # Neither the browser's Back button nor a direct URL shows the first (now locked) item again:
    # the pages are not cached and the server sends the participant to the current one.
    page.go_back()
    expect(page).to_have_url(question_url(attempt_id, 1))
    expect(heading).to_have_text("Soal 2")
    page.goto(f"{live_server}/me/attempts/{attempt_id}/s/0/q/0")
    expect(page).to_have_url(question_url(attempt_id, 1))
    expect(heading).to_have_text("Soal 2")

    # Reload mid-test keeps the answer.
    choose(page, "Pilihan 0")
    page.reload()
    expect(page.get_by_role("radio", name="Pilihan 0", exact=True)).to_be_checked()

    # Offline: the changed answer waits; continuing is held back until the connection returns.
    page.context.set_offline(True)
    page.get_by_role("radio", name="Pilihan 3", exact=True).check()
    expect(status).to_have_text(offline_waiting(1))
    go_on.click()
    expect(status).to_contain_text("Anda sedang offline")
    expect(page).to_have_url(question_url(attempt_id, 1))
    page.context.set_offline(False)
    expect(status).to_have_text(SAVED)
    second = form_items(app, attempt_id)[1]
    assert stored(app, attempt_id)[second].choice == 3
    go_on.click()

    for n in (3, 4):
        expect(heading).to_have_text(f"Soal {n}")
        choose(page, "Pilihan 2")
        go_on.click()
    expect(heading).to_have_text("Kirim tes")
    page.get_by_role("button", name="Kirim jawaban saya").click()
    expect(heading).to_have_text("Terima kasih, tes Anda sudah selesai")

    attempt = attempt_row(app, attempt_id)
    section = attempt.form["sections"][0]
    assert attempt.status == "submitted"
    assert section["cat"]["stop"] == "max_items" and all(e["locked"] for e in section["items"])
    answers = stored(app, attempt_id)
    assert [answers[e["item_id"]].choice for e in section["items"]] == [1, 3, 2, 2]


# ----------------------------------------------------------------------------- the queue
def test_an_answer_waiting_on_the_device_shows_after_a_reload_and_is_what_gets_saved(
        app, page, monkeypatch, make_user, make_competency, make_wave, start_test):
    comp = make_competency("T.01", "mc", n=2)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 2}], users=[user])
    attempt_id = start_test(page, user)
    item = form_items(app, attempt_id)[0]
    status = page.locator("#save-status")
    choose(page, "Pilihan 1")

    # Saves fail while the browser still thinks it is online (the server is unreachable; the page
    # also flushes as it unloads, so this is done on the server, where no request slips past): the
    # new answer waits in the queue, and the page is reloaded (by the participant, or after a crash).
    with monkeypatch.context() as unreachable:
        unreachable.setitem(app.view_functions, "api.save_answers",
                            lambda attempt_id: ({"error": "unavailable"}, 503))
        page.get_by_role("radio", name="Pilihan 3", exact=True).check()
        expect(status).to_have_text("Menyimpan…")
        page.reload()
        expect(page.get_by_role("radio", name="Pilihan 3", exact=True)).to_be_checked()  # not the server's 1
        assert stored(app, attempt_id)[item].choice == 1
    expect(status).to_have_text(SAVED, timeout=10_000)  # the next retry (backoff from 1 s) gets through
    assert stored(app, attempt_id)[item].choice == 3

    # Moving on with the plain form keeps that answer (it carries the queue's sequence number).
    page.get_by_role("button", name="Berikutnya").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Soal 2 dari 2")
    assert (stored(app, attempt_id)[item].choice, stored(app, attempt_id)[item].seq) == (3, 3)
    page.get_by_role("button", name="Sebelumnya").click()
    expect(page.get_by_role("radio", name="Pilihan 3", exact=True)).to_be_checked()


def test_autosave_and_the_offline_queue_work_when_the_browser_refuses_local_storage(
        app, page, make_user, make_competency, make_wave, start_test):
    page.context.add_init_script(
        "Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('denied', 'SecurityError'); }});")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    comp = make_competency("T.01", "mc", n=2)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 2}], users=[user])
    attempt_id = start_test(page, user)
    item = form_items(app, attempt_id)[0]
    status = page.locator("#save-status")
    choose(page, "Pilihan 1")
    assert stored(app, attempt_id)[item].choice == 1
    page.context.set_offline(True)
    page.get_by_role("radio", name="Pilihan 2", exact=True).check()
    expect(status).to_have_text(offline_waiting(1))
    page.context.set_offline(False)
    expect(status).to_have_text(SAVED)
    assert stored(app, attempt_id)[item].choice == 2
    assert errors == []


# ----------------------------------------------------------------------------- the clock
def test_countdown_shows_the_server_time_and_warns_near_the_deadline(app, page, make_user, make_competency,
                                                                     make_wave, start_test):
    comp = make_competency("T.01", "mc", n=3)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3}], users=[user], minutes=30)
    attempt_id = start_test(page, user)
    timer, warning = page.locator("#timer"), page.locator("#time-warning")
    expect(timer).to_have_text(re.compile(r"^(30:00|29:[45]\d)$"))
    expect(warning).to_be_hidden()

    # The server's deadline, not the wave's limit, drives the countdown: on a page load ...
    move_deadline(app, attempt_id, 300)
    page.reload()
    expect(timer).to_have_text(re.compile(r"^(5:00|4:[45]\d)$"))
    expect(warning).to_have_text("Sisa waktu 10 menit.")
    expect(timer).not_to_have_class(re.compile(r"\btext-danger\b"))

    # ... and on every save; counting down past one minute brings the last warning.
    move_deadline(app, attempt_id, 62)
    choose(page, "Pilihan 0")
    expect(timer).to_have_text(re.compile(r"^(1:0[0-2]|0:5\d)$"))
    expect(warning).to_have_text(re.compile(r"^Sisa waktu 1 menit\."), timeout=8_000)
    expect(timer).to_have_class(re.compile(r"\btext-danger\b"))


def test_at_the_deadline_answering_stops_and_the_page_goes_to_the_finished_page(
        app, page, monkeypatch, make_user, make_competency, make_wave, start_test):
    # The server's grace period for saves on their way; long while the test looks at the page at
    # 0:00, then longer than the page's 3-second clock poll but short enough for a quick test.
    monkeypatch.setitem(app.config, "DEADLINE_GRACE_SECONDS", 60)
    comp = make_competency("T.01", "mc", n=3)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3}], users=[user])
    attempt_id = start_test(page, user)
    item = form_items(app, attempt_id)[0]
    timer, warning = page.locator("#timer"), page.locator("#time-warning")
    radios = page.get_by_role("radio")
    choose(page, "Pilihan 1")

    # At 0:00 the options lock and the page says the time is up (no reloading while the server's
    # grace period for saves on their way runs out).
    move_deadline(app, attempt_id, 1)
    page.reload()
    loads = []
    page.on("load", lambda p: loads.append(p.url))
    expect(timer).to_have_text("0:00")
    expect(warning).to_have_text(re.compile(r"^Waktu habis\. "))
    for i in range(4):
        expect(radios.nth(i)).to_be_disabled()

    # More time from the server (an admin's extension) brings the page back to life.
    move_deadline(app, attempt_id, 90)
    expect(radios.nth(0)).to_be_enabled(timeout=5_000)
    expect(timer).to_have_text(re.compile(r"^1:[23]\d$"))
    expect(warning).to_have_text("Sisa waktu 10 menit.")
    expect(timer).not_to_have_class(re.compile(r"\btext-danger\b"))

    # The deadline moves close again; the next save brings the page's clock in line. At zero the
    # page waits for the server to close the attempt, then shows the finished page.
    app.config["DEADLINE_GRACE_SECONDS"] = 4
    move_deadline(app, attempt_id, 1)
    choose(page, "Pilihan 2")
    expect(timer).to_have_text("0:00")
    expect(radios.nth(0)).to_be_disabled()
    expect(page).to_have_url(re.compile(rf"/me/attempts/{attempt_id}/finished$"), timeout=15_000)
    expect(page.locator("main")).to_contain_text("Waktu telah habis.")
    assert not [url for url in loads if "/q/" in url], f"the question page reloaded itself: {loads}"
    assert attempt_row(app, attempt_id).status == "expired"
    assert stored(app, attempt_id)[item].choice == 2  # saved in time, kept


# ----------------------------------------------------------------------------- keyboard and phone
def test_keyboard_only_answers_and_flags_on_a_section_page(app, page, make_user, make_competency,
                                                           make_wave, start_test):
    comp = make_competency("T.02", "likert", n=2)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 2, "layout": "section"}], users=[user])
    attempt_id = start_test(page, user)
    items = form_items(app, attempt_id)
    status = page.locator("#save-status")
    expect(page.get_by_role("heading", level=1)).to_have_text("Soal 1–2")
    first, second = page.locator("fieldset.item").nth(0), page.locator("fieldset.item").nth(1)

    for _ in range(30):  # Tab from the top of the page into the first question's options
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "radio":
            break
    expect(first.get_by_role("radio", name="Sangat tidak setuju")).to_be_focused()
    page.keyboard.press("Space")
    expect(first.get_by_role("radio", name="Sangat tidak setuju")).to_be_checked()
    page.keyboard.press("ArrowDown")
    expect(first.get_by_role("radio", name="Tidak setuju", exact=True)).to_be_checked()
    expect(status).to_have_text(SAVED)
    page.keyboard.press("Tab")
    expect(first.get_by_role("checkbox")).to_be_focused()
    page.keyboard.press("Space")
    expect(first.get_by_role("checkbox")).to_be_checked()
    page.keyboard.press("Tab")
    expect(second.get_by_role("radio", name="Sangat tidak setuju")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(second.get_by_role("radio", name="Netral")).to_be_checked()
    expect(status).to_have_text(SAVED)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Tinjau bagian ini")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tinjau bagian ini")
    expect(page.locator("main")).to_contain_text("2 dari 2 soal sudah dijawab.")
    expect(page.locator("main")).to_contain_text("1 ditandai untuk ditinjau kembali.")
    answers = stored(app, attempt_id)
    assert [(answers[i].choice, answers[i].flagged) for i in items] == [(1, True), (2, False)]


def test_question_and_review_pages_fit_a_360px_phone(app, phone, make_user, make_competency, make_wave,
                                                     start_test):
    comp = make_competency("T.01", "mc", n=2)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 2}], users=[user], minutes=90)
    start_test(phone, user)
    status = phone.locator("#save-status")

    def assert_fits(where: str):
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{where} is {width}px wide on a 360px phone"

    expect(status).to_have_text(SAVED)
    assert_fits("the question page")
    phone.get_by_role("radio", name="Pilihan 1", exact=True).tap()
    expect(status).to_have_text(SAVED)
    phone.context.set_offline(True)
    phone.get_by_role("radio", name="Pilihan 2", exact=True).tap()
    expect(status).to_have_text(offline_waiting(1))
    assert_fits("the question page with the offline message")
    phone.get_by_role("button", name="Berikutnya").tap()
    expect(status).to_contain_text("Anda sedang offline")
    assert_fits("the question page with the offline navigation message")
    phone.context.set_offline(False)
    expect(status).to_have_text(SAVED)
    phone.get_by_role("button", name="Berikutnya").tap()
    phone.get_by_role("button", name="Tinjau bagian ini").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Tinjau bagian ini")
    assert_fits("the section review")


def test_when_a_parts_own_time_runs_out_the_page_moves_on_to_the_next_part(
        app, page, monkeypatch, make_user, make_competency, make_wave, start_test):
    monkeypatch.setitem(app.config, "DEADLINE_GRACE_SECONDS", 2)
    first = make_competency("T.01", "mc", n=3)
    second = make_competency("T.02", "mc", n=3)
    user = make_user("participant")
    make_wave([{"competency_id": first, "method": "fixed", "n_items": 3, "time_limit_minutes": 5},
               {"competency_id": second, "method": "fixed", "n_items": 3}], users=[user], minutes=30)
    attempt_id = start_test(page, user)
    expect(page.locator("#attempt")).to_contain_text("Sisa waktu bagian ini")
    expect(page.locator("#test-timer")).to_have_text(re.compile(r"^(29:[0-5]\d|30:00)$"))
    item = form_items(app, attempt_id)[0]
    choose(page, "Pilihan 1")

    # The part's own deadline comes close: the page counts down to it, locks the options at zero,
    # says the part is over, and follows the server to the next part once the grace period ends.
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.form["sections"][0]["deadline"] = (utcnow() + timedelta(seconds=2)).isoformat()
        from sqlalchemy.orm.attributes import flag_modified
        flag_modified(attempt, "form")
        db.session.commit()
    page.reload()
    expect(page.locator("#timer")).to_have_text("0:00", timeout=5_000)
    expect(page.locator("#time-warning")).to_have_text(re.compile(r"^Waktu untuk bagian ini habis\. "))
    expect(page.get_by_role("radio").nth(1)).to_be_disabled()
    expect(page).to_have_url(question_url(attempt_id, 0, s=1), timeout=15_000)
    expect(page.locator("#attempt")).to_contain_text("Bagian 2 dari 2")
    expect(page.locator("#attempt")).not_to_contain_text("Sisa waktu bagian ini")
    assert stored(app, attempt_id)[item].choice is not None  # saved in time, kept
    assert attempt_row(app, attempt_id).status == "in_progress"


def test_a_pause_stops_the_page_keeps_the_unsent_answer_and_resume_sends_it(
        app, page, make_user, make_competency, make_wave, start_test):
    from assess.services import waves as wave_service

    comp = make_competency("T.01", "mc", n=3)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 3}], users=[user], minutes=30)
    attempt_id = start_test(page, user)
    item = form_items(app, attempt_id)[0]
    choose(page, "Pilihan 1")
    with app.app_context():
        wave_service.pause_attempt(db.session.get(Attempt, attempt_id), "Listrik padam di ruang ujian")
        db.session.commit()

    # The next answer meets the pause: it stays queued on the device, the page says why, the
    # options lock and the clock stands still.
    page.get_by_role("radio", name="Pilihan 2", exact=True).check()
    notice = page.locator("#pause-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Penyelenggara menjeda tes Anda")
    expect(page.get_by_role("radio").nth(0)).to_be_disabled()
    waiting = queued(page, attempt_id)[str(item)]
    assert waiting["seq"] == 2 and waiting["choice"] == int(page.get_by_role("radio", name="Pilihan 2", exact=True).get_attribute("value"))
    page.wait_for_timeout(1_100)  # one tick of the page's clock after the pause arrived
    shown = page.locator("#timer").inner_text()
    page.wait_for_timeout(2_100)
    assert page.locator("#timer").inner_text() == shown
    assert stored(app, attempt_id)[item].choice != 2

    # Resumed: the page notices within its 5-second poll, unlocks and sends the waiting answer.
    with app.app_context():
        wave_service.resume_attempt(db.session.get(Attempt, attempt_id))
        db.session.commit()
    expect(notice).to_be_hidden(timeout=10_000)
    expect(page.get_by_role("radio").nth(0)).to_be_enabled()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    assert stored(app, attempt_id)[item].choice == 2


def test_moving_between_questions_is_not_an_integrity_signal_but_switching_tabs_is(
        app, page, make_user, make_competency, make_wave, start_test):
    from assess.models import AttemptEvent

    comp = make_competency("T.01", "mc", n=4)
    user = make_user("participant")
    make_wave([{"competency_id": comp, "method": "fixed", "n_items": 4}], users=[user])
    attempt_id = start_test(page, user)
    for q in range(1, 4):
        choose(page, "Pilihan 1")
        page.get_by_role("button", name="Berikutnya").click()
        expect(page).to_have_url(question_url(attempt_id, q))
    page.get_by_role("button", name="Sebelumnya").click()
    expect(page).to_have_url(question_url(attempt_id, 2))

    def kinds():
        with app.app_context():
            return db.session.execute(select(AttemptEvent.kind).where(
                AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind.in_(("page_hidden", "focus_lost")))).scalars().all()

    page.wait_for_timeout(500)  # events of the pages left behind would have arrived by now
    assert kinds() == []
    # The participant switches to another tab: the page is hidden while it stays loaded.
    page.evaluate("""() => {
        Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    for _ in range(20):
        if kinds():
            break
        page.wait_for_timeout(200)
    assert kinds() == ["page_hidden"]
