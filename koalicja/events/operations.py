"""Events and registrations: capacity, waiting list, holds, approval, check-in.

Every operation here that changes a registration's state or an event's places follows the
locking rule of koalicja/locking.py, with the event as the lock of both:

1. `lock(Event, id)` first (PostgreSQL: the event row `FOR UPDATE`; SQLite: the database's
   write lock, `BEGIN IMMEDIATE`), so that every writer of this event's places queues here;
2. then read again what it acts on (the registration loaded by the view, or from a link, is
   read afresh) and count places only now, so two requests never both see the last place or
   both act on one state;
3. decide; when the change no longer applies (already approved, cancelled, rejected …)
   `refuse(...)` with a `NoLongerApplies` error whose message says what happened: nothing is
   written, mailed or logged;
4. write, queue the e-mails and the audit entry, commit: all in the one transaction.

A lock that finds nothing to do writes nothing, so it leaves the data version (and with it
every cached page and ETag) alone: `expire_holds` locks only events that have a hold to end.
"""
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, true

from ..coalitions.loading import privacy_notice_text
from ..coalitions.models import Coalition, Declaration
from ..coordinators.audit import AuditAction, record
from ..exports import Column, Kind, Table
from ..extensions import db
from ..locking import NoLongerApplies, lock, refuse
from ..mail.addresses import mailbox_key
from ..signatures.models import Signature, SignatureStatus
from ..signatures.operations import digest
from ..text import escape_like, search_key
from ..timeutil import utcnow
from ..tokens import TokenInvalid, read_token
from .models import ACTIVE, HOLDING_PLACE, Event, EventStatus, Registration, RegistrationStatus
from .notifications import (
    CONFIRM_PURPOSE,
    notify_already_registered,
    notify_event_cancelled,
    notify_event_message,
    notify_registration_approval_pending,
    notify_registration_cancelled,
    notify_registration_confirmed,
    notify_registration_link,
    notify_registration_offer,
    notify_registration_rejected,
)

REMAIL_INTERVAL = timedelta(minutes=2)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the door


class Availability(StrEnum):
    DRAFT = "draft"
    CANCELLED = "cancelled"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"
    OPEN = "open"
    FULL = "full"  # open, but new registrations go to the waiting list


