"""Serving the app and launching Debian's chromium: shared by the browser tests and tests/screenshots.py."""
import logging
import os
import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

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
TIMEOUT_MS = 15_000  # generous: CI machines have 2 cores and may be busy


def chromium_available():
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


@contextmanager
def serving(app):
    """Serve `app` on a free loopback port in a daemon thread; yields the base URL."""
    # Werkzeug logs every request to stderr; only failures matter here.
    logger = logging.getLogger("werkzeug")
    previous_level = logger.level
    logger.setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        logger.setLevel(previous_level)


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


def site_app(workdir, name):
    """An app for a module's browser tests: SQLite, files and mail in `workdir`, no rate limits
    or bot trap (a browser fills forms at machine speed), e-mailed links on koalicja.test."""
    from koalicja import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / f'{name}.sqlite'}",
            "MAIL_BACKEND": "file",
            "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
            "LOGO_FOLDER": str(workdir / "logos"),
            "SCAN_FOLDER": str(workdir / "scans"),
            "RATELIMIT_ENABLED": False,
            "BOT_TRAP_ENABLED": False,
            "BASE_URL": "http://koalicja.test",
        }
    )
