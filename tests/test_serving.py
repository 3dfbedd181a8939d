"""Production serving (koalicja/serving/): data version, cached pages and what HTTP is told
about them, gzip, static files, health, access log."""
import gzip
import io
import json
import logging
import re
import zlib

import pytest
from sqlalchemy import func, select, update

from koalicja import create_app
from koalicja.coalitions.models import Coalition
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.serving import DataVersion, gzip_parts
from koalicja.serving.access_log import formatter
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import decide_signature, sign_declaration

from .conftest import COORDINATOR_EMAIL, VALID_PERSON, Auth, csrf_token_from, current_declaration
from .events.conftest import make_event

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
PUBLIC_CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"

# Every page that is the same for every visitor (the decorator @cached_page).
PUBLIC_PAGES = [
    "/",
    "/sasiedztwa/",
    "/sasiedztwa/sojusznicy",
    "/sasiedztwa/sojusznicy?q=zofia&kolejnosc=alfabetycznie",
    "/sasiedztwa/wydarzenia",
    "/sasiedztwa/wydarzenia/archiwum",
    "/sasiedztwa/posiedzenia",
    "/sasiedztwa/konsultacje",
    "/sasiedztwa/wydarzenia/gala",
    "/sasiedztwa/deklaracja/wersje",
    "/sasiedztwa/deklaracja/wersja-1",
    "/sasiedztwa/deklaracja/druk",
    "/sasiedztwa/prywatnosc",
]
# Pages with a form: this visitor's CSRF token, never kept by anyone.
FORM_PAGES = ["/sasiedztwa/podpisz", "/sasiedztwa/wydarzenia/gala/zapisz", "/panel/logowanie", "/nowy-link", "/wycofaj"]


def data_version(app):
    with app.app_context():
        return db.session.scalar(select(DataVersion.version).where(DataVersion.id == 1))


def confirmed_signature(app, **changes):
    with app.app_context():
        signature = sign_declaration(current_declaration(), {**VALID_PERSON, **changes}).signature
        signature.status = SignatureStatus.CONFIRMED
        db.session.commit()
        return signature.id


def decide(app, signature_id, decision):
    with app.app_context():
        coordinator = db.session.scalar(select(Coordinator).where(Coordinator.email == COORDINATOR_EMAIL))
        decide_signature(db.session.get(Signature, signature_id), decision, coordinator)


def listed_ally(app, name, email):
    signature_id = confirmed_signature(app, full_name=name, email=email)
    decide(app, signature_id, "approve")
    return signature_id


def html_of(response):
    if response.headers.get("Content-Encoding") == "gzip":
        return gzip.decompress(response.data).decode()
    return response.get_data(as_text=True)


@pytest.fixture
def site(app, coalition):
    """Two coalitions (so `/` is the index, not a redirect) and an event."""
    with app.app_context():
        db.session.add(Coalition(slug="druga", name="Druga koalicja"))
        db.session.commit()
    make_event(app)
    return coalition


# ---- the data version: every write bumps it, in the writer's transaction -----------------------


def test_every_write_bumps_the_version_and_reads_do_not(app, client, coalition, coordinator):
    start = data_version(app)
    signature_id = confirmed_signature(app)  # sign (commit) and confirm (commit)
    after_writes = data_version(app)
    assert after_writes >= start + 2
    client.get("/sasiedztwa/sojusznicy")
    client.get("/sasiedztwa/")
    assert data_version(app) == after_writes
    with app.app_context():
        db.session.execute(update(Event).where(Event.id == -1).values(capacity=Event.capacity + 1))
        db.session.commit()  # a bulk statement (like the event lock) counts as a write too
    assert data_version(app) == after_writes + 1
    decide(app, signature_id, "approve")
    assert data_version(app) == after_writes + 2


