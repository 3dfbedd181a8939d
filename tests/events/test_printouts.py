"""The event's printouts read back as a person sees them (pdftotext): the attendance list, the
record of who came and the badges. Rendering costs about a second each, so one module-scoped
app on SQLite renders each document once and the tests share them."""
import re
import secrets
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from koalicja import create_app
from koalicja.coalitions.models import Coalition
from koalicja.events.models import Event, EventStatus, Registration, RegistrationStatus
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator
from koalicja.timeutil import utcnow

from ..conftest import COORDINATOR_PASSWORD, SLUG
from ..pdf import MM, page_texts, page_words, require_pdf
from .conftest import make_event

# Written down in Polish alphabetical order by hand (Ć after C…, Ł after L, Ś after S, Ź and Ż
# after Z, ą after a, ó after o), so the test does not trust the sort key it checks.
FIRST_NAMES = ["Agata", "Cezary", "Czesław", "Ćma", "Dorota", "Lucyna", "Ludwik", "Łucja", "Mateusz", "Sara",
               "Szymon", "Śmiałek", "Zenon", "Źrebiec", "Żaneta"]
SURNAMES = ["Adamczyk", "Baran", "Bąk", "Czarnecka", "Ćwik", "Kowalska", "Lis", "Luty", "Łoś", "Nowak",
            "Ostrowska", "Sikora", "Szulc", "Śliwa", "Wolny", "Wójcik", "Zając", "Zieliński", "Źrebiec", "Żak"]
IN_POLISH_ORDER = [f"{first} {surname}" for first in FIRST_NAMES for surname in SURNAMES]  # 300 people
FUNDING = "Finansowane przez Unię Europejską"
LONG_NAME = "Maria Magdalena " + " ".join(["Konstantynopolitańczykowska-Wielkopolska"] * 4)
LONG_ORGANISATION = "Stowarzyszenie " + " ".join(["Przyjaciół Wszystkich Dzielnic Krakowa i Okolic"] * 6)
SMALL = [("Zenon Żak", "", True), ("Anna Nowak", "Rada Dzielnicy XIII", False), (LONG_NAME, LONG_ORGANISATION, True),
         ("Łucja Ćwiek", "", False)]


def _rows(event_id, people, attended=()):
    return [
        {
            "event_id": event_id, "full_name": name, "email": f"o{index}-{event_id}@example.org",
            "email_key": f"o{index}-{event_id}@example.org", "organisation": organisation,
            "status": RegistrationStatus.CONFIRMED, "code": secrets.token_hex(4).upper(), "consents": {},
            "attended_at": utcnow() if index in attended else None,
        }
        for index, (name, organisation) in enumerate(people)
    ]


@pytest.fixture(scope="module")
def printouts(tmp_path_factory):
    """The PDFs of two events: a list of 300 (plus one cancelled) and a small one with long names."""
    require_pdf()
    folder = tmp_path_factory.mktemp("printouts")
    logos = folder / "logos"
    logos.mkdir()
    shutil.copyfile(Path(__file__).parents[2] / "static" / "img" / "favicon.svg", logos / "logo.svg")
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'test.sqlite'}",
        "LOGO_FOLDER": str(logos), "RATELIMIT_ENABLED": False, "BOT_TRAP_ENABLED": False, "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_PROFILE": "CHEAPEST", "BASE_URL": "http://koalicja.test",
    })
    with app.app_context():
        db.create_all()
        db.session.add(Coalition(
            slug=SLUG, name="Koalicja na rzecz sąsiedztw", organiser="Fundacja", contact_email="k@example.org",
            funding_notice=FUNDING, logo="logo.svg", funder_logo="logo.svg",
        ))
        db.session.commit()
        create_coordinator("admin@example.org", "Administratorka", COORDINATOR_PASSWORD).is_admin = True
        db.session.commit()
    big = make_event(app, slug="zebranie", title="Zebranie mieszkańców")
    small = make_event(app, slug="gala", title="Gala Sojuszników")
    with app.app_context():
        people = [(name, "") for name in reversed(IN_POLISH_ORDER)] + [("Olga Odwołana", "")]
        rows = _rows(big, people)
        rows[-1]["status"] = RegistrationStatus.CANCELLED
        db.session.execute(insert(Registration), rows + _rows(small, [(n, o) for n, o, _ in SMALL], attended={0, 2}))
        db.session.commit()
    client = app.test_client()
    client.post("/panel/logowanie", data={"email": "admin@example.org", "password": COORDINATOR_PASSWORD})

    def pdf(url):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        return response.data

    yield {
        "list": pdf(f"/panel/wydarzenia/{big}/lista-obecnosci.pdf"),
        "record": pdf(f"/panel/wydarzenia/{small}/obecni.pdf"),
        "badges": pdf(f"/panel/wydarzenia/{small}/identyfikatory.pdf"),
        "labels": pdf(f"/panel/wydarzenia/{small}/identyfikatory.pdf?uklad=62x100"),
    }
    with app.app_context():
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()


ROW = re.compile(r"^\s*(\d+)\.(?:\s{2,}(\S(?:.*?\S)?))?(?:\s{2,}|$)")


def _numbered_rows(page):
    return [(int(match[1]), match[2]) for match in map(ROW.match, page.splitlines()) if match]