class RegistrationRefused(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


# ---- changes that no longer apply -------------------------------------------------------


class RegistrationNoLongerApplies(NoLongerApplies):
    """A change to a registration that its current state does not allow any more.

    `registration` is the row as it is now (None when it was deleted meanwhile).
    """

    message = _l("To zgłoszenie nie czeka już na tę zmianę.")

    def __init__(self, registration=None, message=None):
        super().__init__(message)
        self.registration = registration


class RegistrationDecisionNotAllowed(RegistrationNoLongerApplies):
    message = _l("To zgłoszenie nie czeka na akceptację.")


class RegistrationNotActive(RegistrationNoLongerApplies):
    """A cancellation of a registration that is not active any more."""


class LinkUsed(RegistrationNoLongerApplies):
    """A confirmation link that was used already (or whose registration moved on)."""

    message = _l("Ten link został już użyty.")


class EventNoLongerApplies(NoLongerApplies):
    """A change to an event that its current state does not allow any more."""


class AttendanceAlreadySet(RegistrationNoLongerApplies):
    pass


class EventCancelledMeanwhile(RegistrationNoLongerApplies):
    """The registration's event was cancelled: nothing more happens to its registrations."""

    message = _l("To wydarzenie zostało odwołane.")


# What happened to a registration, said to whoever wanted to change it afterwards.
_REGISTRATION_STATE_MESSAGES = {
    RegistrationStatus.CONFIRMED: _l("To zgłoszenie zostało już przyjęte."),
    RegistrationStatus.REJECTED: _l("To zgłoszenie zostało już odrzucone."),
    RegistrationStatus.CANCELLED: _l("To zgłoszenie zostało już anulowane."),
    RegistrationStatus.EXPIRED: _l("To zgłoszenie wygasło: czas na potwierdzenie minął."),
}
_REGISTRATION_GONE = _l("Tego zgłoszenia już nie ma: zostało usunięte.")


def _refuse_registration(error_class, registration, message=None):
    """Roll back and raise `error_class`, saying what happened to `registration`."""
    if registration is None:
        message = _REGISTRATION_GONE
    elif message is None:
        message = _REGISTRATION_STATE_MESSAGES.get(registration.status)
    refuse(error_class(registration, message))


def _lock_event_of(registration):
    """The registration's event, locked; then the registration read again after the lock
    (None when it was deleted meanwhile). Nothing read before the lock is trusted."""
    event = lock(Event, registration.event_id)
    return event, db.session.get(Registration, registration.id, populate_existing=True)


# ---- reading -----------------------------------------------------------------------------


def event_by_slug(coalition, slug):
    return db.session.scalar(select(Event).where(Event.coalition_id == coalition.id, Event.slug == slug))


def upcoming_events(coalition, now=None):
    now = now or utcnow()
    return db.session.scalars(
        select(Event)
        .where(Event.coalition_id == coalition.id, Event.status != EventStatus.DRAFT, Event.ends_at >= now)
        .order_by(Event.starts_at)
    ).all()


def past_events(coalition, now=None):
    now = now or utcnow()
    return db.session.scalars(
        select(Event)
        .where(Event.coalition_id == coalition.id, Event.status != EventStatus.DRAFT, Event.ends_at < now)
        .order_by(Event.starts_at.desc())
    ).all()


def _places_sum(event, *conditions):
    return db.session.scalar(
        select(func.coalesce(func.sum(1 + Registration.companions), 0)).where(
            Registration.event_id == event.id, Registration.status.in_(HOLDING_PLACE), *conditions
        )
    )


def places_taken(event):
    return _places_sum(event)


def places_left(event, for_ally=False):
    """Free places for a newcomer; None when the event has no limit."""
    if event.capacity is None:
        return None
    left = event.capacity - places_taken(event)
    if not for_ally and event.reserved_for_allies:
        open_to_all = event.capacity - event.reserved_for_allies
        left = min(left, open_to_all - _places_sum(event, Registration.is_ally.is_(False)))
    return max(left, 0)


def _fits(event, places, ally):
    left = places_left(event, for_ally=ally)
    return left is None or places <= left


def availability(event, now=None, places=None):
    """Whether a newcomer can register now; `places`: places_left(event) when the caller has it."""
    now = now or utcnow()
    if event.status == EventStatus.DRAFT:
        return Availability.DRAFT
    if event.status == EventStatus.CANCELLED:
        return Availability.CANCELLED
    if event.registration_opens_at and now < event.registration_opens_at:
        return Availability.NOT_YET_OPEN
    if now >= (event.registration_closes_at or event.starts_at):
        return Availability.CLOSED
    if event.capacity is not None and (places_left(event) if places is None else places) == 0:
        return Availability.FULL
    return Availability.OPEN


def waiting_position(registration):
    if registration.status != RegistrationStatus.WAITING:
        return None
    ahead = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITING,
            Registration.id < registration.id,
        )
    )
    return ahead + 1


def is_approved_ally(coalition_id, email_key):
    return (
        db.session.scalar(
            select(func.count(Signature.id))
            .join(Declaration, Signature.declaration_id == Declaration.id)
            .where(
                Declaration.coalition_id == coalition_id,
                Signature.email_key == email_key,
                Signature.status == SignatureStatus.APPROVED,
            )
        )
        > 0
    )


def registrations_for(event, status=None, query=""):
    """The event's registrations in the order they came, of one status and matching `query`."""
    select_ = select(Registration).where(Registration.event_id == event.id, *_matching(query))
    if status:
        select_ = select_.where(Registration.status == status)
    return db.session.scalars(select_.order_by(Registration.created_at, Registration.id)).all()


def _matching(query):
    """Conditions for a search by name, organisation, e-mail or ticket code (case and Polish
    letters ignored, `lodz` finds `Łódź`; a code with or without its dash): none for no query."""
    needle = search_key(query[:100]).strip()
    if not needle:
        return ()
    pattern = f"%{escape_like(needle)}%"
    code = needle.replace("-", "").replace(" ", "").upper()
    return (
        Registration.search_text.like(pattern, escape="\\")
        | func.lower(Registration.email).like(pattern, escape="\\")
        | (Registration.code == code),
    )


def status_counts(event):
    rows = db.session.execute(
        select(Registration.status, func.count(Registration.id), func.sum(1 + Registration.companions))
        .where(Registration.event_id == event.id)
        .group_by(Registration.status)
    ).all()
    return {status: (count, places) for status, count, places in rows}


