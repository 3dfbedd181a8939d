"""Registering for events: every state a person can meet, through HTTP and the domain functions."""
import csv
import io
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from koalicja.events.models import Registration, RegistrationStatus
from koalicja.events.operations import (
    Availability,
    RegistrationRefused,
    availability,
    cancel_registration,
    confirm_registration,
    expire_holds,
    register,
)
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.mail.operations import deliver_due
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import refresh_listing, sign_declaration
from koalicja.timeutil import utcnow

from ..conftest import csrf_token_from, current_declaration
from .conftest import event_url, load_event, make_event, register_http, registrations

MAX_AGE = 7 * 86400


def person(number, **extra):
    return {"full_name": f"Osoba {number}", "email": f"osoba{number}@example.org", **extra}


def last_link(kind):
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    return next(word for word in mail.body_text.split() if f"/wydarzenia/{kind}/" in word)


def token_of(link):
    return urlsplit(link).path.rsplit("/", 1)[1]


def test_whole_journey_with_email_ics_qr_and_cancel(app, client, event, smtp_server):
    response = register_http(client, companions="0")
    assert response.status_code == 303
    assert "Sprawdź pocztę" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        deliver_due()
    [invite] = smtp_server.messages
    assert invite["Subject"] == "Potwierdź zapis: Gala Sojuszników Sąsiedztw"
    body = invite.get_body(("plain",)).get_content()
    confirm_path = urlsplit(next(w for w in body.split() if "/wydarzenia/potwierdz/" in w)).path

    page = client.get(confirm_path)
    assert "Potwierdzam" in page.get_data(as_text=True)
    assert registrations(app, event) == [("Zofia Łukasik", "pending")]
    done = client.post(confirm_path, data={"csrf_token": csrf_token_from(page)})
    assert done.status_code == 303
    assert "Masz miejsce" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert registrations(app, event) == [("Zofia Łukasik", "confirmed")]

    with app.app_context():
        deliver_due()
    ticket = smtp_server.messages[-1]
    assert ticket["Subject"] == "Do zobaczenia: Gala Sojuszników Sąsiedztw"
    parts = {part.get_filename(): part for part in ticket.walk() if part.get_filename()}
    calendar = icalendar.Calendar.from_ical(parts["wydarzenie.ics"].get_content())
    [entry] = calendar.walk("VEVENT")
    assert entry.decoded("dtstart").tzinfo.key == "Europe/Warsaw"
    assert parts["kod-wejscia.png"].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    html = ticket.get_body(("html",)).get_content()
    assert 'src="cid:kod-qr@koalicja"' in html

    cancel_link = next(w for w in ticket.get_body(("plain",)).get_content().split() if "/wydarzenia/rezygnacja/" in w)
    cancel_path = urlsplit(cancel_link).path
    cancel_page = client.get(cancel_path)
    assert "Tak, rezygnuję" in cancel_page.get_data(as_text=True)
    assert registrations(app, event) == [("Zofia Łukasik", "confirmed")]  # GET changes nothing
    cancelled = client.post(cancel_path, data={"csrf_token": csrf_token_from(cancel_page)})
    assert cancelled.status_code == 303
    assert "Zapis jest odwołany" in client.get(cancelled.headers["Location"]).get_data(as_text=True)
    assert registrations(app, event) == [("Zofia Łukasik", "cancelled")]


def test_ics_download_has_warsaw_times(app, client, coalition):
    from datetime import datetime

    from koalicja.timeutil import warsaw_to_utc

    make_event(app, starts_at=warsaw_to_utc(datetime(2027, 7, 1, 18, 30)), ends_at=warsaw_to_utc(datetime(2027, 7, 1, 21, 0)))
    response = client.get(event_url() + "/kalendarz.ics")
    assert response.mimetype == "text/calendar"
    [entry] = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    start = entry.decoded("dtstart")
    assert (start.hour, start.minute, start.tzinfo) == (18, 30, ZoneInfo("Europe/Warsaw"))
    assert start.utcoffset() == timedelta(hours=2)  # summer time
    assert entry.decoded("dtend").hour == 21
    assert str(entry["summary"]) == "Gala Sojuszników Sąsiedztw"
    assert "Centrum Obywatelskie" in str(entry["location"])