def test_every_registrant_once_in_polish_order_over_pages_with_the_header_on_each(printouts):
    pages = page_texts(printouts["list"])
    assert len(pages) >= 10  # 300 signing rows of 9 mm do not fit on a few pages
    rows = [row for page in pages for row in _numbered_rows(page)]
    names = [name for _number, name in rows if name in IN_POLISH_ORDER]
    assert names == IN_POLISH_ORDER  # each once, Ł after L, Ż last; the cancelled one is not there
    assert "Olga Odwołana" not in "".join(pages)
    # Numbered straight through, then ten empty rows for people who come without registering.
    assert [number for number, _name in rows] == list(range(1, 311))
    assert [name for _number, name in rows[300:]] == [None] * 10
    for number, page in enumerate(pages, start=1):
        assert "Koalicja na rzecz sąsiedztw" in page and "Lista obecności: Zebranie mieszkańców" in page
        assert "Imię i nazwisko" in page and "Podpis" in page  # the table's header repeats
        assert FUNDING in page and f"Strona {number} z {len(pages)}" in page
        numbers = [n for n, _name in _numbered_rows(page)]
        assert numbers == sorted(numbers) and numbers  # each page continues where the last ended


def test_the_record_after_the_event_marks_who_was_checked_in(printouts):
    (page,) = page_texts(printouts["record"])
    assert "Obecność: Gala Sojuszników" in page and "Obecność (wejście)" in page and "Podpis" not in page
    lines = {name: line for line in page.splitlines() for name in ("Zenon Żak", "Anna Nowak", "Łucja Ćwiek") if name in line}
    assert "tak," in lines["Zenon Żak"] and "—" in lines["Anna Nowak"] and "—" in lines["Łucja Ćwiek"]
    assert [number for number, _name in _numbered_rows(page)] == [1, 2, 3, 4]  # no empty rows afterwards
    assert "Obecne 2 osoby z 4 zapisanych." in page or "Obecnych 2" in page or "Obecne 2" in page


def _cells(layout):
    width, height = {"sheet": (105, 74), "label": (100, 62)}[layout]
    return width * MM, height * MM


def _badge_of(word_box, width, height):
    return int(word_box["xmin"] // width), int(word_box["ymin"] // height)


@pytest.mark.parametrize("document, layout", [("badges", "sheet"), ("labels", "label")])
def test_badges_hold_long_names_inside_the_badge(printouts, document, layout):
    width, height = _cells(layout)
    pages = page_words(printouts[document])
    assert len(pages) == (1 if layout == "sheet" else 4)
    texts_by_badge = {}
    for page_number, words in enumerate(pages):
        for text, box in words:
            column, row = _badge_of(box, width, height)
            # Nothing crosses the badge's edge (1 mm inside it): no overflow, no clipped text.
            assert column * width + MM <= box["xmin"] and box["xmax"] <= (column + 1) * width - MM, text
            assert row * height + MM <= box["ymin"] and box["ymax"] <= (row + 1) * height - MM, text
            texts_by_badge.setdefault((page_number, column, row), []).append((text, box))
    for words in texts_by_badge.values():
        # The event's line at the bottom stays clear: the name and organisation end above it.
        event_line = min(box["ymin"] for text, box in words if text == "Gala")
        assert all(box["ymax"] <= event_line + 0.5 for _text, box in words if box["ymin"] < event_line - 1)
    joined = ["".join(text for text, _box in words) for words in texts_by_badge.values()]
    for name, organisation, _attended in SMALL:
        # Every name whole on one badge (a long one wraps, maybe inside a word, never cut off).
        holder = [text for text in joined if name.replace(" ", "") in text]
        assert len(holder) == 1, name
        assert organisation.replace(" ", "") in holder[0]
        assert "GalaSojuszników" in holder[0]


def test_long_names_get_a_smaller_type_than_short_ones(printouts):
    words = page_words(printouts["badges"])[0]
    heights = {text: box["ymax"] - box["ymin"] for text, box in words}
    assert heights["Żak"] > 1.5 * heights["Magdalena"]


def test_printouts_are_for_the_coalitions_coordinators_only(app, client, auth, coalition):
    event_id = make_event(app)
    with app.app_context():
        other = Coalition(slug="inna", name="Inna koalicja", organiser="X", contact_email="x@example.org")
        db.session.add(other)
        db.session.commit()
        foreign = Event(
            coalition_id=other.id, slug="obce", title="Obce", starts_at=utcnow(), ends_at=utcnow() + timedelta(hours=1),
            status=EventStatus.PUBLISHED,
        )
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    for suffix in ("lista-obecnosci.pdf", "obecni.pdf", "identyfikatory.pdf"):
        assert client.get(f"/panel/wydarzenia/{event_id}/{suffix}").status_code == 302  # log in first
    auth.login()
    for suffix in ("lista-obecnosci.pdf", "obecni.pdf", "identyfikatory.pdf"):
        assert client.get(f"/panel/wydarzenia/{foreign_id}/{suffix}").status_code == 404
    assert client.get(f"/panel/wydarzenia/{event_id}/identyfikatory.pdf?uklad=a3").status_code == 404
    assert "lista-obecnosci.pdf" in client.get(f"/panel/wydarzenia/{event_id}").get_data(as_text=True)


def test_without_weasyprints_libraries_the_pdf_says_what_to_install(app, client, auth, coalition, monkeypatch):
    event_id = make_event(app)
    auth.login()
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` fails as without Pango
    response = client.get(f"/panel/wydarzenia/{event_id}/lista-obecnosci.pdf")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "PDF chwilowo niedostępny" in page and "libpango-1.0-0" in page and "make pdf" in page
    with app.app_context():
        assert db.session.scalar(select(Event.id).where(Event.id == event_id)) == event_id  # nothing else broke
