from datetime import timedelta

import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.events.models import Event, EventStatus, Registration
from koalicja.extensions import db
from koalicja.timeutil import utcnow

from ..conftest import SLUG, csrf_token_from

EVENT_SLUG = "gala"


def make_event(app, **overrides):
    """A published event starting in ten days; returns its id."""
    with app.app_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
        start = utcnow().replace(microsecond=0) + timedelta(days=10)
        values = {
            "coalition_id": coalition.id,
            "slug": EVENT_SLUG,
            "title": "Gala Sojuszników Sąsiedztw",
            "summary": "Święto sojuszników.",
            "description": "Zapraszamy na **galę**.",
            "starts_at": start,
            "ends_at": start + timedelta(hours=4),
            "venue": "Centrum Obywatelskie",
            "address": "ul. Przykładowa 10, Kraków",
            "accessibility": "Wejście bez schodów.",
            "capacity": 3,
            "status": EventStatus.PUBLISHED,
        }
        values.update(overrides)
        event = Event(**values)
        db.session.add(event)
        db.session.commit()
        return event.id


@pytest.fixture
def event(app, coalition):
    return make_event(app)


def event_url(slug=EVENT_SLUG):
    return f"/{SLUG}/wydarzenia/{slug}"


def registration_url(slug=EVENT_SLUG):
    """The registration form's own page; the form posts to the event's address."""
    return event_url(slug) + "/zapisz"


def register_http(client, slug=EVENT_SLUG, **fields):
    page = client.get(registration_url(slug))
    data = {"full_name": "Zofia Łukasik", "email": "zofia@example.org", "accept_privacy": "y", **fields}
    return client.post(event_url(slug), data={"csrf_token": csrf_token_from(page), **data})


def registrations(app, event_id):
    with app.app_context():
        rows = db.session.scalars(select(Registration).where(Registration.event_id == event_id).order_by(Registration.id))
        return [(r.full_name, r.status) for r in rows]


def load_event(event_id):
    return db.session.get(Event, event_id)