def test_full_event_puts_people_on_the_waiting_list_and_promotes_after_cancellation(app, event):
    with app.app_context():
        gala = load_event(event)
        first = [register(gala, person(n)).registration for n in range(3)]
        assert availability(gala) == Availability.FULL
        waiting = register(gala, person(3)).registration
        later = register(gala, person(4)).registration
        assert waiting.status == RegistrationStatus.WAITING
        mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert "miejsce w kolejce: 2" in mail.body_text

        cancel_registration(first[0])
        assert waiting.status == RegistrationStatus.OFFERED and waiting.hold_expires_at
        assert later.status == RegistrationStatus.WAITING
        offer = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert offer.recipient == "osoba3@example.org" and offer.subject.startswith("Zwolniło się miejsce")
        confirm_registration(token_of(last_link("potwierdz")), MAX_AGE)
        assert waiting.status == RegistrationStatus.CONFIRMED


def test_waiting_list_skips_whoever_does_not_fit(app, coalition):
    event_id = make_event(app, capacity=3, max_companions=2)
    with app.app_context():
        gala = load_event(event_id)
        register(gala, person(1, companions=1))
        leaving = register(gala, person(2)).registration
        family = register(gala, person(3, companions=2)).registration
        single = register(gala, person(4)).registration
        assert (family.status, single.status) == ("waiting", "waiting")
        cancel_registration(leaving)
        # One place is free: the family of three does not fit, the next single person does.
        assert (family.status, single.status) == ("waiting", "offered")


def test_hold_runs_out_and_the_place_passes_on(app, coalition):
    event_id = make_event(app, capacity=1, hold_hours=2)
    with app.app_context():
        gala = load_event(event_id)
        now = utcnow()
        holder = register(gala, person(1), now=now).registration
        holder_token = token_of(last_link("potwierdz"))
        waiting = register(gala, person(2), now=now).registration
        assert waiting.status == "waiting"
        assert expire_holds(now=now + timedelta(hours=3)) == 1
        assert holder.status == "expired" and waiting.status == "offered"
        with pytest.raises(Exception) as problem:
            confirm_registration(holder_token, MAX_AGE)
        assert type(problem.value).__name__ in ("LinkUsed", "HoldExpired")


def test_closed_and_not_yet_open_windows_are_explained(app, client, coalition):
    now = utcnow()
    make_event(app, registration_opens_at=now + timedelta(days=1))
    page = client.get(event_url()).get_data(as_text=True)
    assert "Zapisy ruszą" in page and 'name="full_name"' not in page
    make_event(app, slug="zamkniete", registration_closes_at=now - timedelta(minutes=1))
    page = client.get(event_url("zamkniete")).get_data(as_text=True)
    assert "Zapisy są już zamknięte." in page
    response = register_http(client, slug="zamkniete")
    assert response.status_code == 422
    assert registrations(app, 2) == []


def test_allies_only_event_recognises_approved_signers_by_email(app, client, coalition):
    event_id = make_event(app, allies_only=True)
    refused = register_http(client, email="obcy@example.org")
    assert refused.status_code == 422
    assert "tylko dla sojuszników" in refused.get_data(as_text=True)
    with app.app_context():
        signature = sign_declaration(
            current_declaration(),
            {"kind": "person", "full_name": "Ala", "email": "Ala.Sojuszniczka@gmail.com", "public_name": True},
        ).signature
        signature.status = SignatureStatus.APPROVED
        refresh_listing(signature)
        db.session.commit()
    accepted = register_http(client, email="alasojuszniczka+gala@gmail.com")
    assert accepted.status_code == 303
    assert registrations(app, event_id) == [("Zofia Łukasik", "pending")]


def test_places_reserved_for_allies(app, coalition):
    event_id = make_event(app, capacity=3, reserved_for_allies=2)
    with app.app_context():
        gala = load_event(event_id)
        assert register(gala, person(1)).registration.status == "pending"
        assert register(gala, person(2)).registration.status == "waiting"


def test_organisation_cap(app, client, coalition):
    event_id = make_event(app, capacity=10, max_per_organisation=2)
    assert register_http(client, email="a@ngo.org", organisation="Fundacja Ąę").status_code == 303
    assert register_http(client, email="b@ngo.org", organisation="fundacja ae").status_code == 303
    third = register_http(client, email="c@ngo.org", organisation="FUNDACJA ĄĘ")
    assert third.status_code == 422
    assert "Limit osób z tej organizacji (2) jest już wykorzystany." in third.get_data(as_text=True)
    assert len(registrations(app, event_id)) == 2


