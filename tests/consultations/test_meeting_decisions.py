"""A decision taken at a members' meeting: recorded as a consultation from the meeting's panel
page, the voices entered as given "na posiedzeniu" (the members checked in at the door listed
first), closed by the coordinator, its outcome shown like any consultation's, every step audited."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from koalicja.consultations.models import Consultation, ConsultationMember
from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import Registration
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.timeutil import utcnow

from ..conftest import csrf_token_from
from ..events.conftest import load_event, make_event
from .conftest import ORGANISATION, ROLL_SIZE, member_of, option_id

TITLE = "Przyjęcie regulaminu grupy roboczej"


def held_meeting(app, attended=(), registered=(), **overrides):
    """A members' meeting that ended yesterday; `attended` (name, e-mail) were checked in at its
    door, `registered` only registered. Returns its id."""
    event_id = make_event(app, slug="posiedzenie", title="Posiedzenie grupy roboczej", is_members_meeting=True, capacity=None)
    with app.app_context():
        for name, email in (*attended, *registered):
            registration = register(load_event(event_id), {"full_name": name, "email": email}).registration
            if (name, email) in attended:
                registration.attended_at = utcnow()
        event = load_event(event_id)
        event.starts_at = utcnow() - timedelta(days=1)
        event.ends_at = event.starts_at + timedelta(hours=2)
        for name, value in overrides.items():
            setattr(event, name, value)
        db.session.commit()
    return event_id


def open_decision(client, event_id, **fields):
    url = f"/panel/posiedzenia/{event_id}/decyzje"
    data = {"csrf_token": csrf_token_from(client.get(url)), "title": TITLE, "kind": "decision", "rule": "majority",
            "results_public": "public", **fields}
    return client.post(url, data=data)


def enter_voice(client, token, consultation_id, member, option, htmx=False):
    return client.post(
        f"/panel/posiedzenia/decyzje/{consultation_id}/glos/{member.id}",
        data={"csrf_token": token, f"m{member.id}-method": "meeting", f"m{member.id}-choice": option},
        headers={"HX-Request": "true"} if htmx else {},
    )


def test_a_decision_of_the_meeting_is_entered_closed_and_shown(app, client, auth, allies):
    event_id = held_meeting(
        app,
        attended=[("Zofia Łukasik", "zofia@example.org"), ("Bartek Nowak", "bartek@zablocie.example.org"),
                  ("Gość Spoza Listy", "gosc@example.org")],
        registered=[("Jan Kowalski", "jan@example.org")],
    )
    auth.login()
    assert f"/panel/posiedzenia/{event_id}/decyzje" in client.get(f"/panel/wydarzenia/{event_id}/protokol").get_data(as_text=True)

    response = open_decision(client, event_id)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        consultation = db.session.scalar(select(Consultation))
        assert (consultation.meeting_event_id, consultation.status, consultation.roll_size) == (event_id, "open", ROLL_SIZE)
        assert not consultation.secret
        assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.template.like("consultation%"))) is None
        zofia, organisation, paper = (member_of(consultation, allies.zofia), member_of(consultation, allies.anna),
                                      member_of(consultation, allies.paper))
        za, przeciw = option_id(consultation, 1), option_id(consultation, 2)
    assert response.headers["Location"].endswith(f"/panel/posiedzenia/decyzje/{consultation.id}")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    present, absent = page.split('id="present"')[1].split("Pozostali na liście", 1)
    # Present: Zofia, and the organisation (its link is Anna's, but Bartek, its other representative, came).
    assert "Zofia Łukasik" in present and ORGANISATION in present and "Jan Kowalski" not in present
    assert "Jan Kowalski" in absent and "Stefan Papierowy" in absent
    assert "Gość Spoza Listy" not in page  # not a member: no voice

    token = auth.csrf()
    assert enter_voice(client, token, consultation.id, zofia, za).status_code == 303
    row = enter_voice(client, token, consultation.id, organisation, przeciw, htmx=True)
    assert row.status_code == 200
    fragment = row.get_data(as_text=True)
    assert fragment.startswith(f'<tr id="member-{organisation.id}">')
    assert 'Przeciw <span class="meta">(na posiedzeniu)</span>' in fragment
    assert enter_voice(client, token, consultation.id, paper, za).status_code == 303
    page = client.get(f"/panel/posiedzenia/decyzje/{consultation.id}").get_data(as_text=True)
    assert "wpisano 3 z 5 głosów" in page and page.count('<span class="meta">(na posiedzeniu)</span>') == 3

    closed = client.post(f"/panel/konsultacje/{consultation.id}/zamknij", data={"csrf_token": token, "confirm": "tak"})
    assert closed.status_code == 303
    page = client.get(f"/panel/posiedzenia/decyzje/{consultation.id}").get_data(as_text=True)
    assert "zakończona" in page and "Decyzja została przyjęta: wymagana większość głosowała za." in page
    assert "na posiedzeniu: 3" in page
    assert f"/glos/{zofia.id}" not in page  # no more voices to enter
    listing = client.get(f"/panel/posiedzenia/{event_id}/decyzje").get_data(as_text=True)
    assert TITLE in listing and "zakończona" in listing

    with app.app_context():
        members = db.session.scalars(select(ConsultationMember).where(ConsultationMember.took_part_at.is_not(None))).all()
        assert sorted(member.method for member in members) == ["meeting"] * 3
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "consultation").order_by(AuditEntry.id))
        log = [entry.summary for entry in entries]
    assert log[0] == f"Konsultacja „{TITLE}”: decyzja z posiedzenia"
    assert len([entry for entry in log if "wpisano głos (na posiedzeniu)" in entry]) == 3
    assert log[-1] == f"Konsultacja „{TITLE}”: zamknięto"


def test_what_the_meeting_screens_refuse(app, client, auth, allies):
    held = held_meeting(app, attended=[("Zofia Łukasik", "zofia@example.org")])
    ahead = make_event(app, slug="nastepne", is_members_meeting=True)  # in ten days
    ordinary = make_event(app, slug="piknik", starts_at=utcnow() - timedelta(days=2), ends_at=utcnow() - timedelta(days=1))
    auth.login()
    for event_id in (ahead, ordinary):
        assert client.get(f"/panel/posiedzenia/{event_id}/decyzje").status_code == 404

    response = open_decision(client, held, kind="single", options="Tylko jedna")
    assert response.status_code == 422
    assert "Wpisz od 2 do 20 odpowiedzi, każdą w osobnym wierszu." in response.get_data(as_text=True)
    response = open_decision(client, held, kind="opinions")  # not offered for a meeting
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Consultation.id)) is None

    open_decision(client, held)
    with app.app_context():
        consultation = db.session.scalar(select(Consultation))
        zofia, za = member_of(consultation, allies.zofia), option_id(consultation, 1)
    token = auth.csrf()
    response = enter_voice(client, token, consultation.id, zofia, "")
    assert response.status_code == 422 and "Wybierz odpowiedź." in response.get_data(as_text=True)
    row = enter_voice(client, token, consultation.id, zofia, "", htmx=True)  # htmx swaps only a 200: the row with its error
    assert row.status_code == 200 and row.get_data(as_text=True).startswith(f'<tr id="member-{zofia.id}">')
    assert "Wybierz odpowiedź." in row.get_data(as_text=True)

    client.post(f"/panel/konsultacje/{consultation.id}/zamknij", data={"csrf_token": token, "confirm": "tak"})
    enter_voice(client, token, consultation.id, zofia, za)
    page = client.get(f"/panel/posiedzenia/decyzje/{consultation.id}").get_data(as_text=True)
    assert "Konsultacja jest już zamknięta: głosy nie są już przyjmowane." in page
    with app.app_context():
        assert db.session.get(ConsultationMember, zofia.id).took_part_at is None
        assert db.session.scalar(select(Registration.attended_at).where(Registration.email == "zofia@example.org")) is not None
    assert client.post(  # the member is not on that (missing) consultation's roll
        f"/panel/posiedzenia/decyzje/{consultation.id + 1}/glos/{zofia.id}", data={"csrf_token": token}
    ).status_code == 404


@pytest.mark.one_engine
def test_meeting_pages_need_a_coordinator(client, coalition):
    assert client.get("/panel/posiedzenia/1/decyzje").status_code == 302
    assert client.get("/panel/posiedzenia/decyzje/1").status_code == 302
