"""What koalicja/events/operations.py does beyond its guards: the link mailed again to someone
who registers twice (not more often than every two minutes), the scheduler's end of holds (only
published events not yet started, counted per event), a person added by a coordinator after a
hold ran out, an edit keeping the event's address, and the archive of past events."""
from datetime import timedelta

from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event, EventStatus, Registration, RegistrationStatus
from koalicja.events.operations import (
    REMAIL_INTERVAL,
    add_registration_by_coordinator,
    confirm_registration,
    expire_holds,
    past_events,
    register,
    save_event,
)
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.timeutil import utcnow

from ..conftest import csrf_token_from
from .conftest import event_url, load_event, make_event
from .test_operations_guards import MAX_AGE, boss, person, token_of  # noqa: F401  (boss: the fixture)


def mails_to(email):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email).order_by(OutboxMessage.id)).all()


def test_registering_again_mails_the_link_again_after_two_minutes_and_not_sooner(app, coalition):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        start = utcnow()
        register(load_event(event_id), person(1), now=start)  # the only place
        waiting = register(load_event(event_id), person(2), now=start).registration
        assert [m.template for m in mails_to("osoba2@example.org")] == ["registration_confirm_to_registrant"]
        assert not register(load_event(event_id), person(2), now=start + REMAIL_INTERVAL - timedelta(seconds=1)).new
        assert len(mails_to("osoba2@example.org")) == 1
        register(load_event(event_id), person(2), now=start + REMAIL_INTERVAL)
        again = mails_to("osoba2@example.org")[-1]
        assert again.template == "registration_confirm_to_registrant"
        assert token_of(waiting) in again.body_text and "miejsce w kolejce: 1" in again.body_text
        # Two minutes count from the latest e-mail, not the first.
        register(load_event(event_id), person(2), now=start + REMAIL_INTERVAL + timedelta(minutes=1))
        assert len(mails_to("osoba2@example.org")) == 2


def test_someone_waiting_with_a_confirmed_address_is_told_they_are_registered_not_sent_a_used_link(app, coalition):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        start = utcnow()
        register(load_event(event_id), person(1), now=start)
        waiting = register(load_event(event_id), person(2), now=start).registration
        confirm_registration(token_of(waiting), MAX_AGE, now=start)  # confirms the address; still waiting
        assert waiting.status == RegistrationStatus.WAITING and waiting.confirm_nonce is None
        register(load_event(event_id), person(2), now=start + REMAIL_INTERVAL)
        assert mails_to("osoba2@example.org")[-1].template == "registration_exists_to_registrant"


def _stale_hold_at(app, **event):
    """An event whose one pending registration's hold ran out an hour ago; its id and the registration's."""
    event_id = make_event(app, **event)
    with app.app_context():
        registration = register(load_event(event_id), {**person(event_id), "email": f"h{event_id}@example.org"}).registration
        registration.hold_expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        return event_id, registration.id


def status_of(registration_id):
    return db.session.get(Registration, registration_id).status


def test_the_scheduler_ends_holds_only_of_published_events_not_yet_started_and_counts_the_events(app, coalition):
    ended = [_stale_hold_at(app, slug=f"otwarte-{n}") for n in range(2)]
    _event, cancelled = _stale_hold_at(app, slug="odwolane")
    _event, started = _stale_hold_at(app, slug="trwa")
    with app.app_context():
        for slug, changes in (("odwolane", {"status": EventStatus.CANCELLED}),
                              ("trwa", {"starts_at": utcnow() - timedelta(minutes=5)})):
            event = db.session.scalar(select(Event).where(Event.slug == slug))
            for name, value in changes.items():
                setattr(event, name, value)
        db.session.commit()
        assert expire_holds() == 2
        assert [status_of(registration_id) for _event, registration_id in ended] == [RegistrationStatus.EXPIRED] * 2
        assert status_of(cancelled) == status_of(started) == RegistrationStatus.PENDING


