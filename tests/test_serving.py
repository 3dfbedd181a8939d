"""Production serving (koalicja/serving.py): data version, page cache, ETags, static files, gzip, health, log."""
import gzip
import io
import json
import logging
import re
import zlib

import pytest
from sqlalchemy import func, select, update

from koalicja import create_app
from koalicja.events.models import Event
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.panel.models import Coordinator
from koalicja.serving import DataVersion, gzip_parts
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import decide_signature, sign_declaration

from .conftest import COORDINATOR_EMAIL, VALID_PERSON, Auth, csrf_token_from, current_declaration

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


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


def etag_of(response):
    return response.headers["ETag"]


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
        db.session.execute(update(Event).where(Event.id == -1).values(lock_version=Event.lock_version + 1))
        db.session.commit()  # a bulk statement (like the event lock) counts as a write too
    assert data_version(app) == after_writes + 1
    decide(app, signature_id, "approve")
    assert data_version(app) == after_writes + 2


def test_outbox_and_rolled_back_writes_leave_the_version_alone(app, coalition):
    start = data_version(app)
    with app.app_context():
        db.session.add(OutboxMessage(recipient="a@example.org", subject="x", body_text="x"))
        db.session.commit()  # delivering mail changes no page
        db.session.add(Signature(declaration_id=current_declaration().id, kind="person", full_name="X", email="x@x.org",
                                 email_key="x@x.org", consents={}, status="unconfirmed"))
        db.session.flush()
        db.session.rollback()
    assert data_version(app) == start


# ---- conditional requests and the cache never show a rejected or withdrawn entry ---------------


def test_approve_shows_then_reject_gives_the_same_client_a_fresh_page(app, client, coalition, coordinator):
    signature_id = confirmed_signature(app, full_name="Halina Próbna", email="halina@example.org")
    decide(app, signature_id, "approve")
    first = client.get("/sasiedztwa/sojusznicy")
    assert first.status_code == 200 and "Halina Próbna" in first.get_data(as_text=True)
    etag = etag_of(first)

    unchanged = client.get("/sasiedztwa/sojusznicy", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""

    decide(app, signature_id, "reject")
    after = client.get("/sasiedztwa/sojusznicy", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert "Halina Próbna" not in after.get_data(as_text=True)
    assert etag_of(after) != etag
    assert "Halina Próbna" not in client.get("/sasiedztwa/").get_data(as_text=True)


def test_a_withdrawn_signature_leaves_every_cached_page(app, client, coalition, coordinator):
    from koalicja.signatures.operations import withdraw_signature

    signature_id = confirmed_signature(app, full_name="Wiesław Wycofany", email="wieslaw@example.org")
    decide(app, signature_id, "approve")
    pages = ["/sasiedztwa/sojusznicy", "/sasiedztwa/sojusznicy?q=wieslaw", "/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie"]
    for url in pages:
        assert "Wiesław Wycofany" in client.get(url).get_data(as_text=True)
        assert "Wiesław Wycofany".encode() in gzip.decompress(client.get(url, headers=GZIP).data)
    with app.app_context():
        withdraw_signature(db.session.get(Signature, signature_id))
    for url in pages:
        assert "Wiesław Wycofany" not in client.get(url).get_data(as_text=True)
        assert b"Wies" not in gzip.decompress(client.get(url, headers=GZIP).data)


def test_cached_pages_are_served_from_memory_until_a_write(app, client, coalition):
    with app.app_context():
        engine = db.engine
    from sqlalchemy import event as sa_event

    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client.get("/sasiedztwa/sojusznicy")
    rendered = len(statements)
    client.get("/sasiedztwa/sojusznicy")
    assert rendered > 0 and len(statements) == rendered  # the second answer ran no query of the app's own


def test_each_visitor_gets_their_own_csrf_token_and_can_post_with_it(app, coalition):
    first, second = app.test_client(), app.test_client()
    page_one = first.get("/sasiedztwa/podpisz")
    page_two = second.get("/sasiedztwa/podpisz")
    token_one, token_two = csrf_token_from(page_one), csrf_token_from(page_two)
    assert token_one != token_two
    assert "koalicja-slot" not in page_one.get_data(as_text=True)
    response = second.post("/sasiedztwa/podpisz", data={**VALID_PERSON, "csrf_token": token_two})
    assert response.status_code == 303
    stolen = first.post("/sasiedztwa/podpisz", data={**VALID_PERSON, "email": "inny@example.org", "csrf_token": token_two})
    assert stolen.status_code == 422  # another visitor's token is worth nothing


def test_each_cached_form_gets_a_fresh_bot_trap_clock(app, client, coalition, monkeypatch):
    import time

    import koalicja.security

    def started_at(now):
        monkeypatch.setattr(time, "time", lambda: now)
        page = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
        monkeypatch.undo()
        return re.search(r'name="form_started" type="hidden" value="([^"]+)"', page).group(1)

    first, second = started_at(1_000_000.0), started_at(1_000_100.0)  # the second one comes from the cache
    with app.test_request_context():
        assert [koalicja.security._clock().loads(value) for value in (first, second)] == [1_000_000.0, 1_000_100.0]


def test_pages_without_forms_carry_no_token_and_set_no_cookie(client, coalition):
    response = client.get("/sasiedztwa/sojusznicy")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "public, no-cache"
    form = client.get("/sasiedztwa/podpisz")
    assert form.headers["Cache-Control"] == "private, no-cache"


def test_flash_messages_are_never_served_from_the_cache(app, client, auth, coalition):
    auth.login()
    client.get("/panel/podpisy")  # cached for this coordinator
    client.post("/panel/podpisy/decyzje", data={"decision": "approve", "csrf_token": auth.csrf()})
    page = client.get("/panel/podpisy").get_data(as_text=True)
    assert "Zaznacz co najmniej jeden wpis." in page
    assert "Zaznacz co najmniej jeden wpis." not in client.get("/panel/podpisy").get_data(as_text=True)


def test_coordinator_pages_are_cached_per_coordinator_and_still_need_login(app, client, coalition, coordinator):
    from koalicja.panel.operations import create_coordinator

    with app.app_context():
        create_coordinator("drugi@example.org", "Drugi Koordynator", "drugie-haslo-123")
    auth = Auth(client)
    auth.login()
    assert client.get("/panel/podpisy").status_code == 200
    client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})
    assert client.get("/panel/podpisy").status_code == 302  # a cached page is no way around the login
    other = app.test_client()
    Auth(other).login(email="drugi@example.org", password="drugie-haslo-123")
    page = other.get("/panel/podpisy").get_data(as_text=True)
    assert "Drugi Koordynator" in page and "Koordynatorka Testowa" not in page


