"""Every e-mail a registrant gets says what it is about in its subject, names the event with its
page, and (while the place is theirs to give up) carries a cancel link that works; the links to
confirm work; the ticket carries the calendar file and the QR code the door reads."""
import base64
import re
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Registration
from koalicja.events.operations import (
    cancel_event,
    confirm_registration,
    decide_registration,
    message_registrants,
    register,
)
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage

from .conftest import load_event, make_event

MAX_AGE = 7 * 86400
TITLE = "Gala Sojuszników Sąsiedztw"
EVENT_PAGE = "http://koalicja.test/sasiedztwa/wydarzenia/gala"


def person(number):
    return {"full_name": f"Osoba {number}", "email": f"osoba{number}@example.org"}


def mails(email):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email).order_by(OutboxMessage.id)).all()


def links(message, kind):
    return re.findall(rf"http://koalicja\.test/wydarzenia/{kind}/\S+", message.body_text)


def token_in(link):
    return urlsplit(link).path.rsplit("/", 1)[1]


def check_common(message, subject, cancel_link=True):
    assert message.subject == subject
    assert TITLE in message.body_text and EVENT_PAGE in message.body_text and EVENT_PAGE in message.body_html
    assert bool(links(message, "rezygnacja")) == cancel_link


def test_the_emails_of_a_registration_from_the_link_to_the_ticket(app, client, coalition):
    event_id = make_event(app, capacity=2, max_companions=1, hold_hours=5)
    with app.app_context():
        first = register(load_event(event_id), {**person(1), "companions": 1}).registration
        register(load_event(event_id), person(2))  # waiting
        register(load_event(event_id), person(1))  # again, within the interval: no second mail yet
        [link] = mails("osoba1@example.org")
        check_common(link, f"Potwierdź zapis: {TITLE}")
        assert "5 godz." in link.body_text and "listę oczekujących" not in link.body_text
        [waiting] = mails("osoba2@example.org")
        check_common(waiting, f"Potwierdź zapis: {TITLE}")
        assert "miejsce w kolejce: 1" in waiting.body_text

        confirm_registration(token_in(links(link, "potwierdz")[0]), MAX_AGE)
        ticket = mails("osoba1@example.org")[-1]
        check_common(ticket, f"Do zobaczenia: {TITLE}")
        assert first.code in ticket.body_text and "Osoby towarzyszące: 1." in ticket.body_text
        assert [(a["filename"], a["content_type"]) for a in ticket.attachments] == [
            ("wydarzenie.ics", "text/calendar"), ("kod-wejscia.png", "image/png")
        ]
        assert ticket.attachments[1]["cid"] == "kod-qr@koalicja" and 'src="cid:kod-qr@koalicja"' in ticket.body_html
        assert base64.b64decode(ticket.attachments[1]["data"]).startswith(b"\x89PNG")
        assert b"SUMMARY:Gala" in base64.b64decode(ticket.attachments[0]["data"])
        cancel_link = links(ticket, "rezygnacja")[0]

    assert "Osoba 1, czy na pewno chcesz zrezygnować?" in client.get(urlsplit(cancel_link).path).get_data(as_text=True)
    with app.app_context():
        registration = db.session.get(Registration, first.id)
        registration.last_mailed_at -= timedelta(days=1)
        db.session.commit()
        register(load_event(event_id), person(1))
        exists = mails("osoba1@example.org")[-1]
        check_common(exists, f"Jesteś już zapisana/y: {TITLE}")


def test_the_emails_of_an_offer_an_approval_a_rejection_a_message_and_a_cancellation(app, coalition, coordinator):
    event_id = make_event(app, capacity=1, requires_approval=True)
    with app.app_context():
        boss = db.session.get(Coordinator, coordinator)
        asking = register(load_event(event_id), person(1)).registration
        register(load_event(event_id), person(2))  # waiting
        confirm_registration(token_in(links(mails("osoba1@example.org")[0], "potwierdz")[0]), MAX_AGE)
        check_common(mails("osoba1@example.org")[-1], f"Zgłoszenie czeka na akceptację: {TITLE}")

        decide_registration(asking, False, boss)
        check_common(mails("osoba1@example.org")[-1], f"Zgłoszenie nie zostało przyjęte: {TITLE}", cancel_link=False)
        offer = mails("osoba2@example.org")[-1]
        check_common(offer, f"Zwolniło się miejsce: {TITLE}")
        assert links(offer, "potwierdz")

        message_registrants(load_event(event_id), "Zmiana sali", "Spotykamy się w **sali B**.", "wszyscy")
        message = mails("osoba2@example.org")[-1]
        check_common(message, "Zmiana sali")
        assert "Spotykamy się w **sali B**." in message.body_text and "<strong>sali B</strong>" in message.body_html

        cancel_event(load_event(event_id))
        cancelled = mails("osoba2@example.org")[-1]
        check_common(cancelled, f"Wydarzenie odwołane: {TITLE}", cancel_link=False)
        assert "kontakt@example.org" in cancelled.body_text
