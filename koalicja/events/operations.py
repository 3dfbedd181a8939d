"""Events and registrations: capacity, waiting list, holds, approval, check-in.

Capacity is enforced inside the database transaction: every change to an event's places
first bumps `event.lock_version` with an UPDATE. On PostgreSQL that locks the event row;
on SQLite it takes the database write lock. Places are counted only after that, so two
registrations can never both see the last free place.
"""
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, true, update

from ..declarations.models import Declaration
from ..declarations.operations import privacy_notice_text
from ..exports import csv_document
from ..extensions import db
from ..mail.addresses import mailbox_key
from ..panel.audit import AuditAction, record
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


def availability(event, now=None):
    now = now or utcnow()
    if event.status == EventStatus.DRAFT:
        return Availability.DRAFT
    if event.status == EventStatus.CANCELLED:
        return Availability.CANCELLED
    if event.registration_opens_at and now < event.registration_opens_at:
        return Availability.NOT_YET_OPEN
    if now >= (event.registration_closes_at or event.starts_at):
        return Availability.CLOSED
    if event.capacity is not None and places_left(event) == 0:
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


def registrations_for(event, status=None):
    query = select(Registration).where(Registration.event_id == event.id)
    if status:
        query = query.where(Registration.status == status)
    return db.session.scalars(query.order_by(Registration.created_at, Registration.id)).all()


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


def _lock(event):
    db.session.execute(update(Event).where(Event.id == event.id).values(lock_version=Event.lock_version + 1))


def _expire_stale_holds(event, now):
    stale = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.status.in_((RegistrationStatus.PENDING, RegistrationStatus.OFFERED)),
            Registration.hold_expires_at < now,
        )
    ).all()
    for registration in stale:
        registration.status = RegistrationStatus.EXPIRED
        registration.confirm_nonce = None
    return bool(stale)


def _promote_waiting(event, now):
    """Offer freed places to the waiting list in order, skipping whoever does not fit."""
    if event.status != EventStatus.PUBLISHED or now >= event.starts_at:
        return
    for registration in registrations_for(event, RegistrationStatus.WAITING):
        if event.capacity is not None and places_left(event, for_ally=True) == 0:
            return
        if _fits(event, registration.places, registration.is_ally):
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
    """Take a place or a spot on the waiting list; raises RegistrationRefused with a reason."""
    now = now or utcnow()
    state = availability(event, now)
    if state not in (Availability.OPEN, Availability.FULL):
        raise RegistrationRefused(state.value)
    key = mailbox_key(data["email"])
    ally = is_approved_ally(event.coalition_id, key)
    if event.allies_only and not ally:
        raise RegistrationRefused("allies_only")
    companions = int(data.get("companions") or 0)
    if companions > event.max_companions:
        raise RegistrationRefused("too_many_companions")
    organisation = (data.get("organisation") or "").strip()
    organisation_key = search_key(organisation).strip()

    _lock(event)
    if _expire_stale_holds(event, now):
        _promote_waiting(event, now)
    existing = db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.email_key == key, Registration.status.in_(ACTIVE)
        )
    )
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
            db.session.rollback()
            raise RegistrationRefused("organisation_limit")

    places = 1 + companions
    holds = _fits(event, places, ally)
    registration = Registration(
        event=event,
        full_name=data["full_name"],
        email=data["email"],
        email_key=key,
        organisation=organisation,
        organisation_key=organisation_key,
        search_text=search_key(f"{data['full_name']} {organisation}")[:600],
        companions=companions,
        needs=data.get("needs") or "",
        is_ally=ally,
        status=RegistrationStatus.PENDING if holds else RegistrationStatus.WAITING,
        code=_new_code(),
        confirm_nonce=secrets.token_hex(8),
        consents={
            "at": now.isoformat(timespec="seconds") + "Z",
            "privacy_notice_sha256": digest(privacy_notice_text(event.coalition)),
        },
        language=language,
        hold_expires_at=now + timedelta(hours=event.hold_hours) if holds else None,
        last_mailed_at=now,
    )
    db.session.add(registration)
    db.session.flush()
    notify_registration_link(registration, waiting_position(registration))
    db.session.commit()
    return RegisterResult(registration, new=True)


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


class LinkUsed(Exception):
    def __init__(self, registration):
        self.registration = registration


class HoldExpired(Exception):
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


def registration_for_confirmation(token, max_age_seconds):
    registration = registration_from_token(CONFIRM_PURPOSE, token, max_age_seconds, "confirm_nonce")
    if registration.status not in (RegistrationStatus.PENDING, RegistrationStatus.WAITING, RegistrationStatus.OFFERED):
        raise LinkUsed(registration)
    return registration


def confirm_registration(token, max_age_seconds, now=None):
    """The person pressed the button from the e-mail: their address is real, their place is theirs."""
    now = now or utcnow()
    registration = registration_for_confirmation(token, max_age_seconds)
    event = registration.event
    _lock(event)
    if _expire_stale_holds(event, now):
        _promote_waiting(event, now)
    if registration.status == RegistrationStatus.EXPIRED:
        db.session.commit()
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


