"""The attendance list (lista obecności) printed for the door, and its record after the event.

Both list the people the check-in page lets in (a place held, HOLDING_PLACE) and everybody
checked in whatever their status now, in Polish alphabetical order (Ł after L, Ż last).
"""
from sqlalchemy import or_, select

from ..extensions import db
from ..text import sort_key
from .models import HOLDING_PLACE, Registration

# Empty numbered rows after the registrants, for people who come without registering.
WALK_IN_ROWS = 10


def attendance_rows(event):
    """The registrations to print, alphabetically by full name as people typed it."""
    registrations = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            or_(Registration.status.in_(HOLDING_PLACE), Registration.attended_at.is_not(None)),
        )
    ).all()
    return sorted(registrations, key=lambda registration: (sort_key(registration.full_name), registration.id))
