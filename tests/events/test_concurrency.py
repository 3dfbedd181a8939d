"""200 people press "Zapisz się" at the same moment for 50 places, against a real server process."""
from datetime import timedelta

from sqlalchemy import func, select

from koalicja import create_app
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.events.models import HOLDING_PLACE, Event, Registration, RegistrationStatus
from koalicja.extensions import db
from koalicja.timeutil import utcnow

from ..served import Visitor, at_once, served_app

PEOPLE = 200
CAPACITY = 50


def test_capacity_holds_under_200_simultaneous_registrations(tmp_path, database_url):
    """On SQLite and on PostgreSQL (the `database_url` fixture: a fresh, empty database on each)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "concurrency-test", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.create_all()
        coalition = Coalition(slug="sasiedztwa", name="Koalicja")
        start = utcnow() + timedelta(days=5)
        db.session.add_all(
            [
                coalition,
                Declaration(coalition=coalition, title="Deklaracja", body="Tekst"),
                Event(coalition=coalition, slug="gala", title="Gala", starts_at=start, ends_at=start, capacity=CAPACITY, status="published"),
            ]
        )
        db.session.commit()

    with served_app(database_url, tmp_path, workers=2, threads=8) as base_url:
        url = "/sasiedztwa/wydarzenia/gala"
        visitors = [Visitor(base_url, follow_redirects=True) for _ in range(PEOPLE)]
        tokens = [visitor.get(url + "/zapisz").csrf_token for visitor in visitors]

        def person(number):
            data = {"csrf_token": tokens[number], "full_name": f"Osoba {number}", "email": f"osoba{number}@example.org",
                    "accept_privacy": "y"}
            return visitors[number].post(url, data).status  # the 303 is followed to the "check your inbox" page

        statuses = at_once(PEOPLE, person)

    assert statuses == [200] * PEOPLE, {code: statuses.count(code) for code in set(statuses)}
    with app.app_context():
        held = db.session.scalar(
            select(func.sum(1 + Registration.companions)).where(Registration.status.in_(HOLDING_PLACE))
        )
        waiting = db.session.scalar(select(func.count(Registration.id)).where(Registration.status == RegistrationStatus.WAITING))
        total = db.session.scalar(select(func.count(Registration.id)))
        emails = db.session.scalar(select(func.count(func.distinct(Registration.email))))
        db.session.remove()
        db.engine.dispose()
    assert (held, waiting, total, emails) == (CAPACITY, PEOPLE - CAPACITY, PEOPLE, PEOPLE)
