"""The kit's nginx (deploy/nginx/) in front of the app served by gunicorn, for real.

Debian's nginx runs on 127.0.0.1 with the kit's own files (tests/nginx.py renders them with
this machine's ports and paths) in front of `gunicorn -c python:koalicja.gunicorn_conf
app:app` (tests/served.py), on SQLite and on PostgreSQL, with the demo data. The app runs as
in production behind one proxy: TRUSTED_PROXIES=1, rate limits on, public pages cached for
PUBLIC_CACHE_MAX_AGE=2 seconds.

Without Debian's `nginx` package these tests are skipped with a message; under CI=true that
is a broken setup and they fail.
"""
import gzip
import html
import os
import re
import ssl
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from koalicja import create_app
from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD, DEMO_SLUG, seed_demo
from koalicja.extensions import db
from koalicja.signatures.models import Signature
from koalicja.signatures.notifications import withdraw_url

from ..conftest import DATABASES
from ..nginx import MISSING_NGINX, nginx_binary, served_nginx, visitor_from
from ..served import SECRET_KEY, Visitor, served_app

MAX_AGE = 2  # seconds a public page may be served from the cache (PUBLIC_CACHE_MAX_AGE)
ENV = {
    "PUBLIC_CACHE_MAX_AGE": str(MAX_AGE),
    "TRUSTED_PROXIES": "1",
    "RATELIMIT_ENABLED": "true",
}
PUBLIC_PAGES = ["/", f"/{DEMO_SLUG}/", f"/{DEMO_SLUG}/sojusznicy", f"/{DEMO_SLUG}/wydarzenia"]
SIGN_FORM = f"/{DEMO_SLUG}/podpisz"
ALLIES = f"/{DEMO_SLUG}/sojusznicy"
STATIC = Path(__file__).resolve().parents[2] / "static"


def _require_nginx():
    if nginx_binary() is None:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(MISSING_NGINX, pytrace=False)
        pytest.skip(MISSING_NGINX)


@dataclass
class Stack:
    proxy: object          # tests.nginx.Nginx
    app_url: str           # gunicorn itself, behind nginx
    log_dir: Path
    ally_name: str         # an approved, listed ally of the demo coalition
    ally_withdraw_path: str

    @property
    def url(self):
        return self.proxy.base_url

    def app_log(self):
        return "\n".join(path.read_text(errors="replace") for path in self.log_dir.glob("gunicorn-*.log"))


def _seed(database_url):
    """The demo data; returns (name, withdrawal path) of one approved ally shown on the list."""
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": database_url,
                      "PASSWORD_HASH_PROFILE": "CHEAPEST", "BASE_URL": "http://koalicja.test"})
    with app.app_context():
        db.create_all()
        seed_demo()
        ally = db.session.scalars(
            select(Signature).where(Signature.listed.is_(True)).order_by(Signature.id)
        ).first()
        path = urllib.parse.urlsplit(withdraw_url(ally)).path
        name = ally.display_name
        db.session.commit()  # withdraw_url may give an old row its nonce
        db.engine.dispose()
    return name, path