# ---- compression ---------------------------------------------------------------------------


def test_pages_are_gzipped_for_clients_that_accept_it(client, coalition):
    plain = client.get("/sasiedztwa/sojusznicy")
    packed = client.get("/sasiedztwa/sojusznicy", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    form = client.get("/sasiedztwa/podpisz", headers=GZIP)  # per-visitor token spliced into the gzip stream
    html = gzip.decompress(form.data).decode()
    assert csrf_token_from(type("R", (), {"get_data": lambda self, as_text: html})()) in html
    assert "Content-Encoding" not in client.get("/sasiedztwa/sojusznicy", headers={"Accept-Encoding": "gzip;q=0"}).headers


@pytest.mark.parametrize(
    "parts", [[b""], [b"abc"], [b"a" * 5000, b"SECRET", b"b" * 70000], [b"x", b"", b"y", b"token", b""]]
)
def test_gzip_parts_is_one_valid_stream(parts):
    packed = gzip_parts(parts, secret_indexes={1})
    assert gzip.decompress(packed) == b"".join(parts)
    assert zlib.decompress(packed, 31) == b"".join(parts)


def test_a_secret_compresses_the_same_whatever_surrounds_it():
    """BREACH: a guess in reflected input must not shrink the response when it matches the token."""
    token = b"IjlhZTIwMDRlY2JmZDY1ODJiYjk4MjVm"
    right = gzip_parts([b"<input value='" + token[:20] + b"'>", token, b"</html>"], secret_indexes={1})
    wrong = gzip_parts([b"<input value='" + b"Xq93kLm2Zp0aRt5YwB7c"[:20] + b"'>", token, b"</html>"], secret_indexes={1})
    assert len(right) == len(wrong)


# ---- static files ----------------------------------------------------------------------------


def test_static_urls_are_fingerprinted_and_cached_for_a_year(client, coalition):
    page = client.get("/sasiedztwa/").get_data(as_text=True)
    url = re.search(r'src="(/static/js/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]+)"', page).group(1)
    assert re.search(r'href="/static/css/site\.css\?v=[0-9a-f]+"', page)
    response = client.get(url, headers=GZIP)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"htmx" in gzip.decompress(response.data)[:3000]
    stale = client.get("/static/js/htmx-2.0.11.min.js?v=0ld")
    assert stale.headers["Cache-Control"] == "no-cache"  # not this content: revalidate
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/static/../koalicja/config.py").status_code == 404
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
    app.config["ACCESS_LOG"] = True
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("koalicja.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logged_app = create_app({**app.config, "ACCESS_LOG": True})
    try:
        logged = logged_app.test_client()
        logged.get("/sasiedztwa/sojusznicy?q=zofia@example.org")
        logged.get("/potwierdz/eyJzIjoxLCJuIjoiYWJjIn0.sekretny-token")
        logged.post("/nowy-link", data={"email": "zofia@example.org"})
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 3
    first, token, posted = lines
    assert set(first) >= {"method", "path", "status", "duration_ms", "endpoint"}
    assert first["method"] == "GET" and first["path"] == "/sasiedztwa/sojusznicy" and first["status"] == 200
    assert isinstance(first["duration_ms"], float)
    assert token["path"] == "/potwierdz/<token>"
    assert "@" not in stream.getvalue() and "sekretny" not in stream.getvalue()
    assert posted["method"] == "POST"
    with logged_app.app_context():
        db.engine.dispose()


def test_gunicorn_configuration_loads():
    import koalicja.gunicorn_conf as conf

    assert conf.workers >= 1 and conf.threads >= 1 and conf.worker_class == "gthread"
    assert conf.timeout > 0 and conf.graceful_timeout > 0 and conf.errorlog == "-"
    assert "%(q)s" not in conf.access_log_format  # never query strings


def test_signature_counts_stay_exact_under_the_cache(app, client, coalition, coordinator):
    for number in range(3):
        decide(app, confirmed_signature(app, email=f"p{number}@example.org"), "approve")
    assert "Wpisy na liście: 3." in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    decide(app, confirmed_signature(app, email="p9@example.org"), "approve")
    assert "Wpisy na liście: 4." in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id)).where(Signature.listed.is_(True))) == 4


