"""The door's own page for walk-ins: `…/<event>/wejscie/dopisz`, linked from the check-in page
(the operation is koalicja/events/walk_ins.py)."""
from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..coordinators.access import require_coalition
from ..extensions import db
from ..htmx import see_other
from ..locking import NoLongerApplies
from .models import Event
from .operations import AlreadyRegistered, places_left
from .walk_ins import WalkInForm, admit_walk_in

bp = Blueprint("events_door", __name__, url_prefix="/panel/wydarzenia")


@bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


@bp.route("/<int:event_id>/wejscie/dopisz", methods=["GET", "POST"])
def walk_in(event_id):
    event = db.get_or_404(Event, event_id)
    require_coalition(event.coalition_id)
    form = WalkInForm()
    refusal = None
    if form.validate_on_submit():
        try:
            registration = admit_walk_in(
                event, form.registration_data(), by=current_user, language=str(get_locale() or "pl")
            )
        except AlreadyRegistered as refused:
            form.email.errors.append(refused.message)
        except NoLongerApplies as refused:  # the event full or cancelled
            refusal = refused.message
        else:
            flash(_("Dopisano i potwierdzono obecność: %(name)s.", name=registration.full_name), "success")
            return see_other(url_for("events_panel.check_in", event_id=event.id))
    return render_template(
        "events/door/walk_in.html", event=event, form=form, refusal=refusal, left=places_left(event, for_ally=True)
    ), 422 if request.method == "POST" else 200
