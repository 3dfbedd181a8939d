"""The guards of koalicja/events/operations.py, reached directly: what the views check first
(or only a race reaches) is pinned here, each next to the one-line bug it would let through."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event, Registration, RegistrationStatus
from koalicja.events.notifications import CANCEL_PURPOSE, confirmation_url
from koalicja.events.operations import (
    AttendanceAlreadySet,
    Availability,
    EventCancelledMeanwhile,
    EventNoLongerApplies,
    LinkUsed,
    RegistrationDecisionNotAllowed,
    RegistrationNotActive,
    RegistrationRefused,
    availability,
    cancel_event,
    cancel_registration,
    confirm_registration,
    decide_registration,
    expire_holds,
    forget_unconfirmed_registrations,
    publish_event,
    register,
    save_event,
    set_attendance,
)
from koalicja.extensions import db
from koalicja.locking import NoLongerApplies
from koalicja.mail.models import OutboxMessage
from koalicja.timeutil import utcnow
from koalicja.tokens import make_token

from ..conftest import csrf_token_from
from .conftest import event_url, load_event, make_event

MAX_AGE = 7 * 86400
CLOCK_SLOT_SECONDS = 30  # event pages are cached per data version and per 30-second slot (koalicja/serving)


def person(number, **extra):
    return {"full_name": f"Osoba {number}", "email": f"osoba{number}@example.org", **extra}


def token_of(registration):
    return confirmation_url(registration).rsplit("/", 1)[1]


def mails_to(email, template=None):
    query = select(func.count(OutboxMessage.id)).where(OutboxMessage.recipient == email)
    if template:
        query = query.where(OutboxMessage.template == template)
    return db.session.scalar(query)


def data_version():
    return db.session.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar_one()


def footprint():
    """What a refused change must leave alone: the outbox, the audit log, the data version."""
    return (
        db.session.scalar(select(func.count(OutboxMessage.id))),
        db.session.scalar(select(func.count(AuditEntry.id))),
        data_version(),
    )


def refused(error_class, call, message):
    """`call()` is refused with `error_class` saying `message`, and changes nothing."""
    before = footprint()
    with pytest.raises(error_class) as raised:
        call()
    assert str(raised.value.message) == message
    db.session.rollback()
    assert footprint() == before
    return raised.value


@pytest.fixture
def boss(app, coordinator):
    with app.app_context():
        return coordinator


def approval_registration(event_id, number):
    """A registration confirmed by e-mail that waits for a coordinator."""
    registration = register(load_event(event_id), person(number)).registration
    confirm_registration(token_of(registration), MAX_AGE)
    assert registration.status == RegistrationStatus.APPROVAL
    return registration


# ---- the waiting list comes first ----------------------------------------------------------


def test_a_newcomer_after_a_hold_ran_out_queues_behind_the_waiting_list(app, coalition):
    event_id = make_event(app, capacity=1, hold_hours=1)
    with app.app_context():
        now = utcnow()
        holder = register(load_event(event_id), person(1), now=now).registration
        waiting = register(load_event(event_id), person(2), now=now).registration
        newcomer = register(load_event(event_id), person(3), now=now + timedelta(hours=2)).registration
        assert (holder.status, waiting.status, newcomer.status) == ("expired", "offered", "waiting")
        assert mails_to("osoba2@example.org", "registration_offer_to_registrant") == 1


def test_a_rejection_offers_the_freed_place(app, coalition, boss):
    event_id = make_event(app, capacity=1, requires_approval=True)
    with app.app_context():
        asking = approval_registration(event_id, 1)
        waiting = register(load_event(event_id), person(2)).registration
        assert waiting.status == RegistrationStatus.WAITING
        decide_registration(asking, False, db.session.get(Coordinator, boss))
        assert (asking.status, waiting.status) == ("rejected", "offered")
        assert mails_to("osoba2@example.org", "registration_offer_to_registrant") == 1


def test_an_approval_offers_nothing(app, coalition, boss):
    event_id = make_event(app, capacity=1, requires_approval=True)
    with app.app_context():
        asking = approval_registration(event_id, 1)
        waiting = register(load_event(event_id), person(2)).registration
        decide_registration(asking, True, db.session.get(Coordinator, boss))
        assert (asking.status, waiting.status) == ("confirmed", "waiting")
        assert mails_to("osoba2@example.org", "registration_offer_to_registrant") == 0


@pytest.mark.parametrize(("before_start", "offered"), [(timedelta(seconds=1), True), (timedelta(0), False)])
def test_no_offer_from_the_waiting_list_once_the_event_has_started(app, coalition, before_start, offered):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        leaving = register(load_event(event_id), person(1)).registration
        waiting = register(load_event(event_id), person(2)).registration
        cancel_registration(leaving, now=load_event(event_id).starts_at - before_start)
        assert waiting.status == (RegistrationStatus.OFFERED if offered else RegistrationStatus.WAITING)
        assert mails_to("osoba2@example.org", "registration_offer_to_registrant") == int(offered)


def test_no_offer_from_the_waiting_list_of_a_cancelled_event(app, coalition):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        leaving = register(load_event(event_id), person(1)).registration
        waiting = register(load_event(event_id), person(2)).registration
        cancel_event(load_event(event_id))
        cancel_registration(leaving)
        assert waiting.status == RegistrationStatus.WAITING
        assert mails_to("osoba2@example.org", "registration_offer_to_registrant") == 0


def test_more_places_are_offered_to_the_waiting_list_at_once(app, coalition):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        register(load_event(event_id), person(1))
        waiting = register(load_event(event_id), person(2)).registration
        save_event(load_event(event_id), {"capacity": 2})
        assert waiting.status == RegistrationStatus.OFFERED
        assert mails_to("osoba2@example.org", "registration_offer_to_registrant") == 1


def test_forgetting_an_unconfirmed_holder_offers_the_place(app, coalition):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        now = utcnow()
        register(load_event(event_id), person(1), now=now)
        db.session.execute(db.update(Registration).values(created_at=now - timedelta(days=30)))
        db.session.commit()
        waiting = register(load_event(event_id), person(2), now=now).registration
        assert forget_unconfirmed_registrations(now - timedelta(days=14), now=now) == 1
        assert waiting.status == RegistrationStatus.OFFERED
        assert forget_unconfirmed_registrations(now - timedelta(days=14), now=now) == 0


# ---- the registration window -----------------------------------------------------------------


def test_registration_closes_at_its_exact_closing_minute(app, coalition):
    closes = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
    event_id = make_event(app, registration_closes_at=closes)
    with app.app_context():
        event = load_event(event_id)
        assert availability(event, closes - timedelta(seconds=1)) == Availability.OPEN
        assert availability(event, closes) == Availability.CLOSED
        with pytest.raises(RegistrationRefused) as refused_at_close:
            register(event, person(1), now=closes)
        assert refused_at_close.value.reason == "closed"
        assert register(load_event(event_id), person(2), now=closes - timedelta(seconds=1)).new


def test_without_a_closing_time_registration_closes_when_the_event_starts(app, coalition):
    event_id = make_event(app)
    with app.app_context():
        event = load_event(event_id)
        assert availability(event, event.starts_at - timedelta(seconds=1)) == Availability.OPEN
        assert availability(event, event.starts_at) == Availability.CLOSED


def test_registration_opens_at_its_exact_opening_minute(app, coalition):
    opens = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
    event_id = make_event(app, registration_opens_at=opens)
    with app.app_context():
        event = load_event(event_id)
        assert availability(event, opens - timedelta(seconds=1)) == Availability.NOT_YET_OPEN
        assert availability(event, opens) == Availability.OPEN


# ---- cancelling an event writes only to those still registered -------------------------------


def test_cancelling_an_event_writes_only_to_people_still_registered(app, coalition, boss):
    event_id = make_event(app, capacity=3, requires_approval=True, hold_hours=1)
    with app.app_context():
        now = utcnow()
        gone = {
            RegistrationStatus.CANCELLED: register(load_event(event_id), person(1)).registration,
            RegistrationStatus.REJECTED: approval_registration(event_id, 2),
            RegistrationStatus.EXPIRED: register(load_event(event_id), person(3), now=now - timedelta(hours=2)).registration,
        }
        cancel_registration(gone[RegistrationStatus.CANCELLED])
        decide_registration(gone[RegistrationStatus.REJECTED], False, db.session.get(Coordinator, boss))
        expire_holds()
        assert {status: r.status for status, r in gone.items()} == {status: status for status in gone}
        still = [approval_registration(event_id, 4), register(load_event(event_id), person(5)).registration]
        still += [register(load_event(event_id), person(6)).registration, register(load_event(event_id), person(7)).registration]
        assert [r.status for r in still] == ["approval", "pending", "pending", "waiting"]

        assert cancel_event(load_event(event_id)) == 4
        told = db.session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.template == "event_cancelled_to_registrant")
        ).all()
        assert sorted(told) == [f"osoba{n}@example.org" for n in (4, 5, 6, 7)]


# ---- a change that no longer applies: refused, named, and nothing written ---------------------


def test_a_second_decision_is_refused_and_names_the_first(app, coalition, boss):
    event_id = make_event(app, requires_approval=True)
    with app.app_context():
        accepted, rejected = approval_registration(event_id, 1), approval_registration(event_id, 2)
        coordinator = db.session.get(Coordinator, boss)
        decide_registration(accepted, True, coordinator)
        decide_registration(rejected, False, coordinator)
        for registration, message in ((accepted, "To zgłoszenie zostało już przyjęte."), (rejected, "To zgłoszenie zostało już odrzucone.")):
            for approve in (True, False):
                refused(RegistrationDecisionNotAllowed, lambda: decide_registration(registration, approve, coordinator), message)
        assert mails_to("osoba1@example.org", "registration_confirmed_to_registrant") == 1
        assert mails_to("osoba2@example.org", "registration_rejected_to_registrant") == 1


def test_a_decision_on_a_registration_not_waiting_for_one_is_refused(app, coalition, boss):
    event_id = make_event(app, requires_approval=True, capacity=1)
    with app.app_context():
        coordinator = db.session.get(Coordinator, boss)
        pending = register(load_event(event_id), person(1)).registration
        waiting = register(load_event(event_id), person(2)).registration
        for registration in (pending, waiting):
            refused(
                RegistrationDecisionNotAllowed, lambda: decide_registration(registration, True, coordinator),
                "To zgłoszenie nie czeka na akceptację.",
            )


def test_a_decision_on_a_cancelled_event_is_refused(app, coalition, boss):
    event_id = make_event(app, requires_approval=True)
    with app.app_context():
        asking = approval_registration(event_id, 1)
        cancel_event(load_event(event_id))
        refused(
            EventCancelledMeanwhile, lambda: decide_registration(asking, True, db.session.get(Coordinator, boss)),
            "To wydarzenie zostało odwołane.",
        )
        assert mails_to("osoba1@example.org", "registration_confirmed_to_registrant") == 0


def test_a_decision_reads_the_registration_again_after_the_lock(app, coalition, boss):
    """The view loaded the registration before the person cancelled: the decision must see the
    cancellation, not the copy it was given (the race of the red team, one step at a time)."""
    event_id = make_event(app, requires_approval=True, capacity=1)
    with app.app_context():
        asking_id = approval_registration(event_id, 1).id
        waiting_id = register(load_event(event_id), person(2)).registration.id
    with app.app_context():
        stale = db.session.get(Registration, asking_id)
        assert stale.status == RegistrationStatus.APPROVAL
        with app.app_context():  # the person cancels meanwhile, in another request
            cancel_registration(db.session.get(Registration, asking_id))
        coordinator = db.session.get(Coordinator, boss)
        refused(RegistrationDecisionNotAllowed, lambda: decide_registration(stale, True, coordinator), "To zgłoszenie zostało już anulowane.")
        assert db.session.get(Registration, asking_id).cancelled_at is not None
        assert db.session.get(Registration, waiting_id).status == RegistrationStatus.OFFERED
        assert mails_to("osoba1@example.org", "registration_confirmed_to_registrant") == 0


def test_a_cancellation_reads_the_registration_again_after_the_lock(app, coalition, boss):
    event_id = make_event(app, requires_approval=True)
    with app.app_context():
        asking_id = approval_registration(event_id, 1).id
    with app.app_context():
        stale = db.session.get(Registration, asking_id)
        with app.app_context():  # a coordinator rejects it meanwhile
            decide_registration(db.session.get(Registration, asking_id), False, db.session.get(Coordinator, boss))
        refused(RegistrationNotActive, lambda: cancel_registration(stale), "To zgłoszenie zostało już odrzucone.")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (RegistrationStatus.CANCELLED, "To zgłoszenie zostało już anulowane."),
        (RegistrationStatus.REJECTED, "To zgłoszenie zostało już odrzucone."),
        (RegistrationStatus.EXPIRED, "To zgłoszenie wygasło: czas na potwierdzenie minął."),
    ],
)
def test_cancelling_what_is_not_active_is_refused(app, coalition, status, message):
    event_id = make_event(app)
    with app.app_context():
        registration = register(load_event(event_id), person(1)).registration
        registration.status = status
        db.session.commit()
        refused(RegistrationNotActive, lambda: cancel_registration(registration), message)


def test_a_deleted_registration_is_refused_as_gone(app, coalition, boss):
    event_id = make_event(app, requires_approval=True)
    with app.app_context():
        registration_id = approval_registration(event_id, 1).id
    with app.app_context():
        stale = db.session.get(Registration, registration_id)
        with app.app_context():
            db.session.execute(db.delete(Registration).where(Registration.id == registration_id))
            db.session.commit()
        error = refused(
            RegistrationDecisionNotAllowed, lambda: decide_registration(stale, True, db.session.get(Coordinator, boss)),
            "Tego zgłoszenia już nie ma: zostało usunięte.",
        )
        assert error.registration is None


def test_a_confirmation_link_confirms_once(app, coalition):
    event_id = make_event(app)
    with app.app_context():
        registration = register(load_event(event_id), person(1)).registration
        token = token_of(registration)
        confirm_registration(token, MAX_AGE)
        error = refused(LinkUsed, lambda: confirm_registration(token, MAX_AGE), "Ten link został już użyty.")
        assert error.registration.status == RegistrationStatus.CONFIRMED
        assert mails_to("osoba1@example.org", "registration_confirmed_to_registrant") == 1


def test_a_waiting_persons_link_confirms_their_address_once(app, coalition):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        register(load_event(event_id), person(1))
        waiting = register(load_event(event_id), person(2)).registration
        token = token_of(waiting)
        confirm_registration(token, MAX_AGE)
        assert waiting.status == RegistrationStatus.WAITING and waiting.email_confirmed_at is not None
        refused(LinkUsed, lambda: confirm_registration(token, MAX_AGE), "Ten link został już użyty.")


def test_a_confirmation_link_sends_no_ticket_for_a_cancelled_event(app, coalition):
    event_id = make_event(app)
    with app.app_context():
        registration = register(load_event(event_id), person(1)).registration
        token = token_of(registration)
        cancel_event(load_event(event_id))
        refused(EventCancelledMeanwhile, lambda: confirm_registration(token, MAX_AGE), "To wydarzenie zostało odwołane.")
        assert mails_to("osoba1@example.org", "registration_confirmed_to_registrant") == 0


def test_publishing_or_cancelling_an_event_twice_is_refused(app, coalition):
    event_id = make_event(app, status="draft")
    with app.app_context():
        publish_event(load_event(event_id))
        refused(EventNoLongerApplies, lambda: publish_event(load_event(event_id)), "To wydarzenie jest już opublikowane.")
        register(load_event(event_id), person(1))
        assert cancel_event(load_event(event_id)) == 1
        refused(EventNoLongerApplies, lambda: cancel_event(load_event(event_id)), "To wydarzenie zostało już odwołane.")
        refused(EventNoLongerApplies, lambda: publish_event(load_event(event_id)), "To wydarzenie zostało odwołane.")
        assert mails_to("osoba1@example.org", "event_cancelled_to_registrant") == 1


def test_a_second_scan_at_the_door_keeps_the_first_time(app, coalition, boss):
    event_id = make_event(app)
    with app.app_context():
        registration = register(load_event(event_id), person(1)).registration
        coordinator = db.session.get(Coordinator, boss)
        first = utcnow() - timedelta(minutes=5)
        set_attendance(registration, True, now=first, by=coordinator)
        refused(
            AttendanceAlreadySet, lambda: set_attendance(registration, True, by=coordinator),
            "Obecność tej osoby jest już potwierdzona.",
        )
        assert db.session.get(Registration, registration.id).attended_at == first
        set_attendance(registration, False, by=coordinator)
        refused(
            AttendanceAlreadySet, lambda: set_attendance(registration, False, by=coordinator),
            "Obecność tej osoby nie jest potwierdzona.",
        )
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 2


def test_every_refusal_is_a_no_longer_applies():
    for error in (RegistrationDecisionNotAllowed, RegistrationNotActive, LinkUsed, EventNoLongerApplies, AttendanceAlreadySet, EventCancelledMeanwhile):
        assert issubclass(error, NoLongerApplies)


# ---- expire-holds writes only when a hold ran out ---------------------------------------------


def test_expire_holds_with_nothing_to_expire_leaves_the_data_version_and_the_etag(app, client, runner, coalition):
    event_id = make_event(app, capacity=2)
    with app.app_context():
        register(load_event(event_id), person(1))  # a hold that has not run out
    for _attempt in range(3):
        slot = int(time.time() // CLOCK_SLOT_SECONDS)  # event pages are also keyed on a 30-second slot
        before = client.get(event_url())
        etag = before.headers["ETag"]
        with app.app_context():
            version = data_version()
        for _run in range(2):
            result = runner.invoke(args=["expire-holds"])
            assert result.exit_code == 0 and result.output.strip().endswith(": 0"), result.output
        with app.app_context():
            assert data_version() == version
        after = client.get(event_url(), headers={"If-None-Match": etag})
        if int(time.time() // CLOCK_SLOT_SECONDS) == slot:
            assert after.status_code == 304 and after.headers["ETag"] == etag
            break
    else:
        pytest.fail("three 30-second slots changed during the test")


def test_expire_holds_writes_once_when_a_hold_ran_out(app, runner, coalition):
    event_id = make_event(app, capacity=1, hold_hours=1)
    make_event(app, slug="druga", capacity=5)
    with app.app_context():
        earlier = utcnow() - timedelta(hours=2)
        register(load_event(event_id), person(1), now=earlier)
        waiting = register(load_event(event_id), person(2), now=earlier).registration.id
        version = data_version()
        assert expire_holds() == 1
        assert data_version() == version + 1
        assert db.session.get(Registration, waiting).status == RegistrationStatus.OFFERED
        assert expire_holds() == 0
        assert data_version() == version + 1


# ---- through HTTP: the person sees what happened -----------------------------------------------


def test_a_second_cancellation_through_the_link_says_it_was_cancelled_already(app, client, coalition):
    event_id = make_event(app)
    with app.app_context():
        registration = register(load_event(event_id), person(1)).registration
        path = f"/wydarzenia/rezygnacja/{make_token(CANCEL_PURPOSE, {'r': registration.id, 'n': registration.code})}"
    token = csrf_token_from(client.get(path))
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    with app.app_context():
        version = data_version()
    again = client.post(path, data={"csrf_token": token})
    assert again.status_code == 303
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "To zgłoszenie zostało już anulowane." in page
    with app.app_context():
        assert data_version() == version


def test_a_confirmation_link_of_a_cancelled_event_leads_to_the_event_page(app, client, coalition):
    event_id = make_event(app)
    with app.app_context():
        registration = register(load_event(event_id), person(1)).registration
        path = "/wydarzenia/potwierdz/" + token_of(registration)
    token = csrf_token_from(client.get(path))
    with app.app_context():
        cancel_event(db.session.get(Event, event_id))
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(event_url())
    assert "To wydarzenie zostało odwołane." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_two_coordinators_creating_the_same_event_at_once_get_two_addresses(app, coalition):
    """Five drafts titled "Gala" saved at the same moment, each in its own thread and transaction:
    the coalition's lock gives each a free address (before: the unique constraint failed, a 500)."""
    import threading

    from koalicja.coalitions.models import Coalition

    with app.app_context():
        coalition_id = db.session.scalar(select(Coalition.id).where(Coalition.slug == coalition))
    start = utcnow() + timedelta(days=10)
    barrier = threading.Barrier(5)
    failures = []

    def create(_number):
        with app.app_context():
            event = Event(coalition_id=coalition_id, title="Gala", starts_at=start, ends_at=start + timedelta(hours=3))
            barrier.wait()
            try:
                save_event(event, {"slug": "gala"})
            except Exception as error:  # noqa: BLE001 (reported below)
                failures.append(error)

    threads = [threading.Thread(target=create, args=(number,)) for number in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    with app.app_context():
        slugs = db.session.scalars(select(Event.slug).where(Event.coalition_id == coalition_id)).all()
    assert sorted(slugs) == ["gala", "gala-2", "gala-3", "gala-4", "gala-5"]
