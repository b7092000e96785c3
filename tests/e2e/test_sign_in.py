"""A newcomer's first minutes: switch language, sign in as each role, land on that role's home."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_language_switch_and_participant_sign_in(page, live_server, make_user):
    user = make_user("participant", name="Siti Rahmawati")
    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.get_by_role("link", name="English", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Competency assessment of ASN")
    page.get_by_role("link", name="Bahasa Indonesia", exact=True).click()
    page.get_by_role("link", name="Masuk peserta (NIP)").click()
    page.get_by_label("NIP").fill(user.nip)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Asesmen saya")
    expect(page.locator("main")).to_contain_text(user.nip)
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status"))).to_contain_text("Anda telah keluar")


@pytest.mark.parametrize("role, heading", [("assessor", "Antrean telaah"), ("admin", "Dasbor")])
def test_staff_sign_in_lands_on_role_home(page, live_server, make_user, role, heading):
    user = make_user(role)
    page.goto(live_server + "/auth/staff")
    page.get_by_label("Nama pengguna").fill(user.username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_wrong_password_shows_the_generic_message(page, live_server, make_user):
    user = make_user("participant")
    page.goto(live_server + "/auth/login")
    page.get_by_label("NIP").fill(user.nip)
    page.get_by_label("Kata sandi").fill("salah sekali")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("NIP/nama pengguna atau kata sandi salah.")


def test_sign_in_page_fits_a_phone_and_skip_link_works(phone, live_server):
    phone.goto(live_server + "/auth/login")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width}px wide on a 360px phone"
    phone.keyboard.press("Tab")
    skip = phone.get_by_role("link", name="Langsung ke konten utama")
    expect(skip).to_be_focused()
