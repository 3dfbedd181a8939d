"""Check-in at the door that survives a lost connection (issue #17).

Follows the locking rule of koalicja/events/operations.py: the event is locked first, then
every registration and scan is read again.

A device at the door (static/js/check-in-offline.js) keeps the registrants in the browser and
marks people present at once; each check-in is queued with its own key (a UUID made by the
device), the device's id and the moment of the scan, and uploaded when the network returns.
An upload retried after a lost answer finds its keys stored and counts nothing twice (as
pretix's redeem API does with its nonce). Two devices that checked in one person are both
recorded; the earliest scan is the person's check-in time, and the later device is told
"Wpis obecności już był o 18:02 (inne urządzenie)".
"""
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask_babel import format_time
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..locking import lock
from ..timeutil import utc_to_warsaw, utcnow
from .models import CheckInScan, Event, Registration, RegistrationStatus
from .operations import _audit_registration

# A device's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
# How long after the event a device keeps its copy of the registrants.
KEEP_ON_DEVICE = timedelta(hours=12)
MAX_SCANS_PER_UPLOAD = 500
_DEVICE_ID = re.compile(r"^[A-Za-z0-9-]{8,36}$")


class Outcome:
    RECORDED = "recorded"  # this scan checked the person in
    DUPLICATE = "duplicate"  # this very scan (its key) was uploaded before: counted once
    ALREADY = "already"  # recorded, but the person had been checked in before
    REFUSED = "refused"  # not recorded: the message says why


@dataclass
class ScanResult:
    key: str
    outcome: str
    message: str
    name: str = ""

    def as_json(self):
        return {"key": self.key, "outcome": self.outcome, "message": str(self.message), "name": self.name}


def device_copy_expires_at(event):
    """When a device deletes its copy of the registrants (naive UTC)."""
    return event.ends_at + KEEP_ON_DEVICE


def registrants_for_device(event):
    """Only what the door needs: who, the code, how many come, whether they may enter, and
    whether they are in already. No e-mail addresses, no needs."""
    rows = db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_(CHECK_IN_STATUSES))
        .order_by(Registration.full_name)
    ).all()
    return [
        {
            "code": r.code,
            "name": r.full_name,
            "organisation": r.organisation,
            "search": r.search_text,
            "companions": r.companions,
            "confirmed": r.status == RegistrationStatus.CONFIRMED,
            "present": r.attended_at is not None,
        }
        for r in rows
    ]


# Who may be checked in at the door: everyone holding a place (the card warns when not confirmed).
CHECK_IN_STATUSES = (
    RegistrationStatus.PENDING,
    RegistrationStatus.APPROVAL,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.OFFERED,
)


def _parse_moment(value):
    """An ISO 8601 moment with its offset, as naive UTC; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # a moment without an offset could be anyone's local time
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _valid_key(value):
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _hour(moment):
    return format_time(moment, "HH:mm")  # Flask-Babel shows naive UTC in Polish time (BABEL_DEFAULT_TIMEZONE)


def _decide(event, item, device_id, now, by):
    """The result of one queued scan under the event's lock; the scan row added when recorded."""
    key = _valid_key(item.get("key"))
    if key is None:
        return ScanResult(str(item.get("key", ""))[:36], Outcome.REFUSED, _l("Wpis bez poprawnego klucza urządzenia."))
    if db.session.scalar(select(CheckInScan.id).where(CheckInScan.key == key)) is not None:
        return ScanResult(key, Outcome.DUPLICATE, _l("Ten wpis był już wysłany i jest zapisany."))
    code = str(item.get("code", ""))[:12]
    registration = db.session.scalar(
        select(Registration).where(Registration.event_id == event.id, Registration.code == code)
    )
    if registration is None:
        return ScanResult(key, Outcome.REFUSED, _l("Nie ma zapisu z kodem %(code)s na to wydarzenie.", code=code))
    scanned_at = _parse_moment(item.get("scanned_at"))
    if scanned_at is None:
        return ScanResult(key, Outcome.REFUSED, _l("Wpis bez poprawnego czasu skanu."), registration.full_name)
    if scanned_at > now + CLOCK_SKEW:
        message = _l("Czas skanu jest w przyszłości: sprawdź zegar urządzenia.")
        return ScanResult(key, Outcome.REFUSED, message, registration.full_name)
    first_day, last_day = utc_to_warsaw(event.starts_at).date(), utc_to_warsaw(event.ends_at).date()
    if not first_day <= utc_to_warsaw(scanned_at).date() <= last_day:
        message = _l("Skan spoza dnia wydarzenia (%(when)s): nie liczymy go.", when=_hour(scanned_at))
        return ScanResult(key, Outcome.REFUSED, message, registration.full_name)
    if registration.status not in CHECK_IN_STATUSES:
        message = _l("Zapis tej osoby nie jest aktywny (%(status)s).", status=registration.status_label)
        return ScanResult(key, Outcome.REFUSED, message, registration.full_name)
    db.session.add(
        CheckInScan(
            key=key, event_id=event.id, registration_id=registration.id, device_id=device_id,
            scanned_at=scanned_at, received_at=now, coordinator_id=by.id if by else None,
        )
    )
    earlier = registration.attended_at
    if earlier is None or scanned_at < earlier:
        registration.attended_at = scanned_at  # the earliest scan is the check-in time
        _audit_registration(registration, _l("obecność potwierdzona (wpis z urządzenia przy wejściu)"), by)
        return ScanResult(key, Outcome.RECORDED, _l("Obecność zapisana."), registration.full_name)
    where = _who_checked_in(registration, device_id)
    message = _l("Wpis obecności już był o %(when)s (%(where)s).", when=_hour(earlier), where=where)
    return ScanResult(key, Outcome.ALREADY, message, registration.full_name)


def _who_checked_in(registration, device_id):
    first_device = db.session.scalar(
        select(CheckInScan.device_id)
        .where(CheckInScan.registration_id == registration.id, CheckInScan.scanned_at == registration.attended_at)
        .order_by(CheckInScan.id)
        .limit(1)
    )
    return _l("to urządzenie") if first_device == device_id else _l("inne urządzenie")


def record_scans(event, device_id, items, by=None, now=None):
    """Store the check-ins a device queued (`items`: dicts with key, code, scanned_at) and say
    what became of each. Nothing is counted twice: a key stored already is a duplicate."""
    if not _DEVICE_ID.match(str(device_id or "")):
        raise ValueError("device id")
    items = list(items)[:MAX_SCANS_PER_UPLOAD]
    for attempt in range(2):
        event = lock(Event, event.id)
        now = now or utcnow()
        results = []
        for item in items:
            results.append(_decide(event, item if isinstance(item, dict) else {}, device_id, now, by))
            db.session.flush()
        if not any(r.outcome in (Outcome.RECORDED, Outcome.ALREADY) for r in results):
            db.session.rollback()  # nothing to write: the lock is released, the data version kept
            return results
        try:
            db.session.commit()
        except IntegrityError:
            # The same key stored meanwhile by another upload (another event's lock): read again.
            db.session.rollback()
            if attempt:
                raise
        else:
            return results
    return results
