"""`flask purge` fired by two servers' timers at the same moment: every stale entry is removed
once, every freed place is offered once, and neither run fails."""
from datetime import timedelta

from sqlalchemy import func, select

from koalicja.events.models import HOLDING_PLACE, Registration, RegistrationStatus
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage, OutboxStatus
from koalicja.mail.operations import deliver_due
from koalicja.privacy.operations import purge
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import sign_declaration

from ..conftest import VALID_PERSON, current_declaration
from ..events.conftest import load_event, make_event
from ..served import at_once

ROUNDS = 5
EVENTS = 4
STALE_SIGNATURES = 15
CAPACITY = 2


def _stale_world(app, round_number):
    """Per event: two stale unconfirmed registrations holding both places, two people waiting;
    stale unconfirmed signatures; and the mail of all that (and of earlier rounds) delivered."""
    events = [
        make_event(app, slug=f"spotkanie-{round_number}-{n}", capacity=CAPACITY) for n in range(EVENTS)
    ]
    waiting = []
    with app.app_context():
        for event_id in events:
            for n in range(CAPACITY):
                person = {"full_name": f"Stara {n}", "email": f"stara{round_number}-{event_id}-{n}@example.org"}
                register(load_event(event_id), person).registration.created_at -= timedelta(days=15)
            for n in range(2):
                person = {"full_name": f"Czeka {n}", "email": f"czeka{round_number}-{event_id}-{n}@example.org"}
                result = register(load_event(event_id), person)
                assert result.registration.status == RegistrationStatus.WAITING
                waiting.append(result.registration.email)
            db.session.commit()
        for n in range(STALE_SIGNATURES):
            person = {**VALID_PERSON, "email": f"zapomniana{round_number}-{n}@example.org"}
            sign_declaration(current_declaration(), person).signature.created_at -= timedelta(days=15)
            db.session.commit()
        deliver_due()
        delivered = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.SENT))
    return events, waiting, delivered


def test_two_purges_at_once_remove_each_entry_once_and_offer_each_freed_place_once(app, coalition):
    for round_number in range(ROUNDS):
        events, waiting, delivered = _stale_world(app, round_number)

        def run_purge(_):
            with app.app_context():
                return purge(14)

        first, second = at_once(2, run_purge)

        assert first.signatures + second.signatures == STALE_SIGNATURES
        assert first.registrations + second.registrations == EVENTS * CAPACITY
        assert first.messages + second.messages == delivered
        with app.app_context():
            assert db.session.scalar(select(func.count(Signature.id))) == 0
            for event_id in events:
                held = db.session.scalar(
                    select(func.count(Registration.id))
                    .where(Registration.event_id == event_id, Registration.status.in_(HOLDING_PLACE))
                )
                assert held <= CAPACITY
            offers = db.session.scalars(
                select(OutboxMessage.recipient).where(
                    OutboxMessage.template == "registration_offer_to_registrant", OutboxMessage.status == OutboxStatus.PENDING
                )
            ).all()
            # The freed places went to the people waiting, each told once.
            assert sorted(offers) == sorted(waiting)
            offered = db.session.scalars(
                select(Registration.email).where(Registration.status == RegistrationStatus.OFFERED)
            ).all()
            assert sorted(offered) == sorted(waiting)
            deliver_due()  # the offers out of the way before the next round
            db.session.execute(db.delete(Registration))
            db.session.commit()
