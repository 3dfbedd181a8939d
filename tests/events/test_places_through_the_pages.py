"""What people notice of the waiting list, through the pages and the panel (issue #19: the same
rules are pinned by direct calls in test_operations_guards.py; these are the user's view)."""
from datetime import timedelta

from sqlalchemy import select

from koalicja.events.models import Registration, RegistrationStatus
from koalicja.events.notifications import confirmation_url
from koalicja.events.operations import confirm_registration, register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage

from .conftest import load_event, make_event, register_http

MAX_AGE = 7 * 86400


def person(number):
    return {"full_name": f"Osoba {number}", "email": f"osoba{number}@example.org"}


def status_of(email):
    return db.session.scalar(select(Registration.status).where(Registration.email == email))


def recipients(template):
    return sorted(db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.template == template)))


def test_a_newcomer_on_the_form_after_a_hold_ran_out_waits_behind_the_waiting_list(app, client, coalition):
    event_id = make_event(app, capacity=1, hold_hours=1)
    with app.app_context():
        holder = register(load_event(event_id), person(1)).registration
        register(load_event(event_id), person(2))  # waiting
        holder.hold_expires_at -= timedelta(hours=2)  # the hold ran out unconfirmed
        db.session.commit()

    response = register_http(client, full_name="Nowa Osoba", email="nowa@example.org")

    assert response.status_code == 303
    with app.app_context():
        assert [status_of(f"osoba{n}@example.org") for n in (1, 2)] == ["expired", "offered"]
        assert status_of("nowa@example.org") == "waiting"
        assert recipients("registration_offer_to_registrant") == ["osoba2@example.org"]


def approval_waiting(event_id, number):
    registration = register(load_event(event_id), person(number)).registration
    confirm_registration(confirmation_url(registration).rsplit("/", 1)[1], MAX_AGE)
    return registration.id


def test_a_rejection_in_the_panel_offers_the_place_to_the_first_person_waiting(app, client, auth, coalition):
    event_id = make_event(app, capacity=1, requires_approval=True)
    with app.app_context():
        asking = approval_waiting(event_id, 1)
        register(load_event(event_id), person(2))
        assert status_of("osoba2@example.org") == "waiting"
    auth.login()

    response = client.post(f"/panel/wydarzenia/zapisy/{asking}/decyzja", data={"decision": "reject", "csrf_token": auth.csrf()})

    assert response.status_code == 303
    with app.app_context():
        assert (status_of("osoba1@example.org"), status_of("osoba2@example.org")) == ("rejected", "offered")
        assert recipients("registration_rejected_to_registrant") == ["osoba1@example.org"]
        assert recipients("registration_offer_to_registrant") == ["osoba2@example.org"]


def test_cancelling_in_the_panel_writes_only_to_people_still_registered(app, client, auth, coalition):
    event_id = make_event(app, capacity=1, requires_approval=True)
    with app.app_context():
        rejected = approval_waiting(event_id, 1)
        cancelled = register(load_event(event_id), person(2)).registration  # on the waiting list, then gone
        cancelled.status = RegistrationStatus.CANCELLED
        db.session.commit()
        register(load_event(event_id), person(3))  # waiting
    auth.login()
    client.post(f"/panel/wydarzenia/zapisy/{rejected}/decyzja", data={"decision": "reject", "csrf_token": auth.csrf()})

    response = client.post(f"/panel/wydarzenia/{event_id}/odwolaj", data={"csrf_token": auth.csrf(), "confirm": "tak"})

    assert "Powiadomione osoby: 1." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert recipients("event_cancelled_to_registrant") == ["osoba3@example.org"]


def test_the_purge_keeps_old_confirmed_registrations(app, runner, coalition):
    event_id = make_event(app, capacity=5)
    with app.app_context():
        confirmed = register(load_event(event_id), person(1)).registration
        confirm_registration(confirmation_url(confirmed).rsplit("/", 1)[1], MAX_AGE)
        register(load_event(event_id), person(2))  # never confirmed
        db.session.execute(db.update(Registration).values(created_at=Registration.created_at - timedelta(days=400)))
        db.session.commit()

    result = runner.invoke(args=["purge"])

    assert "zapisy niepotwierdzone 1" in result.output
    with app.app_context():
        assert db.session.scalars(select(Registration.email)).all() == ["osoba1@example.org"]
        assert status_of("osoba1@example.org") == "confirmed"