def attended_events(email_keys, coalition_condition=None):
    """Titles of events each person was checked in at, newest first (shown on an ally's record).

    `coalition_condition` (on Event.coalition_id) keeps to the viewer's coalitions: attending
    another coalition's event is that coalition's knowledge, not theirs.
    """
    rows = db.session.execute(
        select(Registration.email_key, Event.title)
        .join(Event, Registration.event_id == Event.id)
        .where(
            Registration.email_key.in_(set(email_keys)),
            Registration.attended_at.is_not(None),
            coalition_condition if coalition_condition is not None else true(),
        )
        .order_by(Event.starts_at.desc())
    ).all()
    attended = {}
    for email_key, title in rows:
        attended.setdefault(email_key, []).append(title)
    return attended


# ---- changing places (always under the event lock) ----------------------------------------


def _stale_hold(now):
    """A place held for a confirmation that did not come in time."""
    return (
        Registration.status.in_((RegistrationStatus.PENDING, RegistrationStatus.OFFERED))
        & (Registration.hold_expires_at < now)
    )


def _expire_stale_holds(event, now):
    """End the holds of this event that ran out (under its lock); True when there were any."""
    stale = db.session.scalars(
        select(Registration).where(Registration.event_id == event.id, _stale_hold(now))
    ).all()
    for registration in stale:
        registration.status = RegistrationStatus.EXPIRED
        registration.confirm_nonce = None
    return bool(stale)


def _promote_waiting(event, now):
    """Offer freed places to the waiting list in order, skipping whoever does not fit.

    Only before the event starts (nobody is invited to something already under way) and
    only for a published event. Call it under the event lock.
    """
    if event.status != EventStatus.PUBLISHED or now >= event.starts_at:
        return
    for registration in registrations_for(event, RegistrationStatus.WAITING):
        if event.capacity is not None and places_left(event, for_ally=True) == 0:
            return
        if _fits(event, registration.places, registration.is_ally):
            _offer_place(registration, event, now)


def _offer_place(registration, event, now):
    """A place held for `hold_hours` for someone from the waiting list, and the e-mail saying so."""
    registration.status = RegistrationStatus.OFFERED
    registration.hold_expires_at = now + timedelta(hours=event.hold_hours)
    # An unused link from the first e-mail keeps working for the offer.
    registration.confirm_nonce = registration.confirm_nonce or secrets.token_hex(8)
    db.session.flush()
    notify_registration_offer(registration)


def _new_code():
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if not db.session.scalar(select(Registration.id).where(Registration.code == code)):
            return code


@dataclass
class RegisterResult:
    registration: Registration
    new: bool


def register(event, data, language="pl", now=None):
    """Take a place or a spot on the waiting list; raises RegistrationRefused with a reason.

    Holds that ran out are ended first and their places offered to the waiting list, so a
    newcomer never takes a place before the people who waited for it.
    """
    event = lock(Event, event.id)
    now = now or utcnow()  # after the lock: the times of changes follow the order they were made
    if _expire_stale_holds(event, now):
        _promote_waiting(event, now)
    state = availability(event, now)
    if state not in (Availability.OPEN, Availability.FULL):
        refuse(RegistrationRefused(state.value))
    key = mailbox_key(data["email"])
    ally = is_approved_ally(event.coalition_id, key)
    if event.allies_only and not ally:
        refuse(RegistrationRefused("allies_only"))
    companions = int(data.get("companions") or 0)
    if companions > event.max_companions:
        refuse(RegistrationRefused("too_many_companions"))
    organisation_key = search_key((data.get("organisation") or "").strip()).strip()

    existing = _active_registration(event, key)
    if existing is not None:
        _remind(existing, now)
        db.session.commit()
        return RegisterResult(existing, new=False)
    if event.max_per_organisation and organisation_key:
        sent = db.session.scalar(
            select(func.coalesce(func.sum(1 + Registration.companions), 0)).where(
                Registration.event_id == event.id,
                Registration.organisation_key == organisation_key,
                Registration.status.in_(ACTIVE),
            )
        )
        if sent + 1 + companions > event.max_per_organisation:
            refuse(RegistrationRefused("organisation_limit"))

    places = 1 + companions
    holds = _fits(event, places, ally)
    registration = _new_registration(
        event,
        data,
        now,
        is_ally=ally,
        status=RegistrationStatus.PENDING if holds else RegistrationStatus.WAITING,
        confirm_nonce=secrets.token_hex(8),
        language=language,
        hold_expires_at=now + timedelta(hours=event.hold_hours) if holds else None,
    )
    notify_registration_link(registration, waiting_position(registration))
    db.session.commit()
    return RegisterResult(registration, new=True)