def test_a_person_added_by_a_coordinator_after_a_hold_ran_out_comes_after_the_waiting_list(app, coalition, boss):
    event_id = make_event(app, capacity=2)
    with app.app_context():
        start = utcnow()
        holder = register(load_event(event_id), person(1), now=start).registration
        register(load_event(event_id), person(2), now=start)  # the second place, held
        waiting = register(load_event(event_id), person(3), now=start).registration
        later = start + timedelta(hours=load_event(event_id).hold_hours, minutes=1)
        # Both holds ran out: the waiting person is offered one place, the coordinator's guest takes the other.
        added = add_registration_by_coordinator(load_event(event_id), person(5), db.session.get(Coordinator, boss), now=later)
        assert status_of(holder.id) == RegistrationStatus.EXPIRED
        assert status_of(waiting.id) == RegistrationStatus.OFFERED
        assert added.status == RegistrationStatus.CONFIRMED and added.companions == 0


def test_a_coordinator_may_add_a_person_without_companions_to_the_last_place(app, coalition, boss):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        added = add_registration_by_coordinator(load_event(event_id), person(1), db.session.get(Coordinator, boss))
        assert added.status == RegistrationStatus.CONFIRMED and added.places == 1


def test_an_ally_added_by_a_coordinator_is_marked_an_ally(app, coalition, boss):
    from ..declarations.test_allies import add_ally

    event_id = make_event(app)
    with app.app_context():
        add_ally(boss, full_name="Osoba 1", email="osoba1@example.org")
        added = add_registration_by_coordinator(load_event(event_id), person(1), db.session.get(Coordinator, boss))
        assert added.is_ally is True


def test_an_edit_keeps_the_events_address_and_is_logged_as_a_change(app, client, coalition, boss):
    event_id = make_event(app)
    with app.app_context():
        event = save_event(load_event(event_id), {"slug": "gala", "title": "Gala Sąsiedzka"}, by=db.session.get(Coordinator, boss))
        assert event.slug == "gala"
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry.summary == "Gala Sąsiedzka: zmieniono dane"
    assert "Gala Sąsiedzka" in client.get(event_url("gala")).get_data(as_text=True)


def test_the_archive_shows_this_coalitions_ended_events_newest_first_and_no_drafts(app, client, coalition):
    now = utcnow().replace(microsecond=0)

    def ended(slug, days_ago, **changes):
        start = now - timedelta(days=days_ago)
        return make_event(app, slug=slug, title=f"Wydarzenie {slug}", starts_at=start, ends_at=start + timedelta(hours=2),
                          **changes)

    ended("starsze", 20)
    ended("nowsze", 10)
    ended("szkic", 5, status=EventStatus.DRAFT)
    make_event(app, slug="teraz", title="Wydarzenie teraz", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    with app.app_context():
        other = Coalition(slug="reintegracja", name="Reintegracja", organiser="Fundacja")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    ended("cudze", 3, coalition_id=other_id)
    page = client.get("/sasiedztwa/wydarzenia/archiwum").get_data(as_text=True)
    shown = [slug for slug in ("nowsze", "starsze", "szkic", "teraz", "cudze") if f"Wydarzenie {slug}" in page]
    assert shown == ["nowsze", "starsze"]
    assert page.index("Wydarzenie nowsze") < page.index("Wydarzenie starsze")


def test_at_the_events_exact_start_the_scheduler_leaves_its_holds_and_at_its_exact_end_it_is_past(app, coalition):
    event_id, registration_id = _stale_hold_at(app)
    with app.app_context():
        event = load_event(event_id)
        assert expire_holds(now=event.starts_at) == 0  # under way: nobody is offered a place any more
        assert status_of(registration_id) == RegistrationStatus.PENDING
        assert past_events(event.coalition, now=event.ends_at) == []
        assert past_events(event.coalition, now=event.ends_at + timedelta(seconds=1)) == [event]


def test_confirming_after_the_hold_ran_out_says_so_links_the_event_and_passes_the_place_on(app, client, coalition):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        holder = register(load_event(event_id), person(1)).registration
        waiting = register(load_event(event_id), person(2)).registration
        holder.hold_expires_at = utcnow() - timedelta(minutes=1)  # the scheduler has not run yet
        db.session.commit()
        link, waiting_id = f"/wydarzenia/potwierdz/{token_of(holder)}", waiting.id
    page = client.get(link)
    response = client.post(link, data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 410
    text = response.get_data(as_text=True)
    assert "Czas na potwierdzenie minął" in text and f'href="{event_url()}"' in text
    with app.app_context():
        assert status_of(waiting_id) == RegistrationStatus.OFFERED
