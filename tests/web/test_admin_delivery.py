"""The admin side of test delivery through the web: specs, waves, enrolment, monitoring, interventions."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from assess.extensions import db
from assess.models import (
    Attempt, AttemptEvent, AuditLog, Enrollment, Score, TestSection, TestSpec, Wave, utcnow,
)


@pytest.fixture
def admin(make_user, login, client):
    user = make_user("admin")
    login(user)
    return user


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def text(response) -> str:
    return response.get_data(as_text=True)


def spec_form(code: str, *sections: dict, minutes: int = 60) -> dict:
    data = {"code": code, "name": f"Tes {code}", "time_limit": str(minutes), "shuffle_options": "y",
            "instructions": "Kerjakan **dengan jujur**."}
    for i, s in enumerate(sections):
        data.update({f"sections-{i}-layout": "item", **{f"sections-{i}-{k}": str(v) for k, v in s.items()}})
    return data


def spec_id(app, code: str) -> int:
    with app.app_context():
        return db.session.execute(select(TestSpec.id).where(TestSpec.code == code)).scalar_one()


def test_only_admins_reach_the_delivery_pages(app, make_user, login, make_competency, make_wave):
    comp = make_competency("T.A1", "mc", n=5)
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}])
    with app.app_context():
        spec = db.session.get(Wave, wave).spec_id
    urls = [("GET", "/admin/specs/"), ("GET", "/admin/specs/new"), ("GET", f"/admin/specs/{spec}"),
            ("POST", f"/admin/specs/{spec}/activate"), ("GET", "/admin/waves/"), ("GET", f"/admin/waves/{wave}"),
            ("POST", f"/admin/waves/{wave}/enroll/rule"), ("POST", f"/admin/waves/{wave}/enroll"),
            ("GET", f"/admin/waves/{wave}/edit")]
    for role in ("participant", "assessor"):
        c = app.test_client()
        login(make_user(role), c=c)
        for method, url in urls:
            assert c.open(url, method=method).status_code == 403, (role, url)
    anonymous = app.test_client()
    for method, url in urls:
        response = anonymous.open(url, method=method)
        assert response.status_code == 302 and "/auth/staff" in response.location, url
    assert count(app, Enrollment) == 0


def test_a_spec_is_checked_against_the_bank_before_it_can_be_activated(app, client, admin, make_competency):
    mc = make_competency("T.B1", "mc", n=5)
    response = client.post("/admin/specs/new", data=spec_form("UJI-1", {"competency": mc, "method": "fixed", "n_items": 8}))
    assert response.status_code == 302
    sid = spec_id(app, "UJI-1")
    page = text(client.get(f"/admin/specs/{sid}"))
    assert "T.B1 memiliki 5 butir operasional; bentuk tes memerlukan 8." in page
    assert "<strong>dengan jujur</strong>" in page  # the instructions as Markdown
    refused = client.post(f"/admin/specs/{sid}/activate", follow_redirects=True)
    assert "tidak lolos pemeriksaan" in text(refused)
    with app.app_context():
        assert db.session.get(TestSpec, sid).is_active is False
    # Fix it (5 items) and activate.
    response = client.post(f"/admin/specs/{sid}/edit", data=spec_form("UJI-1", {"competency": mc, "method": "fixed", "n_items": 5}))
    assert response.status_code == 302
    assert "aktif: gelombang dapat memakainya" in text(client.post(f"/admin/specs/{sid}/activate", follow_redirects=True))
    with app.app_context():
        spec = db.session.get(TestSpec, sid)
        assert spec.is_active and spec.validation["ok"] and spec.sections[0].n_items == 5
    assert count(app, AuditLog, AuditLog.action == "spec.activate") == 1


def test_the_spec_form_shows_problems_next_to_their_fields_and_saves_nothing(app, client, admin, make_competency):
    mc = make_competency("T.B2", "mc", n=5)
    data = spec_form("UJI 2", {"competency": mc, "method": "fixed"},
                     {"competency": mc, "method": "random", "n_items": 3, "level_1": 1})
    page = client.post("/admin/specs/new", data=data)
    assert page.status_code == 200
    html = text(page)
    assert "Gunakan 1 sampai 40 huruf" in html                               # the code has a space
    assert "Bentuk tetap memerlukan daftar kode butir atau jumlah butir." in html
    assert "Kompetensi T.B2 muncul di lebih dari satu bagian" in html
    assert "Jumlah per level berjumlah 1, tidak sama dengan jumlah butir (3)." in html
    assert count(app, TestSpec) == 0
    more = client.post("/admin/specs/new", data={**data, "add_section": "1"})
    assert 'name="sections-2-competency"' in text(more) and count(app, TestSpec) == 0


def test_a_cat_spec_shows_the_simulation_before_activation(app, client, admin, make_competency):
    small = make_competency("T.C1", "mc", n=10)
    big = make_competency("T.C2", "mc", n=40)
    client.post("/admin/specs/new", data=spec_form(
        "CAT-1", {"competency": small, "method": "cat", "min_items": 5, "max_items": 15, "se_target": "0,4"}))
    sid = spec_id(app, "CAT-1")
    page = text(client.get(f"/admin/specs/{sid}"))
    assert "Bank butir adaptif T.C1 memiliki 10 butir operasional" in page
    client.post(f"/admin/specs/{sid}/edit", data=spec_form(
        "CAT-1", {"competency": big, "method": "cat", "min_items": 5, "max_items": 15, "se_target": "0,4"}))
    page = text(client.get(f"/admin/specs/{sid}"))
    figures = dict(re.findall(r'data-figure="(\w+)">([^<]+)<', page))
    assert set(figures) == {"rmse", "mean_length", "max_exposure"}
    assert 0 < float(figures["rmse"]) < 1 and figures["max_exposure"].endswith("%")
    assert "Simulasi desain adaptif" in page and "200 peserta simulasi" in page
    with app.app_context():
        section = db.session.execute(select(TestSection).where(TestSection.spec_id == sid)).scalar_one()
        assert (section.min_items, section.max_items, section.se_target) == (5, 15, 0.4)
    client.post(f"/admin/specs/{sid}/activate")
    with app.app_context():
        assert db.session.get(TestSpec, sid).is_active


def active_spec(app, client, make_competency, code="T.D1", spec="AKTIF") -> int:
    comp = make_competency(code, "mc", n=5)
    client.post("/admin/specs/new", data=spec_form(spec, {"competency": comp, "method": "fixed", "n_items": 5}))
    sid = spec_id(app, spec)
    client.post(f"/admin/specs/{sid}/activate")
    return sid


def test_a_wave_entered_at_0800_wita_opens_at_0000_utc(app, client, admin, make_competency, make_agency):
    sid = active_spec(app, client, make_competency)
    agency = make_agency(cluster=3)
    response = client.post("/admin/waves/new", data={
        "code": "GEL-3", "name": "Gelombang klaster 3", "spec_id": str(sid), "timezone": "Asia/Makassar",
        "opens_at": "2026-03-02T08:00", "closes_at": "2026-03-06T17:00", "cluster": "3",
        "agency_ids": str(agency.id), "show_scores": "y"})
    assert response.status_code == 302, text(response)[:2000]
    with app.app_context():
        wave = db.session.execute(select(Wave).where(Wave.code == "GEL-3")).scalar_one()
        assert wave.opens_at == datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
        assert wave.closes_at == datetime(2026, 3, 6, 9, 0, tzinfo=timezone.utc)
        assert (wave.timezone, wave.cluster, wave.targets, wave.show_scores) == (
            "Asia/Makassar", 3, {"agency_ids": [agency.id]}, True)
        wave_id = wave.id
    page = text(client.get(f"/admin/waves/{wave_id}"))
    assert "2 Mar 2026, 08:00 WITA" in page and "6 Mar 2026, 17:00 WITA" in page
    edit = text(client.get(f"/admin/waves/{wave_id}/edit"))
    assert 'value="2026-03-02T08:00"' in edit  # shown again in the wave's own zone
    assert "08:00 WITA" in text(client.get("/admin/waves/"))


def test_a_wave_needs_an_active_spec_and_a_window_that_closes_after_it_opens(app, client, admin, make_competency):
    sid = active_spec(app, client, make_competency)
    said = text(client.post(f"/admin/specs/{sid}/deactivate", follow_redirects=True))
    assert "tidak ada yang dapat memulai gelombang yang memakainya" in said  # delivery refuses to start it
    page = client.post("/admin/waves/new", data={
        "code": "GEL-X", "name": "x", "spec_id": str(sid), "timezone": "Asia/Jakarta",
        "opens_at": "2026-03-02T08:00", "closes_at": "2026-03-01T08:00"})
    html = text(page)
    assert page.status_code == 200
    assert "Hanya spesifikasi tes aktif yang dapat dipakai" in html
    assert "Gelombang harus ditutup sesudah dibuka." in html
    assert count(app, Wave) == 0


@pytest.fixture
def wave_setup(app, client, admin, make_user, make_agency, make_competency, make_wave):
    a1, a2 = make_agency(code="KEMEN-A", cluster=1), make_agency(code="BADAN-B", cluster=1)
    people = [make_user("participant", agency=a1) for _ in range(3)] + [make_user("participant", agency=a2)]
    comp = make_competency("T.W1", "mc", n=5)
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}])
    return {"wave": wave, "people": people, "agencies": (a1, a2)}


def upload(client, wave_id, name: str, body: bytes):
    return client.post(f"/admin/waves/{wave_id}/enroll", data={"file": (io.BytesIO(body), name)},
                       content_type="multipart/form-data")


def test_an_upload_with_bad_rows_is_refused_whole_and_reports_every_row(app, client, wave_setup):
    people, wave = wave_setup["people"], wave_setup["wave"]
    body = "\n".join([
        "nip;extra_minutes",
        f"{people[0].nip};10",
        "12345;",
        "198507142010011003;",
        f"{people[0].nip};",
        f"{people[1].nip};sepuluh",
    ]).encode()
    response = upload(client, wave, "daftar.csv", body)
    assert response.status_code == 422
    html = text(response)
    report = html[html.index('id="enrol-report"'):]
    rows = re.findall(r"<tr><td>(\d+)</td><td class=\"font-monospace\">([\w—]+)</td><td>([^<]+)</td></tr>", report)
    assert rows == [
        ("3", "nip", "NIP harus tepat 18 digit (ditemukan 5)."),
        ("4", "nip", "Tidak ada akun dengan NIP ini."),
        ("5", "nip", "NIP ini sudah ada di baris 2."),
        ("6", "extra_minutes", "Menit tambahan harus bilangan bulat 0 atau lebih."),
    ]
    assert "Berkas ditolak: 4 masalah" in html
    assert count(app, Enrollment) == 0
    # English too.
    client.get("/lang/en")
    english = text(upload(client, wave, "daftar.csv", body))
    assert "No account has this NIP." in english and "This NIP is already in row 2." in english
    assert count(app, Enrollment) == 0
    not_a_sheet = upload(client, wave, "foto.png", b"\x89PNG\r\n")
    assert not_a_sheet.status_code == 422 and "The file is not a CSV or XLSX spreadsheet." in text(not_a_sheet)


def test_a_good_file_enrols_everyone(app, client, wave_setup):
    from openpyxl import Workbook

    people, wave = wave_setup["people"], wave_setup["wave"]
    book = Workbook()
    book.active.append(["nip", "extra_minutes"])
    for i, p in enumerate(people):
        book.active.append([p.nip, 20 if i == 0 else None])
    data = io.BytesIO()
    book.save(data)
    response = upload(client, wave, "daftar.xlsx", data.getvalue())
    assert response.status_code == 302
    assert "4 didaftarkan" in text(client.get(response.location))
    with app.app_context():
        rows = db.session.execute(select(Enrollment).where(Enrollment.wave_id == wave)).scalars().all()
        assert sorted(e.user_id for e in rows) == sorted(p.id for p in people)
        assert sorted(e.extra_minutes for e in rows) == [0, 0, 0, 20]
    assert count(app, AuditLog, AuditLog.action == "wave.enroll_upload") == 1


def test_rule_enrolment_and_monitoring_counts_per_agency(app, client, wave_setup, make_user, make_agency):
    wave, people = wave_setup["wave"], wave_setup["people"]
    outsider = make_user("participant", agency=make_agency(cluster=2))
    with app.app_context():
        db.session.execute(update(Wave).where(Wave.id == wave).values(cluster=1))
        db.session.commit()
    response = client.post(f"/admin/waves/{wave}/enroll/rule", follow_redirects=True)
    assert "4 peserta didaftarkan menurut aturan." in text(response)
    assert count(app, Enrollment, Enrollment.user_id == outsider.id) == 0
    now = utcnow()
    with app.app_context():
        for user, status, last_seen in [(people[0], "in_progress", 30), (people[1], "submitted", 1),
                                        (people[3], "expired", 90)]:
            db.session.add(Attempt(wave_id=wave, user_id=user.id, status=status, form={"sections": []},
                                   deadline_at=now + timedelta(minutes=20), last_seen_at=now - timedelta(minutes=last_seen)))
        db.session.commit()
    html = text(client.get(f"/admin/waves/{wave}"))
    cells = lambda code: re.findall(r"<td class=\"text-end\">(\d+)</td>", html[html.index(f'data-agency="{code}"'):].split("</tr>")[0])  # noqa: E731
    # enrolled, started, in progress, paused, overdue, submitted, expired
    assert cells("KEMEN-A") == ["3", "2", "1", "0", "0", "1", "0"]
    assert cells("BADAN-B") == ["1", "1", "0", "0", "0", "0", "1"]
    stuck = html[html.index('id="stuck-title"'):html.index('id="participants"')]
    assert people[0].nip in stuck and people[1].nip not in stuck
    assert people[0].nip not in text(client.get(f"/admin/waves/{wave}?stuck=45")).split('id="stuck-title"')[1].split('id="participants"')[0]
    only_expired = text(client.get(f"/admin/waves/{wave}?status=expired"))
    table = only_expired[only_expired.index('id="participants"'):]
    assert people[3].nip in table and people[0].nip not in table
    not_started = text(client.get(f"/admin/waves/{wave}?status=not_started"))
    assert people[2].nip in not_started[not_started.index('id="participants"'):]


def test_large_waves_are_paginated(app, client, admin, make_competency, make_wave, make_agency):
    from assess.models import User
    from assess.services.identity import make_nip

    comp = make_competency("T.P1", "mc", n=5)
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}])
    agency = make_agency()
    with app.app_context():
        for i in range(60):
            user = User(role="participant", name=f"Peserta {i:03d}", nip=make_nip(datetime(1980, 1, 1), 2005, 1, 1, i + 1),
                        agency_id=agency.id, password_hash="x", session_token=f"t{i}")
            db.session.add(user)
            db.session.flush()
            db.session.add(Enrollment(wave_id=wave, user_id=user.id))
        db.session.commit()
    first = text(client.get(f"/admin/waves/{wave}"))
    assert "Peserta 000" in first and "Peserta 050" not in first and "1 / 2" in first
    second = text(client.get(f"/admin/waves/{wave}?page=2"))
    assert "Peserta 050" in second and "Peserta 000" not in second


def test_extra_minutes_are_editable(app, client, wave_setup):
    wave, person = wave_setup["wave"], wave_setup["people"][0]
    with app.app_context():
        enrollment = Enrollment(wave_id=wave, user_id=person.id)
        db.session.add(enrollment)
        db.session.commit()
        eid = enrollment.id
    assert client.post(f"/admin/waves/{wave}/enrollments/{eid}", data={"extra_minutes": "25"}).status_code == 302
    client.post(f"/admin/waves/{wave}/enrollments/{eid}", data={"extra_minutes": "-3"})
    with app.app_context():
        assert db.session.get(Enrollment, eid).extra_minutes == 25
    assert count(app, AuditLog, AuditLog.action == "enrollment.extra_minutes") == 1


# ------------------------------------------------------------------------------------- interventions
def start_attempt(client, wave_id) -> int:
    response = client.post(f"/me/waves/{wave_id}/start", data={"consent": "y"})
    assert response.status_code == 302, text(response)[:300]
    return int(re.search(r"/attempts/(\d+)", response.location).group(1))


def first_item(app, attempt_id) -> int:
    with app.app_context():
        return db.session.get(Attempt, attempt_id).form["sections"][0]["items"][0]["item_id"]


def save(client, attempt_id, item, choice, seq):
    return client.post(f"/api/attempts/{attempt_id}/answers", json={"answers": [{"item": item, "choice": choice, "seq": seq}]})


def test_extend_and_reopen_are_audited_and_the_participant_can_save_again(app, client, admin, make_user, login,
                                                                          make_competency, make_wave):
    comp = make_competency("T.R1", "mc", n=5)
    person = make_user("participant")
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}], users=[person], minutes=30)
    participant = app.test_client()
    login(person, c=participant)
    attempt_id = start_attempt(participant, wave)
    item = first_item(app, attempt_id)
    assert save(participant, attempt_id, item, 1, 1).status_code == 200
    with app.app_context():
        before = db.session.get(Attempt, attempt_id).deadline_at

    # Extend an attempt in progress.
    url = f"/admin/waves/{wave}/attempts/{attempt_id}"
    assert "Perpanjang waktu" in text(client.get(url))
    response = client.post(f"{url}/extend", data={"minutes": "15", "reason": "Gangguan listrik di lokasi"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).deadline_at == before + timedelta(minutes=15)
        event = db.session.execute(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id,
                                                              AttemptEvent.kind == "admin_extend")).scalar_one()
        assert event.detail["reason"] == "Gangguan listrik di lokasi"
        log = db.session.execute(select(AuditLog).where(AuditLog.action == "attempt.extend")).scalar_one()
        assert log.actor_id == admin.id and log.target_type == "attempts" and log.target_id == str(attempt_id)
    assert save(participant, attempt_id, item, 2, 2).status_code == 200
    # A reason is required.
    client.post(f"{url}/extend", data={"minutes": "15", "reason": ""})
    assert count(app, AttemptEvent, AttemptEvent.kind == "admin_extend") == 1

    # Time runs out: the attempt expires and is scored; saves are refused.
    with app.app_context():
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(deadline_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    assert save(participant, attempt_id, item, 3, 3).status_code == 409
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "expired"
    assert count(app, Score, Score.attempt_id == attempt_id) == 1

    # Reopen it: back in progress, scores gone, the participant saves again and submits.
    page = text(client.get(url))
    assert "Buka kembali pengerjaan" in page and "Perpanjang waktu" not in page
    response = client.post(f"{url}/reopen", data={"minutes": "20", "reason": "Koneksi terputus lama", "section": ""})
    assert response.status_code == 302
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "in_progress" and attempt.deadline_at > utcnow() + timedelta(minutes=19)
        assert db.session.execute(select(AttemptEvent.detail).where(
            AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind == "admin_reopen")).scalar_one()["from_status"] == "expired"
    assert count(app, Score, Score.attempt_id == attempt_id) == 0
    assert count(app, AuditLog, AuditLog.action == "attempt.reopen") == 1
    participant.get(f"/me/attempts/{attempt_id}")  # resume claims the session again
    again = save(participant, attempt_id, item, 0, 4)
    assert again.status_code == 200 and again.get_json()["acks"][0]["status"] == "saved"
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.form["current"] = len(attempt.form["sections"])
        from sqlalchemy.orm.attributes import flag_modified
        flag_modified(attempt, "form")
        db.session.commit()
    assert participant.post(f"/me/attempts/{attempt_id}/submit").status_code == 302
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "submitted"
    assert count(app, Score, Score.attempt_id == attempt_id) == 1


def test_a_wave_with_attempts_keeps_its_spec_and_the_spec_is_locked(app, client, admin, make_user, login,
                                                                    make_competency, make_wave):
    comp = make_competency("T.L1", "mc", n=5)
    person = make_user("participant")
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}], users=[person])
    participant = app.test_client()
    login(person, c=participant)
    start_attempt(participant, wave)
    with app.app_context():
        spec_id_ = db.session.get(Wave, wave).spec_id
    response = client.get(f"/admin/specs/{spec_id_}/edit")
    assert response.status_code == 302 and response.location.endswith(f"/admin/specs/{spec_id_}")
    other = active_spec(app, client, make_competency, code="T.L2", spec="LAIN")
    edit = text(client.get(f"/admin/waves/{wave}/edit"))
    assert "tesnya tidak dapat diubah lagi" in edit
    data = dict(re.findall(r'name="(code|name)"[^>]*value="([^"]*)"', edit))
    response = client.post(f"/admin/waves/{wave}/edit", data={
        **data, "spec_id": str(other), "timezone": "Asia/Jakarta", "opens_at": "2026-01-01T08:00",
        "closes_at": "2027-12-31T08:00"})
    assert response.status_code == 200 and "tesnya tidak dapat diubah lagi" in text(response)
    with app.app_context():
        assert db.session.get(Wave, wave).spec_id == spec_id_
    copied = client.post(f"/admin/specs/{spec_id_}/copy")
    assert copied.status_code == 302 and count(app, TestSpec) == 3


def test_cli_enrols_by_rule_or_from_a_file(app, runner, make_user, make_competency, make_wave, tmp_path):
    people = [make_user("participant") for _ in range(2)]
    comp = make_competency("T.K1", "mc", n=5)
    wave = make_wave([{"competency_id": comp, "method": "fixed", "n_items": 5}])
    with app.app_context():
        code = db.session.get(Wave, wave).code
    bad = tmp_path / "bad.csv"
    bad.write_text(f"nip\n{people[0].nip}\n{people[0].nip}\n123\n", encoding="utf-8")
    result = runner.invoke(args=["waves", "enroll", "--wave", code, "--file", str(bad), "--lang", "en"])
    assert result.exit_code == 1
    assert "row 3, column nip: This NIP is already in row 2." in result.output
    assert "row 4, column nip: NIP must be exactly 18 digits (found 3)." in result.output
    assert count(app, Enrollment) == 0
    good = tmp_path / "good.csv"
    good.write_text("nip,extra_minutes\n" + "\n".join(f"{p.nip},5" for p in people), encoding="utf-8-sig")
    result = runner.invoke(args=["waves", "enroll", "--wave", code, "--file", str(good)])
    assert result.exit_code == 0 and "Enrolled 2 participant(s)" in result.output
    result = runner.invoke(args=["waves", "enroll", "--wave", code])
    assert result.exit_code == 0 and "by rule" in result.output
    assert count(app, Enrollment) == 2  # no cluster or targets: everyone, and both are enrolled already
    assert code in runner.invoke(args=["waves", "list"]).output
    assert runner.invoke(args=["waves", "enroll", "--wave", "NOPE"]).exit_code == 1
