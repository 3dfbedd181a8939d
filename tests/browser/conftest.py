"""A real browser (Debian's chromium driven by Playwright's sync API) against a live server.

We use playwright.sync_api directly, not the pytest-playwright plugin: it is not a
declared dependency. Playwright's own browser download is never used either.
"""
import os

import pytest

from koalicja.demo import seed_demo

from ..html_checker import MISSING_JAVA, VisitedPages, java_binary
from ..translations import compile_catalogues
from . import accessibility
from .support import MISSING_CHROMIUM, TIMEOUT_MS, chromium_available, html_document_listeners, launched_chromium, serving


def on_ci():
    return os.environ.get("CI", "").strip().lower() == "true"


def require_chromium():
    """Skip without the browser, but never on CI: there a missing browser is a broken setup."""
    if chromium_available():
        return
    if on_ci():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    pytest.skip(MISSING_CHROMIUM)


def require_java():
    """Skip without Java (the Nu HTML checker runs on it), but never on CI."""
    if java_binary():
        return
    if on_ci():
        pytest.fail(MISSING_JAVA, pytrace=False)
    pytest.skip(MISSING_JAVA)


@pytest.fixture(scope="session", autouse=True)
def visited_pages(tmp_path_factory):
    """Every HTML document the browser tests load and every page state axe checks, checked by
    one run of the Nu HTML checker when this session (this xdist worker) ends: an error fails
    the session's last test, naming the page and the test that visited it."""
    if not java_binary():
        yield None  # test_valid_html.py reports the missing package
        return
    pages = VisitedPages(tmp_path_factory.mktemp("visited-pages"))
    html_document_listeners.append(pages.record)
    yield pages
    html_document_listeners.remove(pages.record)
    errors = pages.errors()
    if errors:
        pytest.fail(f"The Nu HTML checker found {len(errors)} errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def database():
    """Browser tests run on SQLite only: what they prove is the pages, and every database
    behaviour is tested on both engines elsewhere. Halves the time of the browser suite."""
    return "sqlite"


def pytest_terminal_summary(terminalreporter):
    """The axe results, page by page, after the run (tests/browser/accessibility.py)."""
    lines = accessibility.summary_lines()
    if lines:
        terminalreporter.section("axe-core: WCAG 2.1 A/AA")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def live_server(app):
    """The test's `app` served over real HTTP; the base URL, e.g. http://127.0.0.1:40123."""
    with serving(app) as base_url:
        yield base_url


@pytest.fixture(scope="session", autouse=True)
def translations():
    """English and Ukrainian pages need the compiled catalogues (`make translations` builds them too)."""
    compile_catalogues()


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
