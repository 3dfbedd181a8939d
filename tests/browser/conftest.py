"""A real browser (Debian's chromium driven by Playwright's sync API) against a live server.

We use playwright.sync_api directly, not the pytest-playwright plugin: it is not a
declared dependency. Playwright's own browser download is never used either.
"""
import logging
import os
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from koalicja.demo import seed_demo
from koalicja.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_CHROMIUM = "Zainstaluj pakiet Debiana 'chromium' (apt-get install chromium), aby uruchomić testy w przeglądarce."
# How long a page may take to react; a local server answers in milliseconds.
TIMEOUT_MS = 5_000


def chromium_available():
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def require_chromium():
    """Skip without the browser, but never on CI: there a missing browser is a broken setup."""
    if chromium_available():
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    pytest.skip(MISSING_CHROMIUM)


@contextmanager
def serving(app):
    """Serve `app` on a free loopback port in a daemon thread; yields the base URL."""
    # Werkzeug logs every request to stderr; the tests only care about failures.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def launched_chromium():
    """Debian's chromium under Playwright; the playwright driver is stopped afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live_server(app):
    """The test's `app` served over real HTTP; the base URL, e.g. http://127.0.0.1:40123."""
    with serving(app) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def make_context(browser):
    """New browser contexts (own cookies and storage, options as for `new_context`); closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(locale="pl-PL", **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(make_context):
    """A tab in a fresh context."""
    return make_context().new_page()


@pytest.fixture
def demo(app):
    """The demo coalition (slug "sasiedztwa") with allies, a queue and its coordinator."""
    with app.app_context():
        seed_demo()
