import email
import email.policy
import os
import re
import shutil
import socket

import pytest
from aiosmtpd.controller import Controller
from jinja2 import FileSystemBytecodeCache
from sqlalchemy import select

from koalicja import create_app
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator

from .postgres import MISSING_POSTGRESQL, PostgresCluster, postgresql_bindir

COORDINATOR_EMAIL = "koordynatorka@example.org"
COORDINATOR_PASSWORD = "bardzo-tajne-haslo"


# KOALICJA_TEST_DATABASES=sqlite keeps to one engine (`make mutation` runs each mutant on SQLite only).
DATABASES = os.environ.get("KOALICJA_TEST_DATABASES", "sqlite,postgresql").split(",")
SCHEMA_TEMPLATE = "koalicja_schema"


def _create_schema(url):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()


@pytest.fixture(scope="session")
def postgresql():
    """A throw-away PostgreSQL cluster for the session (tests/postgres.py), with the schema in a template.

    Without Debian's `postgresql` package the PostgreSQL variants are skipped, except on CI
    (`CI=true`), where a missing database server is a broken setup.
    """
    bindir = postgresql_bindir()
    if bindir is None:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(MISSING_POSTGRESQL, pytrace=False)
        pytest.skip(MISSING_POSTGRESQL)
    cluster = PostgresCluster(bindir, free_port()).start()
    try:
        cluster.create_template(SCHEMA_TEMPLATE, _create_schema)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory):
    """An SQLite file with every table, made once per session: each test gets a copy of it (a
    file copy takes a millisecond; building the schema again takes fifty)."""
    path = tmp_path_factory.mktemp("schema") / "schema.sqlite"
    _create_schema(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def compiled_templates(tmp_path_factory):
    """Jinja's own bytecode cache, shared by the apps of this test process: each test's app would
    otherwise compile every template it renders again (a tenth of a second per test). Keyed by the
    template's source, so an edited template is compiled afresh."""
    return FileSystemBytecodeCache(str(tmp_path_factory.mktemp("compiled-templates")))


@pytest.fixture(params=DATABASES)
def database(request):
    """The engine this test runs on: every test that touches the database runs on both, except
    those marked `one_engine` (see pytest_collection_modifyitems)."""
    return request.param


def pytest_collection_modifyitems(config, items):
    """Tests of what the app shows or emits from data a fixture wrote (languages, headers, CSRF,
    printable pages, calendar files, e-mail scores, share previews), marked `one_engine`, run on
    SQLite only: no engine difference can reach them, and the suite must stay under 10 minutes
    on 2 cores. State changes, queries, locking and everything else run on both."""
    others = [
        item for item in items
        if item.get_closest_marker("one_engine") and getattr(item, "callspec", None)
        and item.callspec.params.get("database", DATABASES[0]) != DATABASES[0]
    ]
    if others:
        config.hook.pytest_deselected(items=others)
        left_out = set(others)
        items[:] = [item for item in items if item not in left_out]


@pytest.fixture
def database_url(database, tmp_path, request):
    """A fresh, empty database (no tables) on the test's engine, for tests that build their own app."""
    if database == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    cluster = request.getfixturevalue("postgresql")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def app_config():
    """Extra configuration for the `app` fixture; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def app(database, tmp_path, request, app_config):
    if database == "postgresql":
        cluster = request.getfixturevalue("postgresql")
        database_uri = cluster.create_database(template=SCHEMA_TEMPLATE)  # the schema comes with the copy
    else:
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), tmp_path / "test.sqlite")
        database_uri = f"sqlite:///{tmp_path / 'test.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "MAIL_BACKEND": "file",
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "LOGO_FOLDER": str(tmp_path / "logos"),
            "RATELIMIT_ENABLED": False,
            "BOT_TRAP_ENABLED": False,  # tests submit at machine speed; tests/security turn it on
            # Argon2 as argon2-cffi recommends for tests (0.2 s less per login); test_views checks the default.
            "PASSWORD_HASH_PROFILE": "CHEAPEST",
            "BASE_URL": "http://koalicja.test",
            **app_config,
        }
    )
    app.jinja_env.bytecode_cache = request.getfixturevalue("compiled_templates")
    # No app context stays pushed: each test request must get its own, as in production
    # (a shared one would carry `g`, and with it the CSRF token, from request to request).
    yield app
    with app.app_context():
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()
    if database == "postgresql":
        cluster.drop_database(database_uri)


@pytest.fixture
def ctx(app):
    """An app context for tests that call domain functions directly."""
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


SLUG = "sasiedztwa"


@pytest.fixture
def coalition(app):
    """The slug of a coalition with a current declaration."""
    coalition = Coalition(
        slug=SLUG,
        name="Koalicja na rzecz sąsiedztw",
        description="Otwarta sieć sąsiadów i sąsiadek.",
        organiser="Fundacja Testowa",
        contact_email="kontakt@example.org",
    )
    declaration = Declaration(
        coalition=coalition,
        title="Deklaracja współpracy",
        body="Deklarujemy **współpracę**.\n\n<script>alert(1)</script>\n\n[zły link](javascript:alert(1))",
    )
    with app.app_context():
        db.session.add_all([coalition, declaration])
        db.session.commit()
    return SLUG


def current_declaration(slug=SLUG):
    return db.session.scalar(select(Coalition).where(Coalition.slug == slug)).current_declaration


@pytest.fixture
def coordinator(app, coalition):
    """The id of a coordinator account (COORDINATOR_EMAIL / COORDINATOR_PASSWORD) serving the
    `coalition` fixture's coalition only (not an administrator)."""
    with app.app_context():
        account = create_coordinator(COORDINATOR_EMAIL, "Koordynatorka Testowa", COORDINATOR_PASSWORD)
        account.coalitions.append(db.session.scalar(select(Coalition).where(Coalition.slug == SLUG)))
        db.session.commit()
        return account.id


def without_csrf_token(page):
    """The page with its htmx CSRF token masked: the token carries the second it was signed in."""
    return re.sub(r'"X-CSRFToken": "[^"]+"', "TOKEN", page)


def csrf_token_from(response):
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.get_data(as_text=True))
    if match is None:
        match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    if match is None:  # pages without a form still carry the token for htmx requests
        match = re.search(r'"X-CSRFToken": "([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email=COORDINATOR_EMAIL, password=COORDINATOR_PASSWORD):
        token = csrf_token_from(self.client.get("/panel/logowanie"))
        return self.client.post(
            "/panel/logowanie", data={"email": email, "password": password, "csrf_token": token}
        )

    def csrf(self):
        """A valid token for this client's session, for forms posted without loading them first."""
        return csrf_token_from(self.client.get("/panel/podpisy"))


@pytest.fixture
def auth(client, coordinator):
    return Auth(client)


VALID_PERSON = {
    "kind": "person",
    "full_name": "Zofia Łukasik",
    "email": "zofia@example.org",
    "city": "Kraków",
    "district": "XIII Podgórze",
    "accept_declaration": "y",
    "accept_privacy": "y",
    "public_name": "y",
}

VALID_ORGANISATION = {
    "kind": "organisation",
    "full_name": "Anna Wiśniewska",
    "email": "anna@stowarzyszenie.example.org",
    "organisation_name": "Stowarzyszenie Sąsiedzi z Zabłocia",
    "role": "prezeska",
    "sector": "ngo",
    "authorised": "y",
    "accept_declaration": "y",
    "accept_privacy": "y",
    "public_organisation": "y",
}


def sign(client, slug="sasiedztwa", **fields):
    """Load the form (for its CSRF token) and post it like a browser would."""
    token = csrf_token_from(client.get(f"/{slug}/podpisz"))
    return client.post(f"/{slug}/podpisz", data={"csrf_token": token, **fields})


class RecordingHandler:
    """Keeps every message, parsed with the modern policy so Polish subjects read as text."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self, port):
        self.port = port
        self.handler = RecordingHandler()
        self.controller = None

    @property
    def messages(self):
        return self.handler.messages

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1; the app is configured to deliver to it."""
    server = SmtpServer(free_port())
    server.start()
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_STARTTLS=False)
    yield server
    server.stop()


def link_in(message, pattern=r"http://koalicja\.test/potwierdz/\S+"):
    body = message.get_body(("plain",)).get_content()
    match = re.search(pattern, body)
    assert match, body
    return match.group(0)
