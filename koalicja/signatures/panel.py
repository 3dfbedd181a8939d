"""Coordinators' side of signatures that arrive on paper: entering them and seeing their scans."""
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..coordinators.access import require_coalition, served_coalition_or_404
from ..extensions import db
from ..htmx import see_other
from ..mail.addresses import mailbox_key
from ..timeutil import warsaw_today
from .forms import EmailCorrectionForm, PaperSignatureForm, SignatureEditForm
from .models import Signature, SignatureStatus
from .operations import (
    AddressTaken,
    AlreadySigned,
    SignatureNoLongerApplies,
    correct_email,
    delete_signature,
    edit_signature,
    enter_paper_signature,
    resend_confirmation_link,
)
from .scans import SCAN_TYPES, send_scan

bp = Blueprint("signatures_panel", __name__, url_prefix="/panel")


@bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


@bp.route("/koalicje/<slug>/podpis-papierowy", methods=["GET", "POST"])
def paper_entry(slug):
    coalition = served_coalition_or_404(slug)
    declaration = coalition.current_declaration
    if declaration is None or declaration.current_version is None:
        abort(404)  # nothing published to sign yet
    form = PaperSignatureForm()
    if form.validate_on_submit():
        try:
            signature = enter_paper_signature(
                declaration, form.signer_data(), form.scan.data, form.scan_content_type, current_user
            )
        except AlreadySigned as signed:
            if signed.signature is None:  # entered at the same moment, and gone again since
                form.email.errors.append(_("Ten adres e-mail był właśnie wpisywany pod deklarację. Sprawdź listę i spróbuj ponownie."))
            else:
                form.email.errors.append(
                    _(
                        "Ten adres e-mail jest już pod deklaracją: %(name)s (%(status)s).",
                        name=signed.signature.display_name,
                        status=signed.signature.status_label,
                    )
                )
        else:
            flash(
                _("Zapisano podpis papierowy: %(name)s. Jest wśród zatwierdzonych. Możesz wpisać kolejny.", name=signature.display_name),
                "success",
            )
            return see_other(url_for("signatures_panel.paper_entry", slug=slug))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "signatures/panel/paper.html", coalition=coalition, declaration=declaration, form=form, today=warsaw_today()
        ),
        status,
    )


@bp.get("/skany/<int:signature_id>")
def scan(signature_id):
    """A paper signature's scan, only for coordinators of its coalition. Images open in the
    browser, a PDF is downloaded; security.py adds `nosniff` and `Cache-Control: no-store`."""
    signature = db.get_or_404(Signature, signature_id)
    require_coalition(signature.declaration.coalition_id)
    if not signature.scan_file:  # an online entry, or a withdrawn one whose scan was deleted
        abort(404)
    return send_scan(
        signature.scan_file,
        signature.scan_content_type,
        f"skan-podpisu-{signature.id}.{SCAN_TYPES[signature.scan_content_type]}",
    )


def _signature_or_404(signature_id):
    signature = db.get_or_404(Signature, signature_id)
    require_coalition(signature.declaration.coalition_id)
    return signature


@bp.route("/podpisy/<int:signature_id>/edycja", methods=["GET", "POST"])
def edit(signature_id):
    """Correct a typo or a wrong sector; withdrawn entries hold nothing left to correct."""
    signature = _signature_or_404(signature_id)
    if signature.status == "withdrawn":
        abort(404)
    form = SignatureEditForm(obj=signature if request.method == "GET" else None)
    if form.validate_on_submit():
        back = url_for("panel.queue", stan=signature.status, koalicja=signature.declaration.coalition.slug)
        try:
            changed = edit_signature(signature, form.corrected_data(), current_user)
        except SignatureNoLongerApplies as refused:  # withdrawn or deleted while the form was open
            flash(refused.message, "error")
            return see_other(back)
        flash(_("Zapisano poprawki.") if changed else _("Nic się nie zmieniło."), "success")
        return see_other(back)
    status = 422 if request.method == "POST" else 200
    return render_template("signatures/panel/edit.html", signature=signature, form=form,
                           coalition=signature.declaration.coalition), status


@bp.post("/podpisy/<int:signature_id>/usun")
def delete(signature_id):
    signature = _signature_or_404(signature_id)
    if request.form.get("confirm") != "tak":
        flash(_("Zaznacz potwierdzenie, aby usunąć wpis."), "error")
        return see_other(url_for("signatures_panel.edit", signature_id=signature_id))
    back = url_for("panel.queue", stan=signature.status, koalicja=signature.declaration.coalition.slug)
    try:
        delete_signature(signature, current_user)
    except SignatureNoLongerApplies as refused:  # another coordinator deleted it a moment ago
        flash(refused.message, "error")
    else:
        flash(_("Wpis usunięty."), "success")
    return see_other(back)


def _person_card(signature_id):
    return url_for("people.card", signature_id=signature_id)


@bp.post("/podpisy/<int:signature_id>/nowy-link")
def resend_link(signature_id):
    """Send an unconfirmed entry's confirmation link again (the person lost the e-mail)."""
    signature = _signature_or_404(signature_id)
    try:
        resend_confirmation_link(signature, current_user)
    except SignatureNoLongerApplies as refused:
        flash(refused.message, "error")
    else:
        flash(_("Link do potwierdzenia wysłany ponownie na %(email)s.", email=signature.email), "success")
    return see_other(_person_card(signature_id))


@bp.route("/podpisy/<int:signature_id>/adres", methods=["GET", "POST"])
def email_correction(signature_id):
    """Correct a mistyped address of an entry that is still unconfirmed: the new one confirms."""
    signature = _signature_or_404(signature_id)
    if signature.status != SignatureStatus.UNCONFIRMED and request.method == "GET":
        flash(_("Adres poprawia się tylko przy wpisach niepotwierdzonych e-mailem: ten wpis jest już potwierdzony "
                "lub rozpatrzony."), "error")
        return see_other(_person_card(signature_id))
    form = EmailCorrectionForm()
    if form.validate_on_submit():
        if mailbox_key(form.email.data) == signature.email_key:
            form.email.errors.append(_("To ten sam adres, który jest już przy wpisie. Wpisz poprawiony adres."))
        else:
            try:
                correct_email(signature, form.email.data, current_user)
            except AddressTaken as taken:
                form.email.errors.append(
                    _("Ten adres jest już pod deklaracją: %(name)s (%(status)s).", name=taken.signature.display_name,
                      status=taken.signature.status_label)
                    if taken.signature is not None
                    else _("Ten adres był właśnie wpisywany pod deklarację. Sprawdź listę i spróbuj ponownie.")
                )
            except SignatureNoLongerApplies as refused:  # confirmed or withdrawn while the form was open
                flash(refused.message, "error")
                return see_other(_person_card(signature_id))
            else:
                flash(_("Adres poprawiony. Link do potwierdzenia poszedł na %(email)s; na poprzedni adres nic nie wysłaliśmy.",
                        email=form.email.data), "success")
                return see_other(_person_card(signature_id))
    status = 422 if request.method == "POST" else 200
    return render_template("signatures/panel/correct_email.html", signature=signature, form=form,
                           coalition=signature.declaration.coalition), status
