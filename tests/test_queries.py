"""Queries that must behave the same on SQLite and PostgreSQL, and not grow with the data (no N+1)."""
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select

from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event, EventStatus, Registration, RegistrationStatus
from koalicja.extensions import db
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import decide_signature, sign_declaration
from koalicja.text import search_key, sort_key
from koalicja.timeutil import utcnow

from .conftest import VALID_PERSON, current_declaration

# ---- helpers -------------------------------------------------------------------------------


def _approved(coordinator_id, **changes):
    signature = sign_declaration(current_declaration(), {**VALID_PERSON, **changes}).signature
    signature.status = SignatureStatus.CONFIRMED
    db.session.commit()
    decide_signature(signature, "approve", db.session.get(Coordinator, coordinator_id))
    return signature


def _names(page):
    return re.findall(r'<span class="ally__name">([^<]*)</span>', page)


@contextmanager
def counting_statements(app):
    """Counts the SQL statements the app's engine runs inside the block."""
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app, client, url):
    """How many statements rendering `url` takes, rendered afresh (the page cache is bypassed)."""
    app.extensions["koalicja.serving"].enabled = False
    try:
        with counting_statements(app) as statements:
            response = client.get(url)
        assert response.status_code == 200, url
        return len(statements)
    finally:
        app.extensions["koalicja.serving"].enabled = True


_numbers = iter(range(1, 10**9))


def add_coordinators(count):
    """Coordinators without a usable password (no Argon2 work): the deciders of the seeded rows."""
    rows = [
        {"email": f"koordynator{n}@example.org", "name": f"Koordynator {n}", "password_hash": "-", "session_token": f"t{n}"}
        for n in (next(_numbers) for _ in range(count))
    ]
    db.session.execute(insert(Coordinator), rows)
    db.session.commit()
    return [c.id for c in db.session.scalars(select(Coordinator).where(Coordinator.password_hash == "-"))]


def add_signatures(count, status, decided_by=()):
    """Bulk-insert `count` signatures; decided ones cycle through the `decided_by` coordinators."""
    declaration_id = current_declaration().id
    now = utcnow()
    rows = []
    for index in range(count):
        number = next(_numbers)
        name = f"Osoba Numer {number}"
        decided = status in (SignatureStatus.APPROVED, SignatureStatus.REJECTED)
        rows.append(
            {
                "declaration_id": declaration_id, "kind": "person", "full_name": name, "email": f"o{number}@example.org",
                "email_key": f"o{number}@example.org", "public_name": True, "consents": {}, "status": status,
                "listed": status == SignatureStatus.APPROVED,
                "list_sort_key": sort_key(name) if status == SignatureStatus.APPROVED else "",
                "list_search_key": search_key(name) if status == SignatureStatus.APPROVED else "",
                "created_at": now - timedelta(minutes=number), "confirmed_at": now,
                "decided_at": now - timedelta(minutes=number) if decided else None,
                "approved_at": now - timedelta(minutes=number) if status == SignatureStatus.APPROVED else None,
                "decided_by_id": decided_by[index % len(decided_by)] if decided and decided_by else None,
            }
        )
    db.session.execute(insert(Signature), rows)
    db.session.commit()


def add_event_with_registrations(count, event_id=None):
    if event_id is None:
        coalition_id = current_declaration().coalition_id
        start = utcnow() + timedelta(days=20)
        gala = Event(coalition_id=coalition_id, slug="gala", title="Gala", starts_at=start, ends_at=start + timedelta(hours=3),
                     capacity=5000, status=EventStatus.PUBLISHED)
        db.session.add(gala)
        db.session.commit()
        event_id = gala.id
    statuses = list(RegistrationStatus)
    rows = []
    for index in range(count):
        number = next(_numbers)
        rows.append(
            {
                "event_id": event_id, "full_name": f"Gość {number}", "email": f"g{number}@example.org",
                "email_key": f"g{number}@example.org", "search_text": f"gosc {number}", "status": statuses[index % len(statuses)],
                "code": f"T{number:08d}", "consents": {}, "decided_by_id": None,
                "attended_at": utcnow() if index % 3 == 0 else None,
            }
        )
    db.session.execute(insert(Registration), rows)
    db.session.commit()
    return event_id


