"""People who come to the door without registering: a coordinator adds them there.

A walk-in takes a place like anyone (the capacity holds, counted under the event's lock),
is checked in at once and gets no e-mail: they are standing at the door, and an address is
optional. The funder's report counts as walk-ins the people a coordinator added on the
event's day (koalicja/reports/data.py), which every walk-in is.
"""
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..locking import lock, refuse
from ..mail.addresses import mailbox_key
from ..signatures.forms import email_field
from ..timeutil import utcnow
from .forms import AddPersonForm
from .models import Event, RegistrationStatus
from .operations import (
    AlreadyRegistered,
    _active_registration,
    _audit_registration,
    _expire_stale_holds,
    _new_registration,
    _promote_waiting,
    _refuse_if_event_cancelled,
    _refuse_unless_fits,
    is_approved_ally,
)


class WalkInForm(AddPersonForm):
    """The by-hand form with the address optional: nothing is mailed to someone at the door."""

    email = email_field(
        label=_l("Adres e-mail (nieobowiązkowo)"),
        required=False,
        description=_l("Osoba jest już na miejscu: nie wyślemy jej biletu."),
    )


def admit_walk_in(event, data, by, language="pl", now=None):
    """Add a person at the door, present from this moment; NotEnoughPlaces when the event is
    full, AlreadyRegistered when their address already holds a registration (check them in)."""
    event = lock(Event, event.id)
    now = now or utcnow()
    _refuse_if_event_cancelled(event)
    if _expire_stale_holds(event, now):
        _promote_waiting(event, now)
    email = (data.get("email") or "").strip()
    if email and _active_registration(event, mailbox_key(email)) is not None:
        refuse(AlreadyRegistered())
    _refuse_unless_fits(event, 1 + int(data.get("companions") or 0))
    registration = _new_registration(
        event,
        data | {"email": email},
        now,
        consents={"given_to": "coordinator", "coordinator_id": by.id, "coordinator_name": by.name, "at_the_door": True},
        is_ally=bool(email) and is_approved_ally(event.coalition_id, mailbox_key(email)),
        status=RegistrationStatus.CONFIRMED,
        language=language,
        added_by_id=by.id,
        attended_at=now,
        walk_in=True,  # the funder's report counts them apart (registration.walk_in, migration 0019)
    )
    _audit_registration(registration, _l("dopisane przy wejściu: %(name)s", name=registration.full_name), by)
    db.session.commit()
    return registration