def _active_registration(event, email_key):
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.email_key == email_key, Registration.status.in_(ACTIVE)
        )
    )


def _new_registration(event, data, now, consents=None, **state):
    """A registration from the form's answers (`data`), with its consent record, added and flushed."""
    organisation = (data.get("organisation") or "").strip()
    registration = Registration(
        event=event,
        full_name=data["full_name"],
        email=data["email"],
        email_key=mailbox_key(data["email"]),
        organisation=organisation,
        organisation_key=search_key(organisation).strip(),
        search_text=search_key(f"{data['full_name']} {organisation}")[:600],
        companions=int(data.get("companions") or 0),
        needs=data.get("needs") or "",
        code=_new_code(),
        consents={
            "at": now.isoformat(timespec="seconds") + "Z",
            "privacy_notice_sha256": digest(privacy_notice_text(event.coalition)),
            **(consents or {}),
        },
        last_mailed_at=now,
        **state,
    )
    db.session.add(registration)
    db.session.flush()
    return registration


def _remind(registration, now):
    if registration.last_mailed_at and now - registration.last_mailed_at < REMAIL_INTERVAL:
        return
    registration.last_mailed_at = now
    if registration.confirm_nonce and registration.status in (
        RegistrationStatus.PENDING,
        RegistrationStatus.WAITING,
        RegistrationStatus.OFFERED,
    ):
        notify_registration_link(registration, waiting_position(registration))
    else:
        notify_already_registered(registration)


class HoldExpired(Exception):
    """The hold ran out before the confirmation: the place went on (that much is committed)."""

    def __init__(self, registration):
        self.registration = registration


def registration_from_token(purpose, token, max_age_seconds, nonce_field):
    payload = read_token(purpose, token, max_age_seconds)
    registration_id = payload.get("r") if isinstance(payload, dict) else None
    registration = db.session.get(Registration, registration_id) if isinstance(registration_id, int) else None
    if registration is None:
        raise TokenInvalid
    expected = getattr(registration, nonce_field)
    if expected is None:
        raise LinkUsed(registration)
    if not secrets.compare_digest(str(payload.get("n")), expected):
        raise TokenInvalid
    return registration


CONFIRMABLE = (RegistrationStatus.PENDING, RegistrationStatus.WAITING, RegistrationStatus.OFFERED)


def registration_for_confirmation(token, max_age_seconds):
    registration = registration_from_token(CONFIRM_PURPOSE, token, max_age_seconds, "confirm_nonce")
    if registration.status not in CONFIRMABLE:
        raise LinkUsed(registration, _REGISTRATION_STATE_MESSAGES.get(registration.status))
    return registration


def confirm_registration(token, max_age_seconds, now=None):
    """The person pressed the button from the e-mail: their address is real, their place is theirs.

    The same link posted twice (or twenty times at once) confirms once: the second finds the
    link used (LinkUsed) and sends no second ticket.
    """
    registration = registration_for_confirmation(token, max_age_seconds)
    nonce = registration.confirm_nonce
    event, registration = _lock_event_of(registration)
    now = now or utcnow()
    if registration is None:
        refuse(TokenInvalid())
    if registration.confirm_nonce != nonce or registration.status not in CONFIRMABLE:
        _refuse_registration(LinkUsed, registration)
    if event.status == EventStatus.CANCELLED:
        refuse(EventCancelledMeanwhile(registration))  # no ticket for a cancelled event
    if _expire_stale_holds(event, now):
        _promote_waiting(event, now)
    if registration.status == RegistrationStatus.EXPIRED:
        db.session.commit()  # the hold's end and the offer it makes to the next person apply
        raise HoldExpired(registration)
    registration.email_confirmed_at = registration.email_confirmed_at or now
    registration.confirm_nonce = None
    if registration.status in (RegistrationStatus.PENDING, RegistrationStatus.OFFERED):
        registration.hold_expires_at = None
        if event.requires_approval:
            registration.status = RegistrationStatus.APPROVAL
            notify_registration_approval_pending(registration)
        else:
            registration.status = RegistrationStatus.CONFIRMED
            notify_registration_confirmed(registration)
    db.session.commit()
    return registration


