"""Meetings of the working group: an event marked as a members' meeting with its agenda, its
attendance from check-in, its minutes (text and a PDF scan) after it, public once published."""
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.events.meetings import MinutesNoLongerApplies, save_minutes, set_minutes_published
from koalicja.events.models import Event
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.timeutil import utcnow

from ..conftest import SLUG, csrf_token_from
from .conftest import load_event, make_event

SCAN_LIMIT = 50_000
# A real (minimal) PDF: header, catalog, pages tree, one empty page, cross-reference table, trailer.
PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000056 00000 n \n0000000111 00000 n \n"
    b"trailer <</Size 4 /Root 1 0 R>>\nstartxref\n182\n%%EOF\n"
)
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."
MEETINGS = f"/{SLUG}/posiedzenia"
MINUTES_TEXT = "Ustalenia:\n\n1. Partnerem wiodącym zostaje **Fundacja Testowa**."


@pytest.fixture
def app_config(tmp_path):
    return {"SCAN_FOLDER": str(tmp_path / "scans"), "SCAN_MAX_BYTES": SCAN_LIMIT, "MAX_CONTENT_LENGTH": 4 * SCAN_LIMIT}


def stored_files(app):
    folder = Path(app.config["SCAN_FOLDER"])
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def make_meeting(app, slug="posiedzenie-marzec", days_ago=1, **overrides):
    """A published members' meeting that started `days_ago` days ago (negative: in the future)."""
    start = utcnow().replace(microsecond=0) - timedelta(days=days_ago)
    values = {
        "slug": slug,
        "title": f"Posiedzenie grupy roboczej ({slug})",
        "is_members_meeting": True,
        "agenda": "1. Otwarcie\n2. Wybór **partnera wiodącego**",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "capacity": None,
    }
    return make_event(app, **(values | overrides))


def registered_then_held(app, people):
    """A meeting with these registrations, registered while it was ahead, now a day behind us."""
    event_id = make_meeting(app, days_ago=-3)
    ids = []
    with app.app_context():
        for name, email in people:
            ids.append(register(load_event(event_id), {"full_name": name, "email": email}).registration.id)
        event = load_event(event_id)
        event.starts_at -= timedelta(days=4)
        event.ends_at -= timedelta(days=4)
        db.session.commit()
    return event_id, ids


def post_minutes(client, event_id, text=MINUTES_TEXT, scan=None, filename="protokol.pdf", **fields):
    url = f"/panel/wydarzenia/{event_id}/protokol"
    data = {"csrf_token": csrf_token_from(client.get(url)), "minutes": text, **fields}
    if scan is not None:
        data["scan"] = (io.BytesIO(scan), filename)
    return client.post(url, data=data, content_type="multipart/form-data")


