"""Automated accessibility checks (axe-core, WCAG 2.1 A and AA rules) of every page a participant
sees, in Indonesian, on a laptop and at 200% zoom (a 640-px-wide layout)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
         "resultTypes": ["violations"]}


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options=RULES)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}: "
            f"{v['nodes'][0].get('failureSummary', '')[:200]}" for v in result.response["violations"]]


@pytest.mark.parametrize("width", [1280, 640])
def test_the_participants_pages_pass_the_wcag_rules(app, browser, live_server, make_user, make_competency,
                                                    make_wave, sign_in, width):
    context = browser.new_context(locale="id-ID", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        fixed = make_competency("T.01", "mc", n=3)
        likert = make_competency("T.02", "likert", n=3)
        adaptive = make_competency("T.03", "mc", n=12)
        user = make_user("participant")
        make_wave([{"competency_id": fixed, "method": "fixed", "n_items": 3, "time_limit_minutes": 10},
                   {"competency_id": likert, "method": "fixed", "n_items": 3, "layout": "section"},
                   {"competency_id": adaptive, "method": "cat", "min_items": 2, "max_items": 2, "se_target": 0.2}],
                  users=[user], minutes=30)
        found = {}
        page.goto(live_server + "/auth/login")
        found["sign-in"] = violations(page)
        sign_in(page, user)
        found["my assessments"] = violations(page)
        page.get_by_role("link", name="Mulai", exact=True).click()
        found["instructions"] = violations(page)
        page.get_by_label("Saya telah membaca petunjuk").check()
        page.get_by_role("button", name="Mulai tes").click()
        expect(page).to_have_url(re.compile(r"/s/0/q/0$"))
        page.get_by_role("radio").first.check()
        expect(page.locator("#save-status")).to_have_text("Semua jawaban tersimpan")
        found["question (part clock)"] = violations(page)
        for _ in range(3):
            if "/review" in page.url:
                break
            page.get_by_role("button", name=re.compile("^(Berikutnya|Tinjau bagian ini)$")).click()
        expect(page).to_have_url(re.compile(r"/s/0/review$"))
        found["part review"] = violations(page)
        page.get_by_role("button", name=re.compile("Selesaikan bagian|Lanjut")).first.click()
        expect(page).to_have_url(re.compile(r"/s/1/q/0$"))
        found["section page (Likert)"] = violations(page)
        page.get_by_role("button", name="Tinjau bagian ini").click()
        page.get_by_role("button", name=re.compile("Selesaikan bagian|Lanjut")).first.click()
        expect(page).to_have_url(re.compile(r"/s/2/q/0$"))
        found["adaptive question"] = violations(page)
        for _ in range(2):
            page.get_by_role("radio").first.check()
            expect(page.locator("#save-status")).to_have_text("Semua jawaban tersimpan")
            page.get_by_role("button", name="Jawab dan lanjutkan").click()
        expect(page).to_have_url(re.compile(r"/confirm$"))
        found["confirm"] = violations(page)
        page.get_by_role("button", name=re.compile("Kirim")).first.click()
        expect(page).to_have_url(re.compile(r"/finished$"))
        found["finished"] = violations(page)
        problems = {name: v for name, v in found.items() if v}
        assert not problems, problems
        # The checker does find what it looks for.
        page.set_content('<html><body><img src="x.png"><a href="#"></a></body></html>')
        assert {v.split(" ")[0] for v in violations(page)} >= {"image-alt", "link-name", "html-has-lang"}
    finally:
        context.close()


def test_the_staff_pages_pass_the_wcag_rules(app, page, live_server):
    """The assessor's queue and report and the admin's main pages, on the demo data."""
    from assess.services.demo import demo_password

    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    found = {}

    def staff(username: str, role: str) -> None:
        page.goto(live_server + "/auth/staff")
        page.get_by_label("Nama pengguna").fill(username)
        page.get_by_label("Kata sandi").fill(demo_password(role))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    def check(name: str, path: str | None = None) -> None:
        if path:
            page.goto(live_server + path)
        found[name] = violations(page)

    staff("asesor1", "assessor")
    check("review queue", "/review/")
    page.locator("a[href*='/review/attempts/']").first.click()
    check("participant report")
    page.get_by_role("button", name="Keluar").click()
    staff("admin", "admin")
    check("dashboard", "/admin/")
    check("talent map", "/admin/talent/")
    check("waves", "/admin/waves")
    page.get_by_role("link", name="IKN-PK-G1").click()
    check("wave monitoring")
    wave_page = page.url
    check("specs", "/admin/specs")
    check("item bank", "/admin/bank/")
    problems = {name: v for name, v in found.items() if v}
    assert not problems, problems

    # On a phone the admin pages do not pan sideways into blank space: wide tables scroll in their
    # own box (their visually hidden captions used to widen the page to 440-730 px).
    page.set_viewport_size({"width": 360, "height": 740})
    wider = {}
    for path in ["/admin/", "/admin/waves", "/admin/orgs/", "/admin/talent/tokens", "/admin/bank/", "/admin/audit"]:
        page.goto(live_server + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 361:
            wider[path] = width
    page.goto(wave_page)
    if page.evaluate("document.documentElement.scrollWidth") > 361:
        wider["wave monitoring"] = page.evaluate("document.documentElement.scrollWidth")
    assert not wider, wider