def cancel_registration(registration, now=None, by=None):
    """The person gives up their place (or waiting spot); the next who fits is offered it.

    With `by`, a coordinator cancels on the person's behalf: the person is told by e-mail and
    the cancellation is audited. Raises RegistrationNotActive (nothing changed) when the
    registration was cancelled, rejected or expired already, or deleted.
    """
    event, registration = _lock_event_of(registration)
    now = now or utcnow()
    if registration is None or registration.status not in ACTIVE:
        _refuse_registration(RegistrationNotActive, registration)
    if by is not None:
        notify_registration_cancelled(registration)
        _audit_registration(registration, _l("anulowane przez osobę koordynującą"), by)
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    registration.confirm_nonce = None
    _expire_stale_holds(event, now)
    _promote_waiting(event, now)
    db.session.commit()
    return registration


def expire_holds(now=None):
    """For a scheduler: pass on places whose holds ran out, for every upcoming event.

    Only events with a hold that ran out are locked (and written): a run that finds nothing
    leaves the data version, and every cached page, as it was. Two servers running it at
    once are safe: the second finds, under the lock, that the first has ended the holds.
    Returns how many events had holds that ended.
    """
    now = now or utcnow()
    event_ids = db.session.scalars(
        select(Event.id)
        .where(
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at > now,
            exists().where(Registration.event_id == Event.id, _stale_hold(now)),
        )
        .order_by(Event.id)
    ).all()
    expired = 0
    for event_id in event_ids:
        event = lock(Event, event_id)
        if event is not None and _expire_stale_holds(event, now):
            expired += 1
            _promote_waiting(event, now)
        db.session.commit()  # writes nothing when another server got here first
    return expired


def decide_registration(registration, approve, coordinator, now=None):
    """A coordinator accepts or rejects a registration that waits for approval.

    Raises RegistrationDecisionNotAllowed (nothing changed, sent or logged) when it does not
    wait any more: already decided, cancelled by the person, expired, deleted, or the event
    was cancelled. A rejection offers the freed place to the waiting list.
    """
    event, registration = _lock_event_of(registration)
    now = now or utcnow()
    if registration is None or registration.status != RegistrationStatus.APPROVAL:
        _refuse_registration(RegistrationDecisionNotAllowed, registration)
    if event.status == EventStatus.CANCELLED:
        refuse(EventCancelledMeanwhile(registration))
    _audit_registration(registration, _l("przyjęte") if approve else _l("odrzucone"), coordinator)
    registration.decided_at = now
    registration.decided_by_id = coordinator.id
    if approve:
        registration.status = RegistrationStatus.CONFIRMED
        notify_registration_confirmed(registration)
    else:
        registration.status = RegistrationStatus.REJECTED
        notify_registration_rejected(registration)
        _expire_stale_holds(event, now)
        _promote_waiting(event, now)
    db.session.commit()
    return registration


def forget_unconfirmed_registrations(cutoff, now=None):
    """Delete registrations whose address was never confirmed, made before `cutoff`.

    A deleted registration may have held a place: each event is locked and its waiting
    list moves up, as after a cancellation.
    """
    now = now or utcnow()
    # A person added by a coordinator never confirms by e-mail: their consent is on record.
    stale = (
        Registration.email_confirmed_at.is_(None)
        & Registration.added_by_id.is_(None)
        & (Registration.created_at < cutoff)
    )
    event_ids = db.session.scalars(select(Registration.event_id).where(stale).distinct().order_by(Registration.event_id)).all()
    removed = 0
    for event_id in event_ids:
        event = lock(Event, event_id)
        deleted = db.session.execute(db.delete(Registration).where(Registration.event_id == event_id, stale)).rowcount
        if deleted:  # the DELETE decides under the lock; another run may have done it already
            removed += deleted
            _expire_stale_holds(event, now)
            _promote_waiting(event, now)
        db.session.commit()
    return removed


