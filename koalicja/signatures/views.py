from flask import Blueprint, abort, render_template, request, session, url_for
from flask_babel import get_locale

from ..coalitions.loading import privacy_notice_text, public_coalition_or_404
from ..extensions import csrf, limiter
from ..htmx import see_other
from ..security import submitted_mailbox
from ..serving import with_fragments
from ..tokens import TokenExpired, TokenInvalid
from .forms import EmailOnlyForm, SignatureForm
from .operations import (
    AlreadyWithdrawn,
    EntryGone,
    LinkUsed,
    confirm_signature,
    resend_confirmation_links,
    send_withdraw_links,
    sign_declaration,
    signature_for_confirmation,
    signature_for_withdrawal,
    withdraw_signature,
)

bp = Blueprint("signatures", __name__)


def _coalition_and_declaration(slug):
    coalition = public_coalition_or_404(slug, open_for_signing=True)
    return coalition, coalition.current_declaration


# The form checks its own CSRF token, so a stale token re-renders the form with a message
# and the person's answers instead of an error page.
@bp.route("/<slug>/podpisz", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("30 per 10 minutes", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=submitted_mailbox)
@with_fragments
def sign(slug):
    coalition, declaration = _coalition_and_declaration(slug)
    form = SignatureForm()
    if form.is_submitted() and form.is_bot:
        return see_other(url_for("signatures.check_inbox", slug=slug))  # looks like success, stores nothing
    if form.validate_on_submit():
        sign_declaration(
            declaration,
            form.signer_data(),
            privacy_notice_text=privacy_notice_text(coalition),
            language=str(get_locale() or "pl"),
        )
        session["signed_email"] = form.email.data
        return see_other(url_for("signatures.check_inbox", slug=slug))
    status = 422 if request.method == "POST" else 200
    return render_template("signatures/sign.html", coalition=coalition, declaration=declaration, form=form), status


@bp.post("/<slug>/podpisz/pole/<name>")
@csrf.exempt
def validate_field(slug, name):
    """Inline validation: the form's own validators, answered with one field's fragment."""
    coalition, _declaration = _coalition_and_declaration(slug)
    form = SignatureForm(meta={"csrf": False})
    if name not in SignatureForm.TEXT_FIELDS:
        abort(404)
    form.validate()
    return render_template("signatures/_field.html", coalition=coalition, form=form, field=form[name])


@bp.get("/<slug>/podpisz/sprawdz-poczte")
def check_inbox(slug):
    coalition, _declaration = _coalition_and_declaration(slug)
    return render_template("signatures/check_inbox.html", coalition=coalition, email=session.pop("signed_email", None))


@bp.route("/potwierdz/<token>", methods=["GET", "POST"])
def confirm(token):
    """GET only shows a button: mail scanners open links, people press buttons."""
    try:
        if request.method == "POST":
            signature = confirm_signature(token)
            # The thanks page says which choices of the form are recorded (nothing to agree to again).
            session["confirmed_choices"] = {
                "listed": signature.public_name or signature.public_organisation,
                "contact": signature.contact_allowed,
            }
            return see_other(url_for("signatures.confirmed", slug=signature.declaration.coalition.slug))
        signature = signature_for_confirmation(token)
    except TokenExpired:
        return _link_problem("expired")
    except TokenInvalid:
        return _link_problem("invalid")
    except LinkUsed as used:  # confirmed already (another press of the button), decided on or withdrawn
        return _link_problem("used", coalition=used.signature.declaration.coalition, message=used.message)
    coalition = signature.declaration.coalition
    return render_template("signatures/confirm.html", signature=signature, coalition=coalition)


def _link_problem(problem, coalition=None, message=None):
    form = EmailOnlyForm()
    return render_template(
        "signatures/link_problem.html", problem=problem, form=form, coalition=coalition, message=message
    ), 410 if problem == "expired" else 400


@bp.get("/<slug>/dziekujemy")
def confirmed(slug):
    coalition, _declaration = _coalition_and_declaration(slug)
    return render_template("signatures/confirmed.html", coalition=coalition, choices=session.pop("confirmed_choices", None))


@bp.route("/nowy-link", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("10 per 10 minutes", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=submitted_mailbox)
def new_link():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        resend_confirmation_links(form.email.data)
        session["signed_email"] = form.email.data
        return see_other(url_for("signatures.new_link_sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("signatures/new_link.html", form=form), status


@bp.get("/nowy-link/wyslany")
def new_link_sent():
    return render_template("signatures/new_link_sent.html", email=session.pop("signed_email", None))


@bp.route("/wycofaj/<token>", methods=["GET", "POST"])
def withdraw(token):
    """GET shows what will happen and a button; the POST withdraws and erases."""
    try:
        signature = signature_for_withdrawal(token)
    except AlreadyWithdrawn:
        return render_template("signatures/withdrawn.html", already=True)
    except (TokenExpired, TokenInvalid):
        return render_template("signatures/withdraw_request.html", form=EmailOnlyForm(), invalid_link=True), 400
    if request.method == "POST":
        try:
            withdraw_signature(signature)
        except (AlreadyWithdrawn, EntryGone):  # pressed twice, or removed a moment ago
            return render_template("signatures/withdrawn.html", already=True)
        return see_other(url_for("signatures.withdrawn"))
    return render_template("signatures/withdraw.html", signature=signature, coalition=signature.declaration.coalition)


@bp.get("/wycofano")
def withdrawn():
    return render_template("signatures/withdrawn.html", already=False)


@bp.route("/wycofaj", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("10 per 10 minutes", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=submitted_mailbox)
def withdraw_request():
    """Ask for withdrawal links by e-mail; the answer is the same whether the address signed or not."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        send_withdraw_links(form.email.data)
        session["signed_email"] = form.email.data
        return see_other(url_for("signatures.new_link_sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("signatures/withdraw_request.html", form=form, invalid_link=False), status