def test_outbox_rolled_back_writes_and_locks_leave_the_version_alone(app, coalition):
    from koalicja.locking import lock

    start = data_version(app)
    with app.app_context():
        db.session.add(OutboxMessage(recipient="a@example.org", subject="x", body_text="x"))
        db.session.commit()  # delivering mail changes no page
        db.session.add(Signature(declaration_id=current_declaration().id, kind="person", full_name="X", email="x@x.org",
                                 email_key="x@x.org", consents={}, status="unconfirmed"))
        db.session.flush()
        db.session.rollback()
        lock(Coalition, db.session.scalar(select(Coalition.id)))  # FOR UPDATE / BEGIN IMMEDIATE: writes nothing
        db.session.commit()
    assert data_version(app) == start


# ---- pages the same for every visitor say so ----------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_are_public_and_carry_nothing_of_the_visitor(app, site, path):
    visitor = app.test_client()
    response = visitor.get(path, headers=GZIP)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL
    assert response.headers["ETag"].startswith('W/"')
    vary = {name.strip() for name in response.headers["Vary"].split(",")}
    assert {"Accept-Encoding", "Accept-Language", "Cookie", "HX-Request"} <= vary
    html = html_of(response)
    assert "csrf_token" not in html and "X-CSRFToken" not in html
    assert response.headers["Content-Encoding"] == "gzip"
    again = visitor.get(path, headers={**GZIP, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == response.headers["ETag"]
    assert again.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL and "Cookie" in again.headers["Vary"]
    assert app.test_client().get(path, headers=GZIP).data == response.data  # the same bytes for the next visitor


def test_an_htmx_search_of_the_allies_is_public_too_and_kept_apart_from_the_page(app, client, coalition, coordinator):
    listed_ally(app, "Zofia Próbna", "zofia.p@example.org")
    page = client.get("/sasiedztwa/sojusznicy?q=zofia")
    fragment = client.get("/sasiedztwa/sojusznicy?q=zofia", headers={"HX-Request": "true"})
    assert fragment.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL and "Set-Cookie" not in fragment.headers
    assert "HX-Request" in fragment.headers["Vary"] and fragment.headers["ETag"] != page.headers["ETag"]
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "Zofia Próbna" in fragment.get_data(as_text=True)


def test_the_cache_lifetime_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PUBLIC_CACHE_MAX_AGE", "12")
    monkeypatch.setenv("PUBLIC_CACHE_STALE_WHILE_REVALIDATE", "60")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/a.sqlite"})
    with app.app_context():
        db.create_all()
        db.session.add(Coalition(slug="jedna", name="Jedna"))
        db.session.commit()
    response = app.test_client().get("/jedna/")
    assert response.headers["Cache-Control"] == "public, max-age=12, stale-while-revalidate=60"
    with app.app_context():
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()


def test_a_signed_in_coordinator_gets_the_public_page_without_a_cookie(app, client, auth, coalition):
    auth.login()
    response = client.get("/sasiedztwa/")
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL
    # From another browser Flask-Login marks the session "not fresh" (a new cookie): that one
    # answer is the coordinator's own, private; the next one is public again.
    moved = client.get("/sasiedztwa/prywatnosc", headers={"User-Agent": "Inny/1.0"})
    assert "Set-Cookie" in moved.headers and moved.headers["Cache-Control"] == "private, no-store"
    again = client.get("/sasiedztwa/prywatnosc", headers={"User-Agent": "Inny/1.0"})
    assert "Set-Cookie" not in again.headers and again.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL


def test_a_flash_message_is_shown_once_privately_and_never_kept(app, client, coalition):
    client.get("/sasiedztwa/")  # the public page is in the cache already
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Wiadomość tylko dla Ciebie")]
    flashed = client.get("/sasiedztwa/")
    assert "Wiadomość tylko dla Ciebie" in flashed.get_data(as_text=True)
    assert flashed.headers["Cache-Control"] == "private, no-store" and "ETag" not in flashed.headers
    after = client.get("/sasiedztwa/")
    assert "Wiadomość tylko dla Ciebie" not in after.get_data(as_text=True)
    assert after.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL
    assert "Wiadomość tylko dla Ciebie" not in app.test_client().get("/sasiedztwa/").get_data(as_text=True)


def test_the_language_switch_is_a_plain_link_and_the_page_varies_on_the_cookie(app, client, coalition):
    page = client.get("/sasiedztwa/").get_data(as_text=True)
    link = re.search(r'href="(/jezyk/en\?next=[^"]+)"', page).group(1).replace("&amp;", "&")
    switched = client.get(link)
    assert switched.status_code == 303 and switched.headers["Location"] == "/sasiedztwa/"
    assert switched.headers["Set-Cookie"].startswith("lang=en")
    english = client.get("/sasiedztwa/")
    assert '<html lang="en">' in english.get_data(as_text=True) and "Set-Cookie" not in english.headers
    assert english.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL
    assert english.headers["ETag"] != app.test_client().get("/sasiedztwa/").headers["ETag"]


# ---- pages with a form stay private, with their CSRF token made the normal way ---------------------


@pytest.mark.parametrize("path", FORM_PAGES)
def test_form_pages_are_private_with_the_visitors_own_token(app, site, path):
    visitor = app.test_client()
    response = visitor.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] in ("private, no-store", "no-store") and "ETag" not in response.headers
    assert "session=" in response.headers["Set-Cookie"]
    token = csrf_token_from(response)
    assert token != csrf_token_from(app.test_client().get(path))


def test_each_visitor_gets_their_own_csrf_token_and_can_post_with_it(app, coalition):
    first, second = app.test_client(), app.test_client()
    token_one, token_two = csrf_token_from(first.get("/sasiedztwa/podpisz")), csrf_token_from(second.get("/sasiedztwa/podpisz"))
    assert token_one != token_two
    response = second.post("/sasiedztwa/podpisz", data={**VALID_PERSON, "csrf_token": token_two})
    assert response.status_code == 303
    stolen = first.post("/sasiedztwa/podpisz", data={**VALID_PERSON, "email": "inny@example.org", "csrf_token": token_two})
    assert stolen.status_code == 422  # another visitor's token is worth nothing


def test_a_form_page_keeps_its_blank_fields_but_never_a_visitors_values(app, coalition):
    """The sign form's text and blank fields are rendered once per data version; the token,
    the clock and a sent form's answers are each request's own."""
    first, second = app.test_client(), app.test_client()
    page_one, page_two = first.get("/sasiedztwa/podpisz"), second.get("/sasiedztwa/podpisz")
    assert csrf_token_from(page_one) != csrf_token_from(page_two)
    fields = re.compile(r'<fieldset class="group">.*</fieldset>', re.S)
    assert fields.search(page_one.get_data(as_text=True)).group(0) == fields.search(page_two.get_data(as_text=True)).group(0)
    sent = first.post("/sasiedztwa/podpisz", data={"full_name": "Jan Wpisany", "csrf_token": csrf_token_from(page_one)})
    assert sent.status_code == 422 and 'value="Jan Wpisany"' in sent.get_data(as_text=True)
    assert "Jan Wpisany" not in second.get("/sasiedztwa/podpisz").get_data(as_text=True)
    with app.app_context():
        current_declaration().current_version.body = "Nowa treść deklaracji."
        db.session.commit()  # a write: the kept text is stale at once
    assert "Nowa treść deklaracji." in second.get("/sasiedztwa/podpisz").get_data(as_text=True)


def test_each_form_gets_a_fresh_bot_trap_clock(app, client, coalition, monkeypatch):
    import time

    import koalicja.security

    def started_at(now):
        monkeypatch.setattr(time, "time", lambda: now)
        page = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
        monkeypatch.undo()
        return re.search(r'name="form_started" type="hidden" value="([^"]+)"', page).group(1)

    first, second = started_at(1_000_000.0), started_at(1_000_100.0)
    with app.test_request_context():
        stamps = [koalicja.security._clock().loads(value) for value in (first, second)]
    assert [stamp["t"] if isinstance(stamp, dict) else stamp for stamp in stamps] == [1_000_000.0, 1_000_100.0]


# ---- the page cache never shows a rejected or withdrawn entry -----------------------------------


def test_approve_shows_then_reject_gives_the_same_client_a_fresh_page(app, client, coalition, coordinator):
    signature_id = listed_ally(app, "Halina Próbna", "halina@example.org")
    first = client.get("/sasiedztwa/sojusznicy")
    assert first.status_code == 200 and "Halina Próbna" in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    assert client.get("/sasiedztwa/sojusznicy", headers={"If-None-Match": etag}).status_code == 304

    decide(app, signature_id, "reject")
    after = client.get("/sasiedztwa/sojusznicy", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert "Halina Próbna" not in after.get_data(as_text=True)
    assert after.headers["ETag"] != etag
    assert "Halina Próbna" not in client.get("/sasiedztwa/").get_data(as_text=True)


def test_a_withdrawn_signature_leaves_every_cached_page_at_once(app, client, coalition, coordinator):
    from koalicja.signatures.operations import withdraw_signature

    signature_id = listed_ally(app, "Wiesław Wycofany", "wieslaw@example.org")
    pages = ["/sasiedztwa/sojusznicy", "/sasiedztwa/sojusznicy?q=wieslaw", "/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie"]
    etags = {}
    for url in pages:
        assert "Wiesław Wycofany" in client.get(url).get_data(as_text=True)
        packed = client.get(url, headers=GZIP)
        assert "Wiesław Wycofany".encode() in gzip.decompress(packed.data)
        etags[url] = packed.headers["ETag"]
    with app.app_context():
        withdraw_signature(db.session.get(Signature, signature_id))
    for url in pages:
        assert "Wiesław Wycofany" not in client.get(url).get_data(as_text=True)
        fresh = client.get(url, headers={**GZIP, "If-None-Match": etags[url]})
        assert fresh.status_code == 200 and b"Wies" not in gzip.decompress(fresh.data)


def test_cached_pages_are_rendered_once_per_data_version(app, client, coalition):
    with app.app_context():
        engine = db.engine
    from sqlalchemy import event as sa_event

    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client.get("/sasiedztwa/sojusznicy")
    rendered = len(statements)
    client.get("/sasiedztwa/sojusznicy")
    assert rendered > 0 and len(statements) == rendered  # the second answer ran no query of the app's own


def test_signature_counts_stay_exact_under_the_cache(app, client, coalition, coordinator):
    for number in range(3):
        listed_ally(app, f"Osoba {number}", f"p{number}@example.org")
    assert "Wpisy na liście: 3." in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    listed_ally(app, "Osoba 9", "p9@example.org")
    assert "Wpisy na liście: 4." in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id)).where(Signature.listed.is_(True))) == 4