def test_approval_required(app, coalition, coordinator):
    from koalicja.coordinators.models import Coordinator
    from koalicja.events.operations import decide_registration

    event_id = make_event(app, requires_approval=True)
    with app.app_context():
        gala = load_event(event_id)
        registration = register(gala, person(1)).registration
        confirm_registration(token_of(last_link("potwierdz")), MAX_AGE)
        assert registration.status == "approval"
        decide_registration(registration, True, db.session.get(Coordinator, coordinator))
        assert registration.status == "confirmed"
        ticket = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert ticket.subject.startswith("Do zobaczenia")


def test_cancelled_event_notifies_everyone_and_stops_registration(app, client, coalition):
    from koalicja.events.operations import cancel_event

    event_id = make_event(app, capacity=1)
    with app.app_context():
        gala = load_event(event_id)
        register(gala, person(1))
        register(gala, person(2))
        assert cancel_event(gala) == 2
        subjects = db.session.scalars(select(OutboxMessage.subject).where(OutboxMessage.template == "event_cancelled_to_registrant")).all()
        assert len(subjects) == 2
    page = client.get(event_url()).get_data(as_text=True)
    assert "To wydarzenie zostało odwołane." in page and 'name="full_name"' not in page
    assert register_http(client).status_code == 422


def test_registering_twice_creates_no_duplicate(app, client, event):
    register_http(client)
    register_http(client, email="ZOFIA@example.org")
    assert registrations(app, event) == [("Zofia Łukasik", "pending")]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"full_name": ""}, "Wpisz imię i nazwisko."),
        ({"email": "nie-mail"}, "To nie wygląda na adres e-mail."),
        ({"accept_privacy": ""}, "Bez tej zgody nie możemy przyjąć zapisu."),
        ({"needs": "x" * 1001}, "Wpisz najwyżej 1000 znaków."),
    ],
)
def test_bad_registration_input_is_explained(app, client, event, fields, message):
    response = register_http(client, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert registrations(app, event) == []


def test_companions_limited_by_the_event(app, client, coalition):
    make_event(app, max_companions=1)
    response = register_http(client, companions="3")
    assert "najwyżej 1 os. towarzyszących" in response.get_data(as_text=True)
    assert register_http(client, companions="1").status_code == 303


def test_events_list_and_archive(app, client, coalition):
    make_event(app)
    past_start = utcnow() - timedelta(days=30)
    make_event(app, slug="stara", title="Zeszłoroczna wizyta", starts_at=past_start, ends_at=past_start + timedelta(hours=2))
    make_event(app, slug="szkic", title="Szkic", status="draft")
    listing = client.get("/sasiedztwa/wydarzenia").get_data(as_text=True)
    assert "Gala Sojuszników Sąsiedztw" in listing and "Wolne miejsca: 3" in listing
    assert "Zeszłoroczna wizyta" not in listing and "Szkic" not in listing
    assert "Zeszłoroczna wizyta" in client.get("/sasiedztwa/wydarzenia/archiwum").get_data(as_text=True)
    assert client.get(event_url("szkic")).status_code == 404


def test_needs_are_not_shown_publicly(app, client, event):
    register_http(client, needs="Proszę o pętlę indukcyjną przy scenie")
    assert "pętlę indukcyjną przy scenie" not in client.get(event_url()).get_data(as_text=True)


def test_csv_export_keeps_polish_letters(app, client, auth, event):
    register_http(client, full_name="Źdźbło Łąkowa", organisation="=HYPERLINK(1)")
    auth.login()
    response = client.get(f"/panel/wydarzenia/{event}/zapisy.csv")
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Imię i nazwisko"
    assert rows[1][0] == "Źdźbło Łąkowa"
    assert rows[1][2] == "'=HYPERLINK(1)"  # a formula stays text in a spreadsheet
    assert rows[1][4] == "Czeka na potwierdzenie e-mailem"


def test_registration_refusal_reasons_in_the_domain(app, coalition):
    event_id = make_event(app, status="cancelled")
    with app.app_context():
        with pytest.raises(RegistrationRefused) as refused:
            register(load_event(event_id), person(1))
        assert refused.value.reason == "cancelled"
        assert db.session.scalar(select(Registration.id)) is None
