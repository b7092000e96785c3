"""Browser tests: the app served on a local port, driven by Playwright in Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The browser tests' application: a file SQLite database unless DATABASE_URL is set.

    The other tests use SQLite in memory, which SQLAlchemy serves through one connection shared
    by every thread. Here the server's request threads and the test thread run at the same time
    (the page saves answers and sends events while a test reads the database, and a closing page
    still sends its last events while the tables are emptied), so each needs a connection and a
    transaction of its own, as in production.
    """
    from flask_migrate import upgrade

    from assess import create_app
    from assess.extensions import db
    from config import TestingConfig

    class BrowserTestingConfig(TestingConfig):
        if not os.environ.get("DATABASE_URL"):
            SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(tmp_path_factory.mktemp("e2e") / "assess.db")

    app = create_app(BrowserTestingConfig)
    with app.app_context():
        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolated(clean_db):
    yield


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("ASSESS_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} and ASSESS_REQUIRE_BROWSER is set")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="id-ID")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def sign_in(live_server):
    """Sign a participant in through the real form and land on My assessments."""
    from playwright.sync_api import expect

    from tests.conftest import PASSWORD

    def do_sign_in(page, user, password: str = PASSWORD):
        page.goto(live_server + "/auth/login")
        page.get_by_label("NIP").fill(user.nip)
        page.get_by_label("Kata sandi").fill(password)
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Asesmen saya")

    return do_sign_in


@pytest.fixture
def start_test(sign_in):
    """Sign in, open the wave from My assessments, consent and start; returns the attempt id."""
    import re

    from playwright.sync_api import expect

    def do_start(page, user, wave_name: str | None = None) -> int:
        sign_in(page, user)
        card = page.locator(".card").filter(has_text=wave_name) if wave_name else page.locator(".card")
        card.get_by_role("link", name="Mulai", exact=True).click()
        expect(page.get_by_role("heading", name="Petunjuk", exact=True)).to_be_visible()
        page.get_by_label("Saya telah membaca petunjuk").check()
        page.get_by_role("button", name="Mulai tes").click()
        expect(page).to_have_url(re.compile(r"/me/attempts/\d+/s/0/q/0$"))
        return int(re.search(r"/attempts/(\d+)/", page.url).group(1))

    return do_start