@pytest.fixture(scope="module", params=DATABASES)
def stack(request, tmp_path_factory):
    _require_nginx()
    directory = tmp_path_factory.mktemp(f"nginx-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{directory / 'koalicja.sqlite'}"
        cluster = None
    else:
        cluster = request.getfixturevalue("postgresql")
        database_url = cluster.create_database()
    name, withdraw_path = _seed(database_url)
    try:
        # One worker: its memory:// rate limits are then the whole server's (Redis is another test's).
        with served_app(database_url, directory, workers=1, threads=4, env=ENV) as app_url, \
                served_nginx(app_url, directory / "nginx") as proxy:
            yield Stack(proxy, app_url, directory, name, withdraw_path)
    finally:
        if cluster is not None:
            cluster.drop_database(database_url)


def _cache_status(response):
    return response.headers.get("X-Cache-Status")


def _get_twice(url, path, **kwargs):
    visitor = Visitor(url)
    return visitor.get(path, **kwargs), visitor.get(path, **kwargs)


# ---- the cache of public pages -------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_second_request_for_a_public_page_is_a_cache_hit(stack, path):
    first, second = _get_twice(stack.url, path)
    assert first.status == 200, (first.status, first.text[:300])
    assert "Set-Cookie" not in first.headers, first.headers.get("Set-Cookie")
    assert first.headers["Cache-Control"].startswith("public"), first.headers["Cache-Control"]
    assert _cache_status(second) == "HIT", (path, _cache_status(first), _cache_status(second), dict(second.headers))
    assert second.body == first.body


def test_htmx_fragments_and_languages_are_cached_apart(stack):
    page = _get_twice(stack.url, ALLIES)[1]
    fragment = _get_twice(stack.url, ALLIES, headers={"HX-Request": "true"})[1]
    english = _get_twice(stack.url, ALLIES, headers={"Cookie": "lang=en"})[1]
    ukrainian = _get_twice(stack.url, ALLIES, headers={"Accept-Language": "uk-UA,uk;q=0.9"})[1]
    assert [_cache_status(r) for r in (page, fragment, english, ukrainian)] == ["HIT"] * 4
    assert '<html lang="pl"' in page.text
    assert "<html" not in fragment.text and fragment.text.strip()  # only the rows, for htmx
    # Back/forward after an htmx search: htmx asks again with HX-Request and gets the whole page.
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    restored = _get_twice(stack.url, ALLIES, headers=restore)
    assert [_cache_status(r) for r in restored] == ["MISS", "HIT"]
    assert all('<html lang="pl"' in r.text for r in restored)
    assert '<html lang="en"' in english.text
    assert '<html lang="uk"' in ukrainian.text


def test_cached_widgets_keep_their_own_coalitions_frame_ancestors(stack):
    """nginx keeps the app's headers with each page: a widget served from its cache still names
    exactly the sites its own coalition allows (the demo's neighbourhood coalition allows one,
    the reintegration coalition none), and every other page still refuses to be framed."""
    allowed = {f"/{DEMO_SLUG}/osadz/licznik": "frame-ancestors 'self' https://sasiedztwa.example.org",
               "/reintegracja-krakow/osadz/licznik": "frame-ancestors 'self'",
               f"/{DEMO_SLUG}/": "frame-ancestors 'none'"}
    for path, ancestors in allowed.items():
        first, second = _get_twice(stack.url, path)
        assert _cache_status(second) == "HIT", (path, dict(second.headers))
        for response in (first, second):
            assert ancestors in response.headers["Content-Security-Policy"], (path, response.headers["Content-Security-Policy"])
            assert response.headers.get("X-Frame-Options") == (None if "osadz" in path else "DENY")
    first, second = _get_twice(stack.url, f"/{DEMO_SLUG}/count.json")
    assert _cache_status(second) == "HIT" and second.headers["Access-Control-Allow-Origin"] == "*"


def test_a_form_page_is_never_served_from_the_cache(stack):
    visitor = Visitor(stack.url)  # keeps its session cookie, as a browser does
    answers = [visitor.get(SIGN_FORM) for _ in range(3)] + [Visitor(stack.url).get(SIGN_FORM) for _ in range(2)]
    assert [a.status for a in answers] == [200] * 5
    assert all(_cache_status(a) != "HIT" for a in answers), [_cache_status(a) for a in answers]
    assert all("no-store" in a.headers["Cache-Control"] for a in answers)
    # Every answer carries its own CSRF token; none was replayed to another visitor.
    assert len({a.csrf_token for a in answers[3:]}) == 2


def test_an_event_page_is_cached_and_its_registration_form_is_not(stack):
    events = Visitor(stack.url).get(f"/{DEMO_SLUG}/wydarzenia").text
    slugs = re.findall(rf'href="/{DEMO_SLUG}/wydarzenia/([a-z0-9-]+)"', events)
    event = next(f"/{DEMO_SLUG}/wydarzenia/{slug}" for slug in slugs if slug != "archiwum")
    page = _get_twice(stack.url, event)[1]
    assert _cache_status(page) == "HIT", (event, dict(page.headers))
    form = _get_twice(stack.url, event + "/zapisz")
    assert [f.status for f in form] == [200, 200]
    assert all(_cache_status(f) != "HIT" and "no-store" in f.headers["Cache-Control"] for f in form)


def test_a_post_is_never_served_from_the_cache(stack):
    visitor = Visitor(stack.url)
    token = visitor.get(SIGN_FORM).csrf_token
    answers = [visitor.post(SIGN_FORM, {"csrf_token": token}) for _ in range(2)]
    assert all(_cache_status(a) != "HIT" for a in answers), [_cache_status(a) for a in answers]
    assert all(a.status in (200, 400, 422) for a in answers), [a.status for a in answers]


def test_coordinator_pages_never_come_from_the_cache(stack):
    coordinator = Visitor(stack.url)
    coordinator.login(DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    queue = coordinator.get("/panel/").headers["Location"]  # the panel opens on the queue
    panel = [coordinator.get(queue) for _ in range(3)]
    assert [p.status for p in panel] == [200] * 3
    assert all(_cache_status(p) is None for p in panel), [_cache_status(p) for p in panel]  # proxy_cache off
    assert all("no-store" in p.headers["Cache-Control"] for p in panel)
    # With the session cookie even a public page goes to the app, and is not stored for others.
    public = coordinator.get(ALLIES)
    assert _cache_status(public) == "BYPASS"


def test_withdrawal_disappears_from_the_public_list_within_max_age(stack):
    name = html.escape(stack.ally_name)
    # An address of the list no earlier test asked for: its copy enters the cache just now,
    # so the withdrawal below meets a copy with all of its max-age still ahead (the worst case).
    fresh = ALLIES + "?strona=1"
    reader = Visitor(stack.url)
    first = reader.get(fresh)
    assert name in first.text and _cache_status(first) == "MISS"
    assert _cache_status(reader.get(fresh)) == "HIT"

    signer = Visitor(stack.url)
    answer = signer.post_form(stack.ally_withdraw_path, {})
    assert answer.status == 303, (answer.status, answer.text[:300])
    withdrawn_at = time.monotonic()

    seen = []
    while True:
        page = reader.get(fresh)
        elapsed = time.monotonic() - withdrawn_at
        seen.append((round(elapsed, 2), _cache_status(page), name in page.text))
        if name not in page.text:
            break
        # nginx keeps a copy until the whole second after max-age, and then the first request
        # still gets the old copy while the new one is fetched in the background: N + ~1 s.
        assert elapsed < MAX_AGE + 2, f"still listed {elapsed:.1f} s after the withdrawal: {seen}"
        time.sleep(0.1)
    # Every other public page with the list: gone within the same time from the withdrawal.
    others = {}
    for path in (ALLIES, f"/{DEMO_SLUG}/"):
        while name in reader.get(path).text:
            assert time.monotonic() - withdrawn_at < MAX_AGE + 2, path
            time.sleep(0.1)
        others[path] = round(time.monotonic() - withdrawn_at, 2)
    stale = [s for s in seen if s[2]]
    print(f"\n[{stack.app_url}] withdrawn ally gone after {elapsed:.2f} s (max-age {MAX_AGE} s); "
          f"{len(stale)} answers still listed it from the cache: {seen[-3:]}; other pages clean at {others}")


# ---- static files --------------------------------------------------------------------------


def test_static_files_come_from_nginx_with_immutable_caching(stack):
    page = Visitor(stack.url).get(f"/{DEMO_SLUG}/")
    urls = [html.unescape(u) for u in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)]
    versioned = [u for u in urls if re.match(r"/static/[0-9a-f]{16}/", u)]
    assert versioned and versioned == urls, urls
    for url in versioned:
        answer = Visitor(stack.url).get(url)
        assert answer.status == 200, url
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        assert answer.body == (STATIC / url.split("/", 3)[3]).read_bytes(), url
    plain = "/static/" + versioned[0].split("/", 3)[3]
    assert Visitor(stack.url).get(plain).headers["Cache-Control"] == "no-cache"
    # gzip, by nginx, for browsers that take it (css, js, svg)
    css = next(u for u in versioned if u.endswith(".css"))
    packed = Visitor(stack.url).get(css, headers={"Accept-Encoding": "gzip"})
    assert packed.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(packed.body) == (STATIC / css.split("/", 3)[3]).read_bytes()
    # None of them reached the app: its access log has the page, not one static file.
    time.sleep(0.3)
    log = stack.app_log()
    assert f'"/{DEMO_SLUG}/"' in log, "the app's access log is empty; cannot tell who served the files"
    assert "/static/" not in log, [line for line in log.splitlines() if "/static/" in line][:3]


# ---- compression --------------------------------------------------------------------------


def test_nginx_compresses_nothing_the_app_sent_uncompressed(stack):
    """BREACH: the app decides what may be compressed; nginx (Debian's `gzip on`) must not undo that."""
    for path in (SIGN_FORM, ALLIES):
        direct = Visitor(stack.app_url).get(path, headers={"Accept-Encoding": "gzip"})
        proxied = Visitor(stack.url).get(path, headers={"Accept-Encoding": "gzip"})
        assert proxied.headers.get("Content-Encoding") == direct.headers.get("Content-Encoding"), path


def test_a_client_without_gzip_gets_the_page_unpacked(stack):
    Visitor(stack.url).get(ALLIES, headers={"Accept-Encoding": "gzip"})  # the cache holds what the app sent
    plain = Visitor(stack.url).get(ALLIES)  # urllib sends no Accept-Encoding
    assert plain.headers.get("Content-Encoding") is None
    assert "<html" in plain.text


# ---- the visitor's address -----------------------------------------------------------------


def _failed_login(visitor, forged):
    token = visitor.get("/panel/logowanie").csrf_token
    data = {"csrf_token": token, "email": f"nikt-{uuid.uuid4().hex[:8]}@example.org", "password": "zle-haslo-123"}
    return visitor.post("/panel/logowanie", data, headers={"X-Forwarded-For": forged} if forged else None).status


def test_a_forged_x_forwarded_for_does_not_move_a_visitor_to_another_bucket(stack):
    """The login form allows 10 attempts a minute per address (koalicja/panel/views.py)."""
    attacker = visitor_from(stack.url, "127.0.0.2")
    statuses = [_failed_login(attacker, f"203.0.113.{n}") for n in range(1, 13)]
    assert 429 not in statuses[:10], statuses
    assert statuses[10:] == [429, 429], statuses
    # Another visitor (another address) is not locked out by the first one's attempts.
    neighbour = visitor_from(stack.url, "127.0.0.3")
    assert _failed_login(neighbour, None) != 429


def test_direct_to_the_app_the_header_would_be_believed(stack):
    """Why gunicorn must listen only where the proxy is: TRUSTED_PROXIES=1 believes one entry."""
    direct = Visitor(stack.app_url)
    statuses = [_failed_login(direct, f"198.51.100.{n}") for n in range(1, 13)]
    assert 429 not in statuses, statuses


# ---- the whole site file: HTTPS and the redirect -------------------------------------------


def test_the_site_file_serves_https_and_redirects_http(stack, tmp_path):
    with served_nginx(stack.app_url, tmp_path / "nginx-tls", tls=True) as proxy:
        redirect = Visitor(proxy.http_url).get(ALLIES + "?q=a")
        assert redirect.status == 301
        assert redirect.headers["Location"] == "https://127.0.0.1" + ALLIES + "?q=a"

        context = ssl.create_default_context(cafile=str(proxy.directory / "tls" / "fullchain.pem"))
        context.check_hostname = False
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        answers = []
        for _ in range(2):
            with opener.open(proxy.base_url + ALLIES, timeout=30) as response:
                answers.append((response.status, response.headers.get("X-Cache-Status")))
        assert answers == [(200, answers[0][1]), (200, "HIT")], answers
