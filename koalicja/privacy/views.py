import json

from flask import Blueprint, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..panel.audit import AuditAction, record
from ..signatures.forms import EmailOnlyForm
from .operations import personal_data_export

bp = Blueprint("privacy", __name__, url_prefix="/panel/dane-osobowe")


@bp.route("/", methods=["GET", "POST"])
@login_required
def export():
    """Right of access: everything stored about one e-mail address, as a JSON file."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        data = personal_data_export(form.email.data, current_user)
        # What was found, not whose: the log outlives a withdrawal, which erases the address.
        record(
            AuditAction.EXPORT,
            _("Dane osobowe jednej osoby (art. 15 RODO)"),
            details={"signatures": len(data["signatures"]), "event_registrations": len(data["event_registrations"])},
        )
        db.session.commit()
        response = make_response(json.dumps(data, ensure_ascii=False, indent=2))
        response.mimetype = "application/json"
        response.headers["Content-Disposition"] = 'attachment; filename="dane-osobowe.json"'
        return response
    return render_template("privacy/export.html", form=form), 422 if request.method == "POST" else 200
