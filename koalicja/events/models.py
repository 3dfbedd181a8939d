import secrets
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


EVENT_STATUS_LABELS = {
    EventStatus.DRAFT: _l("wersja robocza"),
    EventStatus.PUBLISHED: _l("opublikowane"),
    EventStatus.CANCELLED: _l("odwołane"),
}


class Event(db.Model):
    """An event with registration. Its row is the lock of its places and of every change to
    its registrations' states (koalicja/events/operations.py, koalicja/locking.py)."""

    __table_args__ = (UniqueConstraint("coalition_id", "slug", name="uq_event_coalition_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coalition_id: Mapped[int] = mapped_column(ForeignKey("coalition.id"), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(400), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]  # naive UTC, like every stored time
    ends_at: Mapped[datetime]
    venue: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    accessibility: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None]  # None: no limit; counts accompanying persons too
    max_companions: Mapped[int] = mapped_column(default=0)
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]  # None: until the event starts
    allies_only: Mapped[bool] = mapped_column(default=False)
    reserved_for_allies: Mapped[int] = mapped_column(default=0)
    max_per_organisation: Mapped[int | None]
    requires_approval: Mapped[bool] = mapped_column(default=False)
    hold_hours: Mapped[int] = mapped_column(default=48)
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    # What calendars need to update their copy (koalicja/events/calendar.py): a UID that never
    # changes, and a SEQUENCE and LAST-MODIFIED that every change of the event moves on.
    calendar_token: Mapped[str] = mapped_column(String(16), default=lambda: secrets.token_hex(8))
    sequence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A meeting of the coalition's working group (posiedzenie): its agenda before, its minutes
    # (text and an optional PDF scan under instance/) after; members see past meetings' minutes.
    is_members_meeting: Mapped[bool] = mapped_column(default=False, server_default="0")
    agenda: Mapped[str] = mapped_column(Text, default="", server_default="")
    minutes: Mapped[str] = mapped_column(Text, default="", server_default="")
    minutes_file: Mapped[str] = mapped_column(String(100), default="", server_default="")
    minutes_published_at: Mapped[datetime | None]

    coalition = relationship("Coalition")

    def mark_changed(self, now):
        """Calendars that imported the event take the new version."""
        self.sequence = (self.sequence or 0) + 1
        self.updated_at = now

    @property
    def is_published(self):
        return self.status == EventStatus.PUBLISHED

    @property
    def is_cancelled(self):
        return self.status == EventStatus.CANCELLED

    @property
    def status_label(self):
        return EVENT_STATUS_LABELS[EventStatus(self.status)]


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # place held until the e-mail link is confirmed
    APPROVAL = "approval"  # confirmed by e-mail, waiting for a coordinator
    CONFIRMED = "confirmed"
    WAITING = "waiting"  # on the waiting list
    OFFERED = "offered"  # promoted from the waiting list; place held until hold_expires_at
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"  # did not confirm in time; the place passed on


# Statuses that occupy places (with their companions).
HOLDING_PLACE = (
    RegistrationStatus.PENDING,
    RegistrationStatus.APPROVAL,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.OFFERED,
)
ACTIVE = HOLDING_PLACE + (RegistrationStatus.WAITING,)

REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.PENDING: _l("Czeka na potwierdzenie e-mailem"),
    RegistrationStatus.APPROVAL: _l("Czeka na akceptację"),
    RegistrationStatus.CONFIRMED: _l("Potwierdzona"),
    RegistrationStatus.WAITING: _l("Lista oczekujących"),
    RegistrationStatus.OFFERED: _l("Zaproszona z listy oczekujących"),
    RegistrationStatus.CANCELLED: _l("Odwołana"),
    RegistrationStatus.REJECTED: _l("Odrzucona"),
    RegistrationStatus.EXPIRED: _l("Wygasła"),
}


class Registration(db.Model):
    __table_args__ = (
        Index("ix_registration_event_status", "event_id", "status"),
        Index("ix_registration_event_email", "event_id", "email_key"),
        # The events an ally attended (coordinators' queue), by address across events (migration 0004).
        Index("ix_registration_email_key", "email_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    organisation_key: Mapped[str] = mapped_column(String(300), default="")
    # Name and organisation without diacritics, for the search at the door.
    search_text: Mapped[str] = mapped_column(String(600), default="")
    companions: Mapped[int] = mapped_column(default=0)
    # Accessibility or dietary needs: shown to coordinators only.
    needs: Mapped[str] = mapped_column(Text, default="")
    is_ally: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20))
    # Short code printed under the QR code, typed at the door when scanning fails.
    code: Mapped[str] = mapped_column(String(12), unique=True)
    confirm_nonce: Mapped[str | None] = mapped_column(String(32))
    consents: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(8), default="pl")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    email_confirmed_at: Mapped[datetime | None]
    hold_expires_at: Mapped[datetime | None]
    last_mailed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    cancelled_at: Mapped[datetime | None]
    attended_at: Mapped[datetime | None]
    # A person a coordinator added by hand (a phone call, at the door): they gave their consent
    # to that coordinator, and their address was never confirmed by e-mail (purge keeps them).
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    # Added at the door on the event's day (koalicja/events/door.py): counted apart in the funder's report.
    walk_in: Mapped[bool] = mapped_column(default=False)

    event = relationship("Event")
    decided_by = relationship("Coordinator", foreign_keys=[decided_by_id])
    added_by = relationship("Coordinator", foreign_keys=[added_by_id])

    @property
    def places(self):
        return 1 + (self.companions or 0)

    @property
    def status_label(self):
        return REGISTRATION_STATUS_LABELS[RegistrationStatus(self.status)]

    @property
    def holds_place(self):
        return self.status in HOLDING_PLACE

    @property
    def is_active(self):
        """Holding a place or waiting for one (not cancelled, rejected or expired)."""
        return self.status in ACTIVE


class CheckInScan(db.Model):
    """One check-in made at the door by a device that may have been offline (koalicja/events/door.py).

    `key` is the device's own id for this scan (a UUID): an upload retried after a lost answer
    finds its key here and counts once. Every scan of a person is kept, from any device; the
    earliest sets the registration's `attended_at`."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    # A registration deleted (never confirmed, purged) takes its scans with it.
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(36))
    scanned_at: Mapped[datetime]  # naive UTC: when the device marked the person present
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
