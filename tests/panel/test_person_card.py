"""A person's card: everything held for one address in the coalitions the coordinator serves,
reached by an entry's number (never the address), nothing of other coalitions, never cached."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event, EventStatus
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage, OutboxStatus
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import Decision, decide_signature, sign_declaration
from koalicja.timeutil import utcnow

from ..conftest import SLUG, VALID_PERSON, Auth, csrf_token_from, current_declaration
from .people import FOREIGN, SECOND, add_coalitions


def event_of(slug, title):
    coalition = db.session.scalar(select(Coalition).where(Coalition.slug == slug))
    start = utcnow().replace(microsecond=0) + timedelta(days=10)
    event = Event(coalition=coalition, slug=f"gala-{slug}", title=title, starts_at=start, ends_at=start + timedelta(hours=3),
                  capacity=10, status=EventStatus.PUBLISHED)
    db.session.add(event)
    db.session.commit()
    return event


@pytest.fixture
def person(app, coalition, coordinator):
    """Zofia signed in all three coalitions (the last one not served) and registered for two events."""
    add_coalitions(app)
    with app.app_context():
        here = sign_declaration(current_declaration(), VALID_PERSON).signature
        db.session.execute(db.update(OutboxMessage).values(status=OutboxStatus.SENT, sent_at=utcnow()))
        here.status = SignatureStatus.CONFIRMED
        db.session.commit()
        decide_signature(here, Decision.APPROVE, db.session.get(Coordinator, coordinator))  # audited, mails a welcome
        sign_declaration(current_declaration(SECOND), {**VALID_PERSON, "email": "Zofia@Example.org", "city": "Wrocław"})
        sign_declaration(current_declaration(FOREIGN), {**VALID_PERSON, "city": "Obcowo"})
        sign_declaration(current_declaration(), {**VALID_PERSON, "full_name": "Inna Osoba", "email": "inna@example.org"})
        zofia = {"full_name": "Zofia Łukasik", "email": "zofia@example.org", "needs": "pętla indukcyjna"}
        register(event_of(SLUG, "Gala Sojuszników Sąsiedztw"), zofia)
        register(event_of(FOREIGN, "Piknik obcej koalicji"), zofia)
        return here.id


def test_the_card_shows_everything_of_the_address_in_the_coalitions_served_and_nothing_else(app, client, auth, person):
    auth.login()
    response = client.get(f"/panel/osoby/{person}")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    page = response.get_data(as_text=True)
    # Both signatures of the mailbox in the coalitions served, with their versions and consents.
    assert "Koalicja na rzecz sąsiedztw: Deklaracja współpracy" in page
    assert "Koalicja na rzecz reintegracji: Wyrażenie woli" in page and "Wrocław" in page
    assert "Podpisy (2)" in page and "Zatwierdzony" in page and "Niepotwierdzony e-mailem" in page
    assert "Wersja 1" in page
    assert "Zgoda na pokazanie imienia i nazwiska" in page and "Odcisk treści deklaracji (SHA-256)" in page
    # The registration for the coalition's event, with what only coordinators see.
    assert "Zapisy na wydarzenia (1)" in page and "Gala Sojuszników Sąsiedztw" in page and "pętla indukcyjna" in page
    # The e-mails: subject, state and time, never the content (the link in the confirmation).
    assert "Potwierdź podpis pod deklaracją: Koalicja na rzecz sąsiedztw" in page
    assert "Witamy w gronie sojuszników: Koalicja na rzecz sąsiedztw" in page
    assert "wysłana" in page and "czeka na wysłanie" in page
    assert "/potwierdz/" not in page
    # Event mail names no coalition in the outbox: like the RODO export, only administrators see it.
    assert "Potwierdź zapis: Gala Sojuszników Sąsiedztw" not in page
    # The audit log's entries about these entries.
    assert "Dziennik działań (1)" in page and "Zatwierdzenie" in page
    # Nothing of the coalition not served, nor of another person.
    for stranger in ("Obca", "Obcowo", "Piknik obcej koalicji", "Inna Osoba", "inna@example.org"):
        assert stranger not in page


def test_the_card_of_another_coalition_s_entry_is_404_and_the_export_starts_from_the_card(app, client, auth, person):
    with app.app_context():
        foreign_id = db.session.scalar(select(Signature.id).where(Signature.city == "Obcowo"))
    auth.login()
    assert client.get(f"/panel/osoby/{foreign_id}").status_code == 404
    assert client.get("/panel/osoby/999999").status_code == 404
    card = client.get(f"/panel/osoby/{person}")
    page = card.get_data(as_text=True)
    assert 'action="/panel/dane-osobowe/"' in page and 'name="email" value="zofia@example.org"' in page
    export = client.post("/panel/dane-osobowe/", data={"email": "zofia@example.org", "csrf_token": csrf_token_from(card)})
    data = json.loads(export.get_data(as_text=True))
    assert sorted(s["coalition"] for s in data["signatures"]) == ["Koalicja na rzecz reintegracji", "Koalicja na rzecz sąsiedztw"]
    # The queue links each entry to its card.
    assert f'href="/panel/osoby/{person}"' in client.get("/panel/podpisy?stan=approved").get_data(as_text=True)
    # An administrator sees every coalition's part and the event mail too.
    with app.app_context():
        create_coordinator("admin@example.org", "Administratorka", "haslo-administratorki").is_admin = True
        db.session.commit()
    client.post("/panel/wyloguj", data={"csrf_token": csrf_token_from(card)})
    Auth(client).login("admin@example.org", "haslo-administratorki")
    page = client.get(f"/panel/osoby/{person}").get_data(as_text=True)
    assert "Podpisy (3)" in page and "Obcowo" in page and "Piknik obcej koalicji" in page
    assert "Potwierdź zapis: Gala Sojuszników Sąsiedztw" in page and "Inna Osoba" not in page