# ---- ordering and search on both databases ---------------------------------------------------


def test_polish_alphabetical_order_does_not_depend_on_the_database_collation(app, client, coalition, coordinator):
    """The test cluster collates in Polish (ICU): the sort key must still order a < ą < b, l < ł < m."""
    names = ["Żaneta Zając", "Azja Wschodnia", "Ąbc Test", "Bartek", "Lwowska Ola", "Łukasz Łoś", "Mateusz", "Zenon"]
    with app.app_context():
        for number, name in enumerate(names):
            _approved(coordinator, full_name=name, email=f"osoba{number}@example.org")
    page = client.get("/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie").get_data(as_text=True)
    assert _names(page) == [
        "Azja Wschodnia", "Ąbc Test", "Bartek", "Lwowska Ola", "Łukasz Łoś", "Mateusz", "Zenon", "Żaneta Zając",
    ]


@pytest.mark.parametrize("query", ["50%", "a_b", "back\\slash", "100%25"])
def test_like_wildcards_in_searches_match_only_themselves(app, client, coalition, coordinator, query):
    with app.app_context():
        _approved(coordinator, full_name="Zwykła Nazwa", email="z@example.org")
        _approved(coordinator, full_name="Fundacja 50% Lepiej a_b back\\slash", email="f@example.org")
    page = client.get("/sasiedztwa/sojusznicy", query_string={"q": query}).get_data(as_text=True)
    expected = [] if query == "100%25" else ["Fundacja 50% Lepiej a_b back\\slash"]
    assert _names(page) == expected


# ---- no N+1: the number of statements does not grow with the rows -----------------------------


def test_public_list_runs_the_same_statements_for_10_and_1000_allies(app, client, coalition, coordinator):
    urls = ["/sasiedztwa/sojusznicy", "/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie", "/sasiedztwa/sojusznicy?q=osoba",
            "/sasiedztwa/sojusznicy?strona=3", "/sasiedztwa/sojusznicy?dzielnica=xiii-podgorze", "/sasiedztwa/"]
    with app.app_context():
        add_signatures(10, SignatureStatus.APPROVED)
    few = {url: statements_for(app, client, url) for url in urls}
    with app.app_context():
        add_signatures(990, SignatureStatus.APPROVED)
    many = {url: statements_for(app, client, url) for url in urls}
    assert many == few
    assert max(few.values()) <= 8


@pytest.mark.parametrize("tab", ["confirmed", "unconfirmed", "approved", "rejected"])
def test_queue_tabs_run_the_same_statements_for_10_and_1000_rows(app, client, auth, coalition, tab):
    """Decided rows show who decided: 150 different coordinators, so lazy loading would show."""
    auth.login()
    with app.app_context():
        deciders = add_coordinators(150)
        add_signatures(10, tab, deciders)
        add_event_with_registrations(10)
    url = f"/panel/podpisy?stan={tab}"
    few = statements_for(app, client, url)
    with app.app_context():
        add_signatures(990, tab, deciders)
    many = statements_for(app, client, url)
    assert many == few
    assert few <= 10


@pytest.mark.parametrize("status", ["", "confirmed", "waiting"])
def test_registrations_page_runs_the_same_statements_for_10_and_1000_registrations(app, client, auth, coalition, status):
    auth.login()
    with app.app_context():
        event_id = add_event_with_registrations(10)
    urls = [f"/panel/wydarzenia/{event_id}?stan={status}", f"/panel/wydarzenia/{event_id}/wejscie?q=gosc"]
    few = [statements_for(app, client, url) for url in urls]
    with app.app_context():
        add_event_with_registrations(990, event_id)
    many = [statements_for(app, client, url) for url in urls]
    assert many == few
    assert max(few) <= 10