def test_gunicorn_serves_the_app_with_the_production_configuration(database_url, tmp_path):
    """`gunicorn -c python:koalicja.gunicorn_conf app:app`: preloaded app, health, cached pages, JSON log."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    from .conftest import free_port

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "s" * 32, "KOALICJA_ENV": "production",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:koalicja.gunicorn_conf", "app:app"],
                              cwd=Path(__file__).resolve().parents[1], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/zdrowie", timeout=5) as response:
                    assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/sasiedztwa/sojusznicy?q=zofia", headers=GZIP)
        for _ in range(4):
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["Content-Encoding"] == "gzip"
                assert "Zofia Łukasik" in gzip.decompress(response.read()).decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line.startswith("{")]
    allies = [line for line in lines if line["endpoint"] == "declarations.allies"]
    assert len(allies) == 4
    assert [line["cache"] for line in allies].count("miss") <= 2  # the first answer of each of the two workers
    assert all(line["path"] == "/sasiedztwa/sojusznicy" for line in allies)


def test_a_coordinator_page_is_cached_even_when_flask_login_touches_the_session(app, client, auth, coalition):
    """Another user agent makes Flask-Login mark the session not fresh on every request: still cacheable."""
    from sqlalchemy import event as sa_event

    auth.login()
    fixed = app.test_client(use_cookies=False)  # like a load generator: the same cookie every time
    headers = {"Cookie": f"session={client.get_cookie('session').value}", "User-Agent": "Inny/1.0"}
    with app.app_context():
        engine = db.engine
    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert fixed.get("/panel/podpisy", headers=headers).status_code == 200
    rendered = len(statements)
    assert fixed.get("/panel/podpisy", headers=headers).status_code == 200
    assert len(statements) - rendered <= 1  # only loading the coordinator; the page came from the cache


# ---- the fast path in front of Flask ------------------------------------------------------------


def flask_requests(app):
    """How many requests reach Flask's request handling (the fast path answers before it)."""
    seen = []
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: seen.append(1))
    return seen


