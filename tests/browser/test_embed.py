"""A coalition's widget on another site, in chromium: shown where the coalition allows it,
blocked where it does not (frame-ancestors), fitted to its content, and signing opens our
own page in a new tab.

The "other sites" are two tiny http.servers on other loopback addresses (other origins):
127.0.0.2 is on the coalition's list, 127.0.0.3 is not. Their page holds the snippet exactly
as the panel's "Osadź na swojej stronie" hands it out.

KOALICJA_EMBED_SCREENSHOT=docs/screenshots/embed-on-another-site.png saves the allowed
site's page for the README.
"""
import html
import os
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD, DEMO_SLUG
from koalicja.extensions import db

from ..conftest import csrf_token_from
from .accessibility import assert_accessible

FALLBACK_HEIGHT = "600"  # the allies widget's snippet, before the frame reports its height


@contextmanager
def other_site(address, body):
    """A site of its own origin on `address` (loopback) serving one page; yields its URL."""
    page = f'<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>Sąsiedzi z Zabłocia</title></head>' \
           f'<body style="font-family: sans-serif; margin: 2rem; background: #f4efe6"><h1>Sąsiedzi z Zabłocia</h1>' \
           f"<p>Nasze stowarzyszenie należy do koalicji. Zobacz, kto jeszcze:</p>{body}</body></html>".encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((address, 0), Page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def allies_snippet(app, base_url):
    """The allies widget's snippet as the panel shows it to a coordinator of the demo coalition."""
    client = app.test_client()
    login = client.get("/panel/logowanie", base_url=base_url)
    credentials = {"email": DEMO_COORDINATOR_EMAIL, "password": DEMO_COORDINATOR_PASSWORD, "csrf_token": csrf_token_from(login)}
    client.post("/panel/logowanie", base_url=base_url, data=credentials)
    page = client.get(f"/panel/koalicje/{DEMO_SLUG}/osadz", base_url=base_url).get_data(as_text=True)
    return html.unescape(re.search(r'<textarea id="allies-code"[^>]*>(.*?)</textarea>', page, re.S).group(1))


def test_the_widget_shows_on_an_allowed_site_only_and_signing_opens_a_new_tab(app, demo, live_server, make_context, tmp_path):
    snippet = allies_snippet(app, live_server)
    assert f'src="{live_server}/{DEMO_SLUG}/osadz/sojusznicy"' in snippet and f'height="{FALLBACK_HEIGHT}"' in snippet
    with other_site("127.0.0.2", snippet) as allowed, other_site("127.0.0.3", snippet) as refused:
        with app.app_context():
            db.session.scalar(select(Coalition).where(Coalition.slug == DEMO_SLUG)).embed_origins = allowed.rstrip("/")
            db.session.commit()
        context = make_context(viewport={"width": 1000, "height": 900})
        page = context.new_page()

        page.goto(allowed)
        widget = page.frame_locator("iframe[data-koalicja-embed]")
        widget.get_by_role("heading", name=re.compile("Sojusznicy")).wait_for()
        assert widget.locator(".ally__name").count() > 0
        # koalicja-embed.js fitted the frame to the widget's own height.
        page.wait_for_function(f"document.querySelector('iframe').getAttribute('height') !== '{FALLBACK_HEIGHT}'")
        frame_height = int(page.locator("iframe").get_attribute("height"))
        content_height = widget.locator("#embed").evaluate("element => Math.ceil(element.getBoundingClientRect().height)")
        assert frame_height == content_height
        page.screenshot(path=os.environ.get("KOALICJA_EMBED_SCREENSHOT") or str(tmp_path / "embed.png"), full_page=True)
        # No signing inside someone else's frame: the button opens our page in a new tab.
        with context.expect_page() as opened:
            widget.get_by_role("link", name=re.compile("Podpisz deklarację")).click()
        opened.value.wait_for_load_state()
        assert opened.value.url == f"{live_server}/{DEMO_SLUG}/podpisz"
        assert page.url == allowed

        # chromium fetches the widget, reads its frame-ancestors and refuses to show it.
        with page.expect_event("requestfailed", predicate=lambda request: "/osadz/sojusznicy" in request.url) as failed:
            page.goto(refused)
        assert failed.value.failure == "net::ERR_BLOCKED_BY_RESPONSE"
        assert "Sojusznicy" not in page.frames[1].content()

        # Each widget on its own, and the panel page with its live previews: WCAG 2.1 A/AA (axe).
        for widget_path in ("osadz/sojusznicy", "osadz/licznik", "osadz/wydarzenia"):
            page.goto(f"{live_server}/{DEMO_SLUG}/{widget_path}")
            assert_accessible(page, f"widget {widget_path}")
        page.goto(f"{live_server}/panel/logowanie")
        page.locator("#email").fill(DEMO_COORDINATOR_EMAIL)
        page.locator("#password").fill(DEMO_COORDINATOR_PASSWORD)
        page.locator("#submit").click()
        page.wait_for_url("**/panel/**")
        page.goto(f"{live_server}/panel/koalicje/{DEMO_SLUG}/osadz")
        page.frame_locator("iframe.embed-preview").first.locator("#embed").wait_for()
        assert_accessible(page, "panel: Osadź na swojej stronie")
