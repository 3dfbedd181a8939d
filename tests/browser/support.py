"""Serving the app and launching Debian's chromium: shared by the browser tests and tests/screenshots.py."""
import gzip
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


# Called with (url, html bytes) for every full HTML document that `serving()` sends; the
# browser tests' conftest.py hands them to the Nu HTML checker (tests/html_checker.py).
html_document_listeners = []


def _recording_html_documents(app):
    """`app` as WSGI, telling html_document_listeners about every full HTML document it sends
    (htmx fragments are checked as part of the page they land in, tests/browser/accessibility.py)."""

    def recording(environ, start_response):
        if not html_document_listeners:
            return app(environ, start_response)
        sent = {}

        def start(status, headers, exc_info=None):
            sent.update({name.lower(): value for name, value in headers})
            return start_response(status, headers, exc_info)

        chunks = app(environ, start)
        if not sent.get("content-type", "").startswith("text/html"):
            return chunks
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        html = gzip.decompress(body) if sent.get("content-encoding") == "gzip" else body
        if html.lstrip()[:15].lower() == b"<!doctype html>":
            url = environ.get("PATH_INFO", "") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
            for listener in html_document_listeners:
                listener(url, html)
        return [body]

    return recording


@contextmanager
def serving(app):
    """Serve `app` on a free loopback port in a daemon thread; yields the base URL."""
    # Werkzeug logs every request to stderr; only failures matter here.
    logger = logging.getLogger("werkzeug")
    previous_level = logger.level
    logger.setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, _recording_html_documents(app), threaded=True)
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
