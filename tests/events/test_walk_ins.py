"""People who come without registering: added at the door, present at once, within capacity."""
from datetime import timedelta

from sqlalchemy import func, select

from koalicja.coalitions.models import Coalition
from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event, Registration, RegistrationStatus
from koalicja.events.walk_ins import admit_walk_in
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.reports.data import build_report
from koalicja.timeutil import utcnow, warsaw_today

from ..conftest import csrf_token_from
from .conftest import load_event, make_event


def _today(app, capacity=2):
    now = utcnow().replace(microsecond=0)
    return make_event(app, starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2), capacity=capacity)


def test_a_walk_in_is_present_at_once_mailed_nothing_and_counted_as_a_walk_in(app, coalition, coordinator):
    event_id = _today(app)
    with app.app_context():
        by = db.session.get(Coordinator, coordinator)
        registration = admit_walk_in(load_event(event_id), {"full_name": "Jan Przechodzień", "email": "", "companions": 1}, by)
        assert registration.status == RegistrationStatus.CONFIRMED and registration.attended_at is not None
        assert registration.added_by_id == coordinator and registration.places == 2
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        coalition_row = db.session.scalar(select(Coalition))
        today = warsaw_today()
        (line,) = build_report(coalition_row, today.replace(month=1, day=1), today.replace(month=12, day=31)).events
        assert (line.registered, line.present, line.walk_ins) == (0, 0, 2)


def test_the_door_respects_the_capacity(app, client, auth, coalition, coordinator):
    event_id = _today(app, capacity=1)
    with app.app_context():
        by = db.session.get(Coordinator, coordinator)
        admit_walk_in(load_event(event_id), {"full_name": "Pierwsza Osoba", "email": ""}, by)
    auth.login()
    url = f"/panel/wydarzenia/{event_id}/wejscie/dopisz"
    data = {"csrf_token": csrf_token_from(client.get(url)), "full_name": "Bez Miejsca", "consent_given": "y"}
    response = client.post(url, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Wolnych miejsc jest 0" in page and 'value="Bez Miejsca"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Registration.event_id == event_id)) == 1


def test_the_walk_in_form_asks_for_consent_and_sends_back_to_the_door(app, client, auth, coalition):
    event_id = _today(app)
    auth.login()
    url = f"/panel/wydarzenia/{event_id}/wejscie/dopisz"
    assert "Dopisz osobę bez zapisu" in client.get(f"/panel/wydarzenia/{event_id}/wejscie").get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token_from(client.get(url)), "full_name": "Anna Nowak"})
    assert response.status_code == 422 and "Bez zgody tej osoby nie możemy jej zapisać." in response.get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(client.get(url)), "full_name": "Anna Nowak", "consent_given": "y"}
    response = client.post(url, data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/panel/wydarzenia/{event_id}/wejscie")
    assert "Dopisano i potwierdzono obecność: Anna Nowak." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        other = Coalition(slug="inna", name="Inna", organiser="X", contact_email="x@example.org")
        db.session.add(other)
        db.session.flush()
        foreign = Event(coalition_id=other.id, slug="obce", title="Obce", starts_at=utcnow(), ends_at=utcnow())
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    assert client.get(f"/panel/wydarzenia/{foreign_id}/wejscie/dopisz").status_code == 404
