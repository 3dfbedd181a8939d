"""Coordinators write to the coalition's allies; allies unsubscribe with one click."""
from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..coordinators.access import served_coalition_or_404
from ..extensions import csrf, limiter
from ..htmx import see_other
from ..tokens import TokenExpired, TokenInvalid
from .forms import AnnouncementForm
from .operations import (
    AlreadySent,
    announcements_with_delivery,
    count_recipients,
    send_announcement,
    signature_for_unsubscribe,
    unsubscribe_mailbox,
)

bp = Blueprint("announcements", __name__)


@bp.route("/panel/koalicje/<slug>/komunikaty", methods=["GET", "POST"])
@login_required
def index(slug):
    """The list and the form. A submitted text is shown as a preview first; the preview's
    button ("action=send") sends it, "action=edit" brings it back into the form."""
    coalition = served_coalition_or_404(slug)
    form = AnnouncementForm()
    action = request.form.get("action")
    if form.validate_on_submit() and action != "edit":
        recipients = count_recipients(coalition)
        if action == "send" and recipients:
            try:
                announcement = send_announcement(
                    coalition, form.subject.data, form.body.data, current_user._get_current_object(), public=form.public.data
                )
            except AlreadySent:
                flash(_("Ten komunikat został już wysłany. Nie wysłaliśmy go drugi raz."), "info")
            else:
                flash(
                    ngettext(
                        "Komunikat czeka w kolejce do wysłania do %(num)d osoby.",
                        "Komunikat czeka w kolejce do wysłania do %(num)d osób.",
                        announcement.recipients,
                    ),
                    "success",
                )
            return see_other(url_for("announcements.index", slug=slug))
        status = 422 if action == "send" else 200  # sending to nobody is refused
        return render_template("announcements/preview.html", coalition=coalition, form=form, recipients=recipients), status
    status = 422 if form.errors else 200
    return render_template(
        "announcements/index.html",
        coalition=coalition,
        form=form,
        recipients=count_recipients(coalition),
        announcements=announcements_with_delivery(coalition),
    ), status


# Mail providers send the RFC 8058 one-click POST without cookies or a CSRF token; the
# signed token in the URL is the proof. Unsubscribing twice does no harm.
@bp.route("/wypisz/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("60 per minute")  # one provider may unsubscribe many allies from one address
def unsubscribe(token):
    """GET only shows a button (mail scanners open links); POST unsubscribes at once."""
    try:
        signature, announcement_id = signature_for_unsubscribe(token)
    except TokenExpired:
        return render_template("announcements/unsubscribe.html", problem="expired"), 410
    except TokenInvalid:
        return render_template("announcements/unsubscribe.html", problem="invalid"), 400
    coalition = signature.declaration.coalition if signature is not None else None
    if request.method == "POST":
        if signature is not None:
            unsubscribe_mailbox(signature, announcement_id)
        return render_template("announcements/unsubscribed.html", coalition=coalition)
    if signature is None or not signature.contact_allowed:
        return render_template("announcements/unsubscribed.html", coalition=coalition)
    return render_template("announcements/unsubscribe.html", coalition=coalition, problem=None)