def test_visitors_without_a_session_get_public_pages_before_flask_routes_them(app, coalition, coordinator):
    seen = flask_requests(app)
    visitor = app.test_client()
    first = visitor.get("/sasiedztwa/sojusznicy", headers=GZIP)
    second = visitor.get("/sasiedztwa/sojusznicy", headers=GZIP)
    assert len(seen) == 1 and second.data == first.data
    assert dict(second.headers) == dict(first.headers)  # security headers, Vary, ETag: as Flask made them
    assert second.headers["Content-Security-Policy"] and second.headers["Content-Encoding"] == "gzip"
    not_modified = visitor.get("/sasiedztwa/sojusznicy", headers={**GZIP, "If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and len(seen) == 1

    signature_id = confirmed_signature(app, full_name="Nowa Osoba", email="nowa@example.org")
    decide(app, signature_id, "approve")  # a write: the kept answer is stale now
    fresh = visitor.get("/sasiedztwa/sojusznicy")
    assert len(seen) == 2 and "Nowa Osoba" in fresh.get_data(as_text=True)


def test_each_language_and_encoding_is_kept_apart(app, coalition):
    seen = flask_requests(app)
    visitor = app.test_client()
    polish = visitor.get("/sasiedztwa/", headers={"Accept-Language": "pl"}).get_data(as_text=True)
    english = visitor.get("/sasiedztwa/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert len(seen) == 2 and '<html lang="pl">' in polish and '<html lang="en">' in english
    assert visitor.get("/sasiedztwa/", headers={"Accept-Language": "en"}).get_data(as_text=True) == english
    assert len(seen) == 2
    packed = visitor.get("/sasiedztwa/", headers={"Accept-Language": "en", **GZIP})
    assert gzip.decompress(packed.data).decode() == english and len(seen) == 3


def test_a_visitor_with_a_session_goes_through_flask(app, client, coalition):
    seen = flask_requests(app)
    client.get("/sasiedztwa/podpisz")  # a form: the visitor now has a session (CSRF secret)
    assert client.get_cookie("session") is not None
    client.get("/sasiedztwa/sojusznicy")
    client.get("/sasiedztwa/sojusznicy")
    assert len(seen) == 3  # flash messages live in the session: such pages are never replayed blindly


def test_pages_about_events_expire_with_the_clock(app, coalition, monkeypatch):
    import time

    from .events.conftest import make_event

    make_event(app)
    seen = flask_requests(app)
    visitor = app.test_client()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    visitor.get("/sasiedztwa/wydarzenia")
    visitor.get("/sasiedztwa/wydarzenia")
    assert len(seen) == 1
    monkeypatch.setattr(time, "time", lambda: now + 31)  # registration may have opened or closed meanwhile
    visitor.get("/sasiedztwa/wydarzenia")
    assert len(seen) == 2


def test_new_visitors_get_forms_from_the_fast_path_with_their_own_session_and_token(app, coalition):
    seen = flask_requests(app)
    first, second, third = app.test_client(), app.test_client(), app.test_client()
    from_flask = first.get("/sasiedztwa/podpisz", headers=GZIP)
    from_cache = second.get("/sasiedztwa/podpisz", headers=GZIP)
    third.get("/sasiedztwa/podpisz")
    assert len(seen) == 2  # the third visitor got it from the fast path too (no gzip: another key, once)
    assert set(from_cache.headers.keys()) == set(from_flask.headers.keys())
    cookie_flask, cookie_fast = from_flask.headers["Set-Cookie"], from_cache.headers["Set-Cookie"]
    assert cookie_flask.split(";", 1)[1] == cookie_fast.split(";", 1)[1]  # HttpOnly, Path, SameSite as Flask sets them
    html_first, html_second = gzip.decompress(from_flask.data).decode(), gzip.decompress(from_cache.data).decode()
    token_first = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html_first).group(1)
    token_second = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html_second).group(1)
    assert token_first != token_second and from_cache.headers["ETag"] != from_flask.headers["ETag"]
    assert second.post("/sasiedztwa/podpisz", data={**VALID_PERSON, "csrf_token": token_second}).status_code == 303
    stolen = {**VALID_PERSON, "email": "b@example.org", "csrf_token": token_second}
    assert first.post("/sasiedztwa/podpisz", data=stolen).status_code == 422
    revisit = second.get("/sasiedztwa/podpisz")  # now with a session: Flask answers, from the page cache
    assert revisit.status_code == 200 and len(seen) == 5


def test_the_fast_path_signs_exactly_as_flask_flask_wtf_and_the_bot_trap_do(app, monkeypatch):
    import time

    from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

    from koalicja.serving import _PresignedSerializer

    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.25)
    app.config["SECRET_KEY_FALLBACKS"] = ["an-old-key"]  # tokens are signed with the current key
    with app.app_context():
        serializers = [
            app.session_interface.get_signing_serializer(app),
            URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token"),
            URLSafeSerializer(app.secret_key, salt="koalicja.form-clock"),
        ]
        for serializer in serializers:
            for value in ({"csrf_token": "0f" * 20}, "0f" * 20, 1_800_000_000.25, {"a": "ż" * 200}):
                assert _PresignedSerializer(serializer).dumps(value) == serializer.dumps(value)


def test_a_form_from_the_fast_path_carries_a_session_flask_reads_and_a_token_it_accepts(app, coalition):
    from flask_wtf.csrf import validate_csrf

    seen = flask_requests(app)
    app.test_client().get("/sasiedztwa/podpisz")
    visitor = app.test_client()
    page = visitor.get("/sasiedztwa/podpisz")
    assert len(seen) == 1 and "Cookie" in page.headers["Vary"]
    cookie = page.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    with app.test_request_context():
        stored = app.session_interface.get_signing_serializer(app).loads(cookie)
        assert list(stored) == ["csrf_token"] and len(stored["csrf_token"]) == 40
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}):
        from flask import session

        assert dict(session) == stored  # Flask opens the session the fast path made
        validate_csrf(csrf_token_from(page))  # raises when the token is not this session's