def test_event_pages_follow_the_clock(app, client, coalition, monkeypatch):
    """Registration opens at a time, not with a write: the event page is kept for 30 seconds at most."""
    import time
    from datetime import timedelta

    from koalicja.timeutil import utcnow

    opens = utcnow() + timedelta(seconds=20)
    make_event(app, registration_opens_at=opens)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    before = client.get("/sasiedztwa/wydarzenia/gala")
    assert "Zapisy ruszą" in before.get_data(as_text=True)
    monkeypatch.setattr(time, "time", lambda: now + 31)
    monkeypatch.setattr("koalicja.events.operations.utcnow", lambda: opens + timedelta(seconds=11))
    after = client.get("/sasiedztwa/wydarzenia/gala")
    assert "Zapisy ruszą" not in after.get_data(as_text=True) and after.headers["ETag"] != before.headers["ETag"]
    assert "/sasiedztwa/wydarzenia/gala/zapisz" in after.get_data(as_text=True)


# ---- coordinators' pages ------------------------------------------------------------------------


def test_flash_messages_on_coordinator_pages_are_never_kept(app, client, auth, coalition):
    auth.login()
    client.get("/panel/podpisy")  # kept for this coordinator
    client.post("/panel/podpisy/decyzje", data={"decision": "approve", "csrf_token": auth.csrf()})
    page = client.get("/panel/podpisy").get_data(as_text=True)
    assert "Zaznacz co najmniej jeden wpis." in page
    assert "Zaznacz co najmniej jeden wpis." not in client.get("/panel/podpisy").get_data(as_text=True)