def audit_summaries(app):
    with app.app_context():
        return [entry.summary for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_event_form_marks_a_members_meeting_with_its_agenda(app, client, auth, coalition):
    auth.login()
    token = csrf_token_from(client.get("/panel/wydarzenia/nowe"))
    response = client.post(
        "/panel/wydarzenia/nowe",
        data={
            "csrf_token": token,
            "title": "Posiedzenie grupy roboczej",
            "starts_at": "2027-03-10T17:00",
            "ends_at": "2027-03-10T19:00",
            "hold_hours": "48",
            "is_members_meeting": "y",
            "agenda": "1. Otwarcie\n2. Wybór **partnera wiodącego**",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.is_members_meeting and event.agenda == "1. Otwarcie\n2. Wybór **partnera wiodącego**"
    client.post(f"/panel/wydarzenia/{event.id}/publikuj", data={"csrf_token": auth.csrf()})
    panel = client.get(f"/panel/wydarzenia/{event.id}").get_data(as_text=True)
    assert f"/panel/wydarzenia/{event.id}/protokol" in panel  # the way to the minutes and decisions
    public = client.get(f"/{SLUG}/wydarzenia/posiedzenie-grupy-roboczej").get_data(as_text=True)
    assert "Porządek obrad" in public and "Wybór <strong>partnera wiodącego</strong>" in public
    assert "posiedzenie członków i członkiń koalicji" in public

    ordinary = make_event(app, agenda="Nie do pokazania")  # an agenda left on an ordinary event stays hidden
    page = client.get(f"/{SLUG}/wydarzenia/gala").get_data(as_text=True)
    assert "Porządek obrad" not in page and "Nie do pokazania" not in page
    assert client.get(f"/panel/wydarzenia/{ordinary}/protokol").status_code == 404


def test_minutes_with_their_pdf_are_for_coordinators_until_published(app, client, auth, coalition):
    event_id, (zofia, _adam, ewa) = registered_then_held(
        app, [("Zofia Łukasik", "zofia@example.org"), ("Adam Nowak", "adam@example.org"), ("Ewa Kot", "ewa@example.org")]
    )
    auth.login()
    for registration_id in (zofia, ewa):  # checked in at the door
        client.post(f"/panel/wydarzenia/zapisy/{registration_id}/obecnosc", data={"attended": "1", "csrf_token": auth.csrf()})
    page = client.get(f"/panel/wydarzenia/{event_id}/protokol").get_data(as_text=True)
    assert "Obecność (według listy przy wejściu): 2" in page
    assert "Zofia Łukasik" in page and "Ewa Kot" in page and "Adam Nowak" not in page

    response = post_minutes(client, event_id, scan=PDF)
    assert response.status_code == 303, response.get_data(as_text=True)
    [stored] = stored_files(app)
    with app.app_context():
        event = load_event(event_id)
        assert event.minutes == MINUTES_TEXT and event.minutes_file == stored and event.minutes_published_at is None
    assert audit_summaries(app)[-2:] == [
        "Posiedzenie grupy roboczej (posiedzenie-marzec): zapisano protokół",
        "Posiedzenie grupy roboczej (posiedzenie-marzec): dołączono skan protokołu (PDF)",
    ]

    visitor = app.test_client()
    listing = visitor.get(MEETINGS).get_data(as_text=True)
    assert "Posiedzenie grupy roboczej (posiedzenie-marzec)" in listing
    assert "Wybór <strong>partnera wiodącego</strong>" in listing
    assert "Protokół nie jest jeszcze opublikowany." in listing
    assert "Fundacja Testowa</strong>" not in listing and "protokol.pdf" not in listing
    pdf_url = f"{MEETINGS}/posiedzenie-marzec/protokol.pdf"
    assert visitor.get(pdf_url).status_code == 404
    assert visitor.get(f"/panel/wydarzenia/{event_id}/protokol.pdf").status_code == 302  # to the login
    with client.get(f"/panel/wydarzenia/{event_id}/protokol.pdf") as own:
        assert own.status_code == 200 and own.data == PDF

    client.post(f"/panel/wydarzenia/{event_id}/protokol/publikacja", data={"publish": "1", "csrf_token": auth.csrf()})
    listing = visitor.get(MEETINGS).get_data(as_text=True)
    assert "Partnerem wiodącym zostaje <strong>Fundacja Testowa</strong>." in listing
    assert f'href="{pdf_url}"' in listing
    assert "<dd>2</dd>" in listing  # attendance: the two checked in
    with visitor.get(pdf_url) as download:
        assert download.status_code == 200 and download.data == PDF
        assert download.mimetype == "application/pdf"
        assert download.headers["Content-Disposition"] == "attachment; filename=protokol-posiedzenie-marzec.pdf"
    assert audit_summaries(app)[-1] == "Posiedzenie grupy roboczej (posiedzenie-marzec): opublikowano protokół"

    # A new scan replaces the old file; removing it leaves none, and the public link goes.
    post_minutes(client, event_id, scan=PDF + b"\n% druga wersja\n")
    [replaced] = stored_files(app)
    assert replaced != stored
    post_minutes(client, event_id, remove_scan="y")
    assert stored_files(app) == []
    assert visitor.get(pdf_url).status_code == 404
    assert "Fundacja Testowa</strong>" in visitor.get(MEETINGS).get_data(as_text=True)  # the text stays published

    client.post(f"/panel/wydarzenia/{event_id}/protokol/publikacja", data={"publish": "0", "csrf_token": auth.csrf()})
    assert "Protokół nie jest jeszcze opublikowany." in visitor.get(MEETINGS).get_data(as_text=True)


@pytest.mark.one_engine
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (EXECUTABLE, "Ten plik nie jest dokumentem PDF (sprawdzamy jego zawartość, nie nazwę). Wybierz plik PDF."),
        (PDF + b"0" * SCAN_LIMIT, "Plik jest za duży"),
    ],
)
def test_a_file_that_is_not_a_small_pdf_is_refused_and_the_text_kept(app, client, auth, coalition, content, message):
    event_id = make_meeting(app)
    auth.login()
    response = post_minutes(client, event_id, text="Nasze ustalenia z posiedzenia", scan=content)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert "Nasze ustalenia z posiedzenia</textarea>" in page
    assert stored_files(app) == []
    with app.app_context():
        assert load_event(event_id).minutes == ""


def test_minutes_wait_for_the_meeting_to_start_and_for_something_to_publish(app, client, auth, coalition):
    ahead = make_meeting(app, slug="kolejne", days_ago=-2)
    held = make_meeting(app)
    auth.login()
    page = client.get(f"/panel/wydarzenia/{ahead}/protokol").get_data(as_text=True)
    assert "Protokół dodasz po rozpoczęciu posiedzenia." in page and 'name="minutes"' not in page
    response = post_minutes(client, ahead)
    assert response.status_code == 422
    assert "Protokół można dodać dopiero po rozpoczęciu posiedzenia." in response.get_data(as_text=True)

    def publish(event_id, value):
        client.post(f"/panel/wydarzenia/{event_id}/protokol/publikacja", data={"publish": value, "csrf_token": auth.csrf()})
        return client.get(f"/panel/wydarzenia/{event_id}/protokol").get_data(as_text=True)

    assert "Najpierw zapisz treść protokołu albo dołącz jego skan." in publish(held, "1")
    assert "Protokół nie jest opublikowany." in publish(held, "0")
    post_minutes(client, held, text="Krótko.")
    assert "Protokół jest opublikowany." in publish(held, "1")
    assert "Protokół jest już opublikowany." in publish(held, "1")
    with app.app_context():
        assert load_event(ahead).minutes == "" and load_event(held).minutes_published_at is not None

    client.post(f"/panel/wydarzenia/{held}/odwolaj", data={"csrf_token": auth.csrf(), "confirm": "tak"})
    response = post_minutes(client, held, text="Po odwołaniu")
    assert "Protokół dodaje się do opublikowanego posiedzenia, które się odbyło." in response.get_data(as_text=True)
    with app.app_context():
        assert load_event(held).minutes == "Krótko."


def test_only_members_meetings_have_minutes(app, coalition, coordinator):
    event_id = make_event(app, starts_at=utcnow() - timedelta(days=1), ends_at=utcnow() - timedelta(hours=20))
    with app.app_context():
        by = db.session.get(Coordinator, coordinator)
        changes = (lambda event: save_minutes(event, "Tekst", by=by), lambda event: set_minutes_published(event, True, by=by))
        for change in changes:
            with pytest.raises(MinutesNoLongerApplies) as refused:
                change(load_event(event_id))
            assert str(refused.value.message) == "To wydarzenie nie jest posiedzeniem członków i członkiń koalicji."
        assert load_event(event_id).minutes == ""


def test_the_public_list_shows_past_meetings_only(app, client, coalition):
    make_meeting(app, slug="odbyte", minutes="Ukryty", minutes_published_at=None)
    make_meeting(app, slug="przyszle", days_ago=-5)
    make_meeting(app, slug="robocze", status="draft")
    make_meeting(app, slug="odwolane", status="cancelled")
    make_meeting(app, slug="starsze", days_ago=40, minutes="Jawne ustalenia", minutes_published_at=utcnow())
    yesterday = utcnow() - timedelta(days=1)
    make_event(app, slug="zwykle", title="Zwykłe spotkanie", starts_at=yesterday - timedelta(hours=2), ends_at=yesterday)
    page = client.get(MEETINGS).get_data(as_text=True)
    assert page.index("(odbyte)") < page.index("(starsze)")  # latest first
    for hidden in ("(przyszle)", "(robocze)", "(odwolane)", "Zwykłe spotkanie", "Ukryty"):
        assert hidden not in page
    assert "Jawne ustalenia" in page
    assert client.get(f"/{SLUG}/wydarzenia/archiwum").get_data(as_text=True).count(MEETINGS) == 1