# ---- coordinators running the registrations ----------------------------------------------
# A coordinator may give anyone a place reserved for allies (they know who comes), never a
# place beyond the capacity; the person's e-mail and the audit entry go with each change.


class NotEnoughPlaces(RegistrationNoLongerApplies):
    """A change that needs more free places than the event has now."""


class AlreadyRegistered(NoLongerApplies):
    message = _l("Ta osoba (ten adres e-mail) jest już zapisana na to wydarzenie.")


def _refuse_unless_fits(event, places, registration=None):
    left = places_left(event, for_ally=True)  # a coordinator may fill the allies' reserved places
    if left is not None and places > left:
        refuse(
            NotEnoughPlaces(
                registration,
                _l("Wolnych miejsc jest %(left)s, a potrzeba %(needed)s (z osobami towarzyszącymi).", left=left, needed=places),
            )
        )


def _refuse_if_event_cancelled(event, registration=None):
    if event.status == EventStatus.CANCELLED:
        refuse(EventCancelledMeanwhile(registration))


def add_registration_by_coordinator(event, data, by, language="pl", now=None):
    """A coordinator adds a person by hand (a phone call, an e-mail, at the door).

    The person gets a confirmed place and the ticket e-mail at once: the coordinator vouches
    for them, and their consent is recorded as given to this coordinator. The capacity holds
    (NotEnoughPlaces); the registration window, the allies-only rule and the cap per
    organisation are the coordinator's to judge. AlreadyRegistered when the address has an
    active registration for this event.
    """
    event = lock(Event, event.id)
    now = now or utcnow()
    _refuse_if_event_cancelled(event)
    if _expire_stale_holds(event, now):
        _promote_waiting(event, now)
    key = mailbox_key(data["email"])
    if _active_registration(event, key) is not None:
        refuse(AlreadyRegistered())
    _refuse_unless_fits(event, 1 + int(data.get("companions") or 0))
    registration = _new_registration(
        event,
        data,
        now,
        consents={"given_to": "coordinator", "coordinator_id": by.id, "coordinator_name": by.name},
        is_ally=is_approved_ally(event.coalition_id, key),
        status=RegistrationStatus.CONFIRMED,
        language=language,
        added_by_id=by.id,
    )
    notify_registration_confirmed(registration)
    _audit_registration(registration, _l("dodane ręcznie: %(name)s", name=registration.full_name), by)
    db.session.commit()
    return registration


class TicketNotAvailable(RegistrationNoLongerApplies):
    message = _l("Bilet ma tylko osoba z potwierdzonym miejscem.")


def resend_ticket(registration, by, now=None):
    """The ticket e-mail again (QR code, .ics, link to the ticket page), for a confirmed place."""
    event, registration = _lock_event_of(registration)
    if registration is None or registration.status != RegistrationStatus.CONFIRMED:
        _refuse_registration(TicketNotAvailable, registration)  # says why: cancelled, waiting …
    _refuse_if_event_cancelled(event, registration)
    registration.last_mailed_at = now or utcnow()
    notify_registration_confirmed(registration)
    _audit_registration(registration, _l("bilet wysłany ponownie"), by)
    db.session.commit()
    return registration


class NotWaiting(RegistrationNoLongerApplies):
    message = _l("Ta osoba nie czeka już na liście oczekujących.")


def promote_now(registration, by, now=None):
    """Offer a place to this person on the waiting list now, whatever their position.

    The same offer as the automatic one: the place is held for `hold_hours` and the person
    confirms it with the e-mailed link. NotWaiting when they are no longer on the list
    (offered a place, cancelled …), NotEnoughPlaces when their places are not free.
    """
    event, registration = _lock_event_of(registration)
    now = now or utcnow()
    if registration is None or registration.status != RegistrationStatus.WAITING:
        offered = registration is not None and registration.status == RegistrationStatus.OFFERED
        _refuse_registration(NotWaiting, registration, _l("Ta osoba ma już zaproponowane miejsce.") if offered else None)
    _refuse_if_event_cancelled(event, registration)
    expired = _expire_stale_holds(event, now)
    _refuse_unless_fits(event, registration.places, registration)
    _offer_place(registration, event, now)
    _audit_registration(registration, _l("zaproszone z listy oczekujących"), by)
    if expired:  # more places came free than this person takes: the list moves up as usual
        _promote_waiting(event, now)
    db.session.commit()
    return registration