def test_coordinator_pages_are_kept_per_coordinator_and_still_need_login(app, client, coalition, coordinator):
    from koalicja.panel.operations import create_coordinator

    with app.app_context():
        create_coordinator("drugi@example.org", "Drugi Koordynator", "drugie-haslo-123")
    auth = Auth(client)
    auth.login()
    first = client.get("/panel/podpisy")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    assert "Content-Encoding" not in client.get("/panel/podpisy", headers=GZIP).headers  # BREACH: never compressed
    client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})
    assert client.get("/panel/podpisy").status_code == 302  # a kept page is no way around the login
    other = app.test_client()
    Auth(other).login(email="drugi@example.org", password="drugie-haslo-123")
    page = other.get("/panel/podpisy")
    assert "Drugi Koordynator" in page.get_data(as_text=True) and "Koordynatorka Testowa" not in page.get_data(as_text=True)
    assert csrf_token_from(page) != csrf_token_from(first)  # each session's own token


def test_a_kept_coordinator_page_carries_a_token_the_session_can_post_with(app, client, auth, coalition):
    from sqlalchemy import event as sa_event

    auth.login()
    client.get("/panel/podpisy")  # the session now holds its CSRF secret
    fixed = app.test_client(use_cookies=False)  # like a load generator: the same cookie every time
    headers = {"Cookie": f"session={client.get_cookie('session').value}", "User-Agent": "Inny/1.0"}
    with app.app_context():
        engine = db.engine
    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert fixed.get("/panel/podpisy", headers=headers).status_code == 200
    rendered = len(statements)
    kept = fixed.get("/panel/podpisy", headers=headers)
    assert len(statements) - rendered <= 1  # only loading the coordinator; the page came from the cache
    posted = client.post("/panel/podpisy/decyzje", data={"decision": "approve", "csrf_token": csrf_token_from(kept)})
    assert posted.status_code == 303


