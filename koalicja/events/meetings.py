"""Meetings of a coalition's working group (posiedzenia): an event marked `is_members_meeting`,
its agenda before, its minutes after.

Attendance is the meeting's check-in: the registrations marked present at the door
(`attended_at`). After the meeting has started a coordinator writes the minutes (Markdown)
and may attach the signed minutes as a PDF scan; published minutes are public, because a
coalition's working group is open (the partnership agreement, seed 004, has the signatories
meet as one at least once a quarter); unpublished ones only the coalition's coordinators see.

The scan is judged by its bytes (uploads.upload_type: only a PDF), and kept like the scans of
paper signatures: in SCAN_FOLDER under a random name, readable by the app's user only, in
the backup with them. A new file is written before the change that names it is committed and
an old one deleted only after the change that drops it (koalicja/backup.py relies on that).
"""
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..locking import lock, refuse
from ..signatures.scans import delete_scan, send_scan
from ..timeutil import utcnow
from ..uploads import UploadRefused, megabytes, store_upload, upload_type
from .models import Event, EventStatus, Registration
from .operations import EventNoLongerApplies, _audit_event

MINUTES_TYPES = {"application/pdf": "pdf"}


class MinutesNoLongerApplies(EventNoLongerApplies):
    """The minutes cannot be saved or (un)published in the meeting's current state."""


def minutes_scan_problem(upload):
    """Why an uploaded file is not a minutes scan we keep (a Polish sentence), or None when it is one."""
    limit = current_app.config["SCAN_MAX_BYTES"]
    try:
        upload_type(upload, MINUTES_TYPES, limit)
    except UploadRefused as refused:
        if refused.reason == "empty":
            return _l("Plik jest pusty. Wybierz skan protokołu jeszcze raz.")
        if refused.reason == "too_big":
            return _l(
                "Plik jest za duży (%(size)s MB). Skan protokołu może mieć najwyżej %(limit)s MB: zeskanuj go w niższej rozdzielczości.",
                size=megabytes(refused.size),
                limit=megabytes(limit),
            )
        return _l("Ten plik nie jest dokumentem PDF (sprawdzamy jego zawartość, nie nazwę). Wybierz plik PDF.")
    return None


def send_minutes_scan(event):
    """The meeting's stored PDF as a download, or 404."""
    return send_scan(event.minutes_file, "application/pdf", f"protokol-{event.slug}.pdf")


def _refuse_unless_held(event, now):
    if event is None or not event.is_members_meeting:
        refuse(MinutesNoLongerApplies(_l("To wydarzenie nie jest posiedzeniem członków i członkiń koalicji.")))
    if event.status != EventStatus.PUBLISHED:
        refuse(MinutesNoLongerApplies(_l("Protokół dodaje się do opublikowanego posiedzenia, które się odbyło.")))
    if now < event.starts_at:
        refuse(MinutesNoLongerApplies(_l("Protokół można dodać dopiero po rozpoczęciu posiedzenia.")))


def has_started(event, now=None):
    return (now or utcnow()) >= event.starts_at


def save_minutes(event, text, scan=None, remove_scan=False, by=None, now=None):
    """Keep the meeting's minutes: `text` (Markdown) and, when given, a new PDF `scan` (a
    werkzeug FileStorage checked with `minutes_scan_problem`) in place of the old one;
    `remove_scan` drops the stored scan. Published minutes stay published (a correction is
    public at once). Refused before the meeting starts, for a draft or cancelled event, or
    for an event that is not a members' meeting."""
    now = now or utcnow()
    event = lock(Event, event.id)
    _refuse_unless_held(event, now)
    old_file = event.minutes_file
    new_file = store_upload(scan, current_app.config["SCAN_FOLDER"], MINUTES_TYPES["application/pdf"]) if scan else None
    try:
        event.minutes = text or ""
        if new_file or remove_scan:
            event.minutes_file = new_file or ""
        changes = [_l("zapisano protokół")]
        if new_file:
            changes.append(_l("dołączono skan protokołu (PDF)"))
        elif remove_scan and old_file:
            changes.append(_l("usunięto skan protokołu"))
        for change in changes:
            _audit_event(event, change, by)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        delete_scan(new_file)
        raise
    if old_file and old_file != event.minutes_file:
        delete_scan(old_file)  # only once the change that drops it is saved
    return event


def set_minutes_published(event, published, by=None, now=None):
    """Publish the minutes (on the coalition's page of meetings) or take them back to
    coordinators only. Refused when they are so already, or when there is nothing to publish."""
    now = now or utcnow()
    event = lock(Event, event.id)
    _refuse_unless_held(event, now)
    if published and event.minutes_published_at is not None:
        refuse(MinutesNoLongerApplies(_l("Protokół jest już opublikowany.")))
    if not published and event.minutes_published_at is None:
        refuse(MinutesNoLongerApplies(_l("Protokół nie jest opublikowany.")))
    if published and not (event.minutes.strip() or event.minutes_file):
        refuse(MinutesNoLongerApplies(_l("Najpierw zapisz treść protokołu albo dołącz jego skan.")))
    event.minutes_published_at = now if published else None
    _audit_event(event, _l("opublikowano protokół") if published else _l("wycofano publikację protokołu"), by)
    db.session.commit()
    return event


# ---- reading ---------------------------------------------------------------------------


def attendees(event):
    """The people checked in at the meeting's door, by name."""
    return db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.attended_at.is_not(None))
        .order_by(Registration.full_name, Registration.id)
    ).all()


def attendance_counts(events):
    """{event id: how many registrations were checked in} (companions are not members: not counted)."""
    if not events:
        return {}
    rows = db.session.execute(
        select(Registration.event_id, func.count(Registration.id))
        .where(Registration.event_id.in_([event.id for event in events]), Registration.attended_at.is_not(None))
        .group_by(Registration.event_id)
    )
    return {event.id: 0 for event in events} | dict(rows.all())


def _past_meetings(coalition, now):
    return select(Event).where(
        Event.coalition_id == coalition.id,
        Event.is_members_meeting.is_(True),
        Event.status == EventStatus.PUBLISHED,
        Event.ends_at < (now or utcnow()),
    )


def past_meetings(coalition, now=None):
    """The coalition's members' meetings that took place (published, not cancelled, ended), latest first."""
    return db.session.scalars(_past_meetings(coalition, now).order_by(Event.starts_at.desc())).all()


def published_meeting(coalition, event_slug, now=None):
    """A past meeting of the coalition whose minutes are published, or None."""
    return db.session.scalar(
        _past_meetings(coalition, now).where(Event.slug == event_slug, Event.minutes_published_at.is_not(None))
    )
