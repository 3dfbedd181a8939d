"""Coordinators' printouts of an event as PDF: the attendance list, the list of who came, badges."""
from flask import Blueprint, abort, request
from flask_login import login_required

from ..coordinators.access import require_coalition
from ..extensions import db
from ..printing import letterhead, pdf_download
from .attendance import WALK_IN_ROWS, attendance_rows
from .badges import LAYOUTS, badges_for, sheets
from .models import Event

bp = Blueprint("events_print", __name__, url_prefix="/panel/wydarzenia")


@bp.before_request
@login_required
def require_login():
    """Every printout is for coordinators only."""


def _served_event_or_404(event_id):
    event = db.get_or_404(Event, event_id)
    require_coalition(event.coalition_id)
    return event


def _attendance_pdf(event_id, filename, blank_rows, checked_in):
    event = _served_event_or_404(event_id)
    return pdf_download(
        f"{filename}-{event.slug}.pdf",
        "events/print/attendance.html",
        event=event,
        letterhead=letterhead(event.coalition),
        rows=attendance_rows(event),
        blank_rows=blank_rows,
        checked_in=checked_in,
    )


@bp.get("/<int:event_id>/lista-obecnosci.pdf")
def attendance_list(event_id):
    """For signing at the door: every registrant once, then empty rows for walk-ins."""
    return _attendance_pdf(event_id, "lista-obecnosci", blank_rows=WALK_IN_ROWS, checked_in=False)


@bp.get("/<int:event_id>/obecni.pdf")
def attendance_record(event_id):
    """After the event: the same list, marked with who was checked in and when."""
    return _attendance_pdf(event_id, "obecnosc", blank_rows=0, checked_in=True)


@bp.get("/<int:event_id>/identyfikatory.pdf")
def badges(event_id):
    """`?uklad=arkusz` (8 on A4, the default), `a7` or `62x100` (one per page, label printers)."""
    event = _served_event_or_404(event_id)
    layout = LAYOUTS.get(request.args.get("uklad", "arkusz"))
    if layout is None:
        abort(404)
    badges = badges_for(event)
    return pdf_download(
        f"identyfikatory-{event.slug}.pdf",
        "events/print/badges.html",
        event=event,
        letterhead=letterhead(event.coalition),
        layout=layout,
        pages=sheets(badges) if layout == "sheet" else [[badge] for badge in badges],
    )
