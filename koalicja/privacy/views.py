import json

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user, login_required

from ..signatures.forms import EmailOnlyForm
from .operations import export_personal_data

bp = Blueprint("privacy", __name__, url_prefix="/panel/dane-osobowe")


@bp.route("/", methods=["GET", "POST"])
@login_required
def export():
    """Right of access: everything stored about one e-mail address, as a JSON file."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        data = export_personal_data(form.email.data, current_user)
        response = make_response(json.dumps(data, ensure_ascii=False, indent=2))
        response.mimetype = "application/json"
        response.headers["Content-Disposition"] = 'attachment; filename="dane-osobowe.json"'
        return response
    return render_template("privacy/export.html", form=form), 422 if request.method == "POST" else 200