# ---- compression ---------------------------------------------------------------------------


def test_pages_are_gzipped_for_clients_that_accept_it(client, coalition):
    plain = client.get("/sasiedztwa/sojusznicy")
    packed = client.get("/sasiedztwa/sojusznicy", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    assert "Content-Encoding" not in client.get("/sasiedztwa/sojusznicy", headers={"Accept-Encoding": "gzip;q=0"}).headers


def test_a_forms_csrf_token_goes_out_uncompressed_whatever_surrounds_it(client, coalition):
    """BREACH: the token sits in stored deflate blocks, so a guess typed into the page cannot shrink it."""
    form = client.get("/sasiedztwa/podpisz", headers=GZIP)
    assert form.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(form.data).decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert html.count(token) == 2  # the form's field and htmx's header
    assert form.data.count(token.encode()) == 2  # as it is, in the gzip stream itself


@pytest.mark.parametrize(
    "parts", [[b""], [b"abc"], [b"a" * 5000, b"SECRET", b"b" * 70000], [b"x", b"", b"y", b"token", b""]]
)
def test_gzip_parts_is_one_valid_stream(parts):
    packed = gzip_parts(parts, secret_indexes={1})
    assert gzip.decompress(packed) == b"".join(parts)
    assert zlib.decompress(packed, 31) == b"".join(parts)


def test_a_secret_compresses_the_same_whatever_surrounds_it():
    token = b"IjlhZTIwMDRlY2JmZDY1ODJiYjk4MjVm"
    right = gzip_parts([b"<input value='" + token[:20] + b"'>", token, b"</html>"], secret_indexes={1})
    wrong = gzip_parts([b"<input value='" + b"Xq93kLm2Zp0aRt5YwB7c"[:20] + b"'>", token, b"</html>"], secret_indexes={1})
    assert len(right) == len(wrong)


# ---- static files ----------------------------------------------------------------------------


def test_static_urls_carry_their_version_and_are_immutable(client, coalition):
    page = client.get("/sasiedztwa/").get_data(as_text=True)
    url = re.search(r'src="(/static/[0-9a-f]{16}/js/htmx-2\.0\.11\.min\.js)"', page).group(1)
    assert re.search(r'href="/static/[0-9a-f]{16}/css/site\.css"', page)
    with client.get(url, headers=GZIP) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "max-age=315360000, public, immutable"
        assert response.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in response.headers["Vary"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b"htmx" in gzip.decompress(response.data)[:3000]
    with client.get(url, headers={"If-None-Match": response.headers["ETag"]}) as again:
        assert again.status_code == 304


def test_static_files_without_the_current_version_are_checked_again(client):
    with client.get("/static/css/site.css") as plain:
        assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
        current = plain.data
    with client.get("/static/0123456789abcdef/css/site.css") as older:  # a page of the previous release
        assert older.status_code == 200 and older.headers["Cache-Control"] == "no-cache" and older.data == current
    assert client.get("/static/../koalicja/config.py").status_code == 404
    assert client.get("/static/0123456789abcdef/../../koalicja/config.py").status_code == 404
    assert client.get("/static/nie-ma.css").status_code == 404


# ---- health and the access log ----------------------------------------------------------------


def test_health_checks_the_database(client):
    response = client.get("/zdrowie")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_is_503_when_the_database_is_down(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/nie/ma/tu/bazy.sqlite"})
    response = app.test_client().get("/zdrowie")
    assert response.status_code == 503 and response.json["status"] == "error"


def test_one_json_line_per_request_without_query_or_tokens(app, client, coalition):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter())
    logger = logging.getLogger("koalicja.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logged_app = create_app({**app.config, "ACCESS_LOG": True})
    try:
        logged = logged_app.test_client()
        logged.get("/sasiedztwa/sojusznicy?q=zofia@example.org")
        logged.get("/sasiedztwa/sojusznicy?q=zofia@example.org")
        logged.get("/potwierdz/eyJzIjoxLCJuIjoiYWJjIn0.sekretny-token")
        logged.post("/nowy-link", data={"email": "zofia@example.org"})
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 4
    first, second, token, posted = lines
    assert set(first) >= {"time", "method", "path", "status", "duration_ms", "endpoint", "bytes", "cache"}
    assert first["method"] == "GET" and first["path"] == "/sasiedztwa/sojusznicy" and first["status"] == 200
    assert (first["cache"], second["cache"]) == ("miss", "hit")
    assert isinstance(first["duration_ms"], float)
    assert token["path"] == "/potwierdz/<token>"
    assert "@" not in stream.getvalue() and "sekretny" not in stream.getvalue()
    assert posted["method"] == "POST"
    with logged_app.app_context():
        db.engine.dispose()
    logged_app.extensions["koalicja.serving"].close()


def test_gunicorn_configuration_loads():
    import koalicja.gunicorn_conf as conf

    assert conf.workers >= 1 and conf.threads >= 1 and conf.worker_class == "gthread"
    assert conf.timeout > 0 and conf.graceful_timeout > 0 and conf.errorlog == "-"
    assert "%(q)s" not in conf.access_log_format  # never query strings


def test_gunicorn_serves_the_app_with_the_production_configuration(database_url, tmp_path):
    """`gunicorn -c python:koalicja.gunicorn_conf app:app`: preloaded app, health, cached pages, JSON log."""
    import urllib.request

    from .served import served_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()
    # Two workers, rate limits off (with them on, two workers would need Redis: not what this checks).
    with served_app(database_url, tmp_path, workers=2) as base_url:
        with urllib.request.urlopen(f"{base_url}/zdrowie", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
        request = urllib.request.Request(f"{base_url}/sasiedztwa/sojusznicy?q=zofia", headers=GZIP)
        for _ in range(4):
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["Content-Encoding"] == "gzip"
                assert response.headers["Cache-Control"].startswith("public, max-age=")
                assert response.headers["Set-Cookie"] is None
                assert "Zofia Łukasik" in gzip.decompress(response.read()).decode()
    log = tmp_path / f"gunicorn-{base_url.rsplit(':', 1)[1]}.log"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    allies = [line for line in lines if line["endpoint"] == "declarations.allies"]
    assert len(allies) == 4
    assert [line["cache"] for line in allies].count("miss") <= 2  # the first answer of each of the two workers
    assert all(line["path"] == "/sasiedztwa/sojusznicy" for line in allies)