class CompanionsUnchanged(RegistrationNoLongerApplies):
    pass


def change_companions(registration, companions, by, now=None):
    """Set how many people come with this person. More places must be free (NotEnoughPlaces);
    fewer free places that the waiting list is offered at once. A person on the waiting list
    keeps their position, now with the new number."""
    event, registration = _lock_event_of(registration)
    now = now or utcnow()
    if registration is None or registration.status not in ACTIVE:
        _refuse_registration(RegistrationNotActive, registration)
    if registration.companions == companions:
        _refuse_registration(
            CompanionsUnchanged,
            registration,
            _l("Ta osoba ma już tyle osób towarzyszących: %(count)s.", count=companions),
        )
    _refuse_if_event_cancelled(event, registration)
    _expire_stale_holds(event, now)
    if registration.holds_place and companions > registration.companions:
        _refuse_unless_fits(event, companions - registration.companions, registration)
    _audit_registration(
        registration,
        _l("osoby towarzyszące: %(before)s → %(after)s", before=registration.companions, after=companions),
        by,
    )
    registration.companions = companions
    db.session.flush()
    _promote_waiting(event, now)
    db.session.commit()
    return registration


# ---- coordinators' event management ----------------------------------------------------
# With `by` (the coordinator acting), each action is audited in the transaction it commits.


def _audit_event(event, what, by, action=AuditAction.EVENT, subject=None):
    if by is not None:
        summary = _l("%(event)s: %(what)s", event=event.title, what=what)
        record(action, summary, coalition_id=event.coalition_id, subject=subject or event, coordinator=by)


def _audit_registration(registration, what, by):
    what = _l("zgłoszenie nr %(number)s: %(what)s", number=registration.id, what=what)
    _audit_event(registration.event, what, by, AuditAction.REGISTRATION, registration)


def save_event(event, data, by=None, now=None):
    """Create a draft (an Event without id) or change an event's data (`data`: its fields).

    A change takes the event's lock first (it may change its places): more places, or fewer
    reserved for allies, are offered to the waiting list at once. A new or changed address
    (`data["slug"]`, as wanted) is made unique within the coalition under the coalition's lock,
    so two coordinators creating "gala" at the same moment get `gala` and `gala-2`.
    """
    now = now or utcnow()
    created = event.id is None
    data = dict(data)
    wanted_slug = data.pop("slug", None)
    if wanted_slug:
        lock(Coalition, event.coalition_id)
    if not created:
        event = lock(Event, event.id)
    if wanted_slug:
        event.slug = _free_slug(event.coalition_id, wanted_slug, event.id)
    for name, value in data.items():
        setattr(event, name, value)
    if not created and db.session.is_modified(event):
        event.mark_changed(now)
    db.session.add(event)
    _audit_event(event, _l("utworzono wersję roboczą") if created else _l("zmieniono dane"), by)
    if not created:
        db.session.flush()
        _expire_stale_holds(event, now)
        _promote_waiting(event, now)
    db.session.commit()
    return event


def _free_slug(coalition_id, wanted, event_id=None):
    """`wanted`, or `wanted-2`, `wanted-3` … : the first address no other event of the coalition has."""
    slug, number = wanted, 2
    while db.session.scalar(
        select(Event.id).where(Event.coalition_id == coalition_id, Event.slug == slug, Event.id != (event_id or 0))
    ):
        slug, number = f"{wanted}-{number}", number + 1
    return slug


def publish_event(event, by=None):
    """Publish a draft; EventNoLongerApplies when it is published or cancelled already."""
    event = lock(Event, event.id)
    if event.status == EventStatus.PUBLISHED:
        refuse(EventNoLongerApplies(_l("To wydarzenie jest już opublikowane.")))
    if event.status != EventStatus.DRAFT:
        refuse(EventNoLongerApplies(_l("To wydarzenie zostało odwołane.")))
    event.status = EventStatus.PUBLISHED
    _audit_event(event, _l("opublikowano"), by)
    db.session.commit()
    return event