def cancel_registration(registration, now=None):
    """The person gives up their place (or waiting spot); the next who fits is offered it."""
    now = now or utcnow()
    if registration.status not in ACTIVE:
        return registration
    _lock(registration.event)
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    registration.confirm_nonce = None
    _expire_stale_holds(registration.event, now)
    _promote_waiting(registration.event, now)
    db.session.commit()
    return registration


def expire_holds(now=None):
    """For a scheduler: pass on places whose holds ran out, for every upcoming event."""
    now = now or utcnow()
    events = db.session.scalars(
        select(Event).where(Event.status == EventStatus.PUBLISHED, Event.starts_at > now)
    ).all()
    expired = 0
    for event in events:
        _lock(event)
        if _expire_stale_holds(event, now):
            expired += 1
            _promote_waiting(event, now)
        db.session.commit()
    return expired


class RegistrationDecisionNotAllowed(Exception):
    pass


def decide_registration(registration, approve, coordinator, now=None):
    now = now or utcnow()
    if registration.status != RegistrationStatus.APPROVAL:
        raise RegistrationDecisionNotAllowed
    _lock(registration.event)
    _audit_registration(registration, _l("przyjęte") if approve else _l("odrzucone"), coordinator)
    registration.decided_at = now
    registration.decided_by_id = coordinator.id
    if approve:
        registration.status = RegistrationStatus.CONFIRMED
        notify_registration_confirmed(registration)
    else:
        registration.status = RegistrationStatus.REJECTED
        notify_registration_rejected(registration)
        _promote_waiting(registration.event, now)
    db.session.commit()
    return registration


def forget_unconfirmed_registrations(cutoff, now=None):
    """Delete registrations whose address was never confirmed, made before `cutoff`.

    A deleted registration may have held a place: each event is locked and its waiting
    list moves up, as after a cancellation.
    """
    now = now or utcnow()
    stale = Registration.email_confirmed_at.is_(None) & (Registration.created_at < cutoff)
    event_ids = db.session.scalars(select(Registration.event_id).where(stale).distinct()).all()
    removed = 0
    for event in db.session.scalars(select(Event).where(Event.id.in_(event_ids))).all():
        _lock(event)
        removed += db.session.execute(db.delete(Registration).where(Registration.event_id == event.id, stale)).rowcount
        _expire_stale_holds(event, now)
        _promote_waiting(event, now)
        db.session.commit()
    return removed


# ---- coordinators' event management ----------------------------------------------------
# With `by` (the coordinator acting), each action is audited in the transaction it commits.


def _audit_event(event, what, by, action=AuditAction.EVENT, subject=None):
    if by is not None:
        record(action, f"{event.title}: {what}", coalition_id=event.coalition_id, subject=subject or event, coordinator=by)


def _audit_registration(registration, what, by):
    what = f"{_l('zgłoszenie nr %(number)s', number=registration.id)}: {what}"
    _audit_event(registration.event, what, by, AuditAction.REGISTRATION, registration)


def save_event(event, data, by=None):
    created = event.id is None
    for name, value in data.items():
        setattr(event, name, value)
    db.session.add(event)
    _audit_event(event, _l("utworzono wersję roboczą") if created else _l("zmieniono dane"), by)
    db.session.commit()
    return event


def publish_event(event, by=None):
    if event.status == EventStatus.DRAFT:
        event.status = EventStatus.PUBLISHED
        _audit_event(event, _l("opublikowano"), by)
        db.session.commit()
    return event


def cancel_event(event, now=None, by=None):
    """Cancel the event and tell everyone who registered (including the waiting list)."""
    now = now or utcnow()
    if event.status == EventStatus.CANCELLED:
        return 0
    _lock(event)
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
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
    conditions = [Registration.event_id == event.id, Registration.status.in_(HOLDING_PLACE)]
    needle = search_key(query[:100]).strip()
    if needle:
        escaped = escape_like(needle)
        code = needle.replace("-", "").upper()
        conditions.append(Registration.search_text.like(f"%{escaped}%", escape="\\") | (Registration.code == code))
    return db.session.scalars(
        select(Registration).where(*conditions).order_by(Registration.full_name).limit(limit)
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
    registration.attended_at = (now or utcnow()) if attended else None
    _audit_registration(registration, _l("obecność potwierdzona") if attended else _l("obecność cofnięta"), by)
    db.session.commit()
    return registration


def registrations_csv(event, labels):
    return csv_document(
        labels["header"],
        (
            (
                r.full_name,
                r.email,
                r.organisation,
                r.companions,
                r.status_label,
                labels["yes"] if r.is_ally else labels["no"],
                r.needs,
                r.code,
                r.created_at.isoformat(sep=" ", timespec="minutes"),
                r.attended_at.isoformat(sep=" ", timespec="minutes") if r.attended_at else "",
            )
            for r in registrations_for(event)
        ),
    )