def cancel_event(event, now=None, by=None):
    """Cancel the event and tell everyone still registered (the waiting list included, not
    those who cancelled, were rejected or let their hold run out); returns how many.

    EventNoLongerApplies (nothing sent twice) when it was cancelled already.
    """
    event = lock(Event, event.id)
    now = now or utcnow()
    if event.status == EventStatus.CANCELLED:
        refuse(EventNoLongerApplies(_l("To wydarzenie zostało już odwołane.")))
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
    event.mark_changed(now)
    _audit_event(event, _l("odwołano"), by)
    registrations = db.session.scalars(
        select(Registration).where(Registration.event_id == event.id, Registration.status.in_(ACTIVE))
    ).all()
    for registration in registrations:
        notify_event_cancelled(registration)
    db.session.commit()
    return len(registrations)


AUDIENCE_HOLDING_PLACE = "z-miejscem"
AUDIENCE_ALL = "wszyscy"


def message_registrants(event, subject, body, audience, by=None):
    """Queue a message to the registrations holding a place (or all active ones); under the
    event's lock, so it goes to exactly those registered when it is sent."""
    event = lock(Event, event.id)
    statuses = HOLDING_PLACE if audience == AUDIENCE_HOLDING_PLACE else ACTIVE
    registrations = db.session.scalars(
        select(Registration).where(Registration.event_id == event.id, Registration.status.in_(statuses))
    ).all()
    for registration in registrations:
        notify_event_message(registration, subject, body)
    _audit_event(event, _l("wiadomość do zapisanych osób: %(subject)s", subject=subject), by)
    db.session.commit()
    return len(registrations)


def check_in_candidates(event, query="", limit=30):
    return db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_(HOLDING_PLACE), *_matching(query))
        .order_by(Registration.full_name)
        .limit(limit)
    ).all()


def attended_count(event):
    return db.session.scalar(
        select(func.coalesce(func.sum(1 + Registration.companions), 0)).where(
            Registration.event_id == event.id, Registration.attended_at.is_not(None)
        )
    )


def registration_by_code(event, code):
    normalised = (code or "").replace("-", "").replace(" ", "").upper()[:12]
    return db.session.scalar(
        select(Registration).where(Registration.event_id == event.id, Registration.code == normalised)
    )


def set_attendance(registration, attended, now=None, by=None):
    """Mark a person present at the door (or undo it). AttendanceAlreadySet when a second
    scan or tap finds it done already: the first time stays, logged once."""
    _event, registration = _lock_event_of(registration)
    if registration is None:
        _refuse_registration(AttendanceAlreadySet, None)
    if attended and registration.attended_at is not None:
        _refuse_registration(AttendanceAlreadySet, registration, _l("Obecność tej osoby jest już potwierdzona."))
    if not attended and registration.attended_at is None:
        _refuse_registration(AttendanceAlreadySet, registration, _l("Obecność tej osoby nie jest potwierdzona."))
    registration.attended_at = (now or utcnow()) if attended else None
    _audit_registration(registration, _l("obecność potwierdzona") if attended else _l("obecność cofnięta"), by)
    db.session.commit()
    return registration


def record_registrations_export(event, file_format, by=None):
    """The record of personal data leaving the app (the list of registrations), committed on
    its own: reading alone commits nothing, so the view does not."""
    _audit_event(event, _l("pobrano listę zapisów (%(format)s)", format=file_format.upper()), by, action=AuditAction.EXPORT)
    db.session.commit()


REGISTRATION_EXPORT_COLUMNS = [
    Column("name", _l("Imię i nazwisko")),
    Column("email", _l("E-mail")),
    Column("organisation", _l("Organizacja")),
    Column("companions", _l("Osoby towarzyszące"), Kind.NUMBER),
    Column("status", _l("Status")),
    Column("ally", _l("Sojusznik/czka")),
    Column("needs", _l("Potrzeby")),
    Column("code", _l("Kod")),
    Column("created_at", _l("Zapis (czas polski)"), Kind.MOMENT),
    Column("attended_at", _l("Obecność (czas polski)"), Kind.MOMENT),
]


def registrations_table(event):
    """Everyone registered for the event, oldest first, for a CSV or XLSX download."""
    yes, no = str(_l("tak")), str(_l("nie"))
    return Table(
        REGISTRATION_EXPORT_COLUMNS,
        [
            (r.full_name, r.email, r.organisation, r.companions, str(r.status_label), yes if r.is_ally else no,
             r.needs, r.code, r.created_at, r.attended_at)
            for r in registrations_for(event)
        ],
        title=str(_l("Zapisy")),
    )
