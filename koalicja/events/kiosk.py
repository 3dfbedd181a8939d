"""The signing kiosk: a tablet at an event where people sign the coalition's declaration.

A coordinator unlocks it on the tablet from the event's door page: that logs them out of the
panel there (a signer must not reach it) and leaves a signed, expiring kiosk token in a cookie
sent only to this event's kiosk pages (`/kiosk/<event>/`). The form is the public signing form;
each entry records the event ("podpisane na miejscu"). After each signing the tablet shows a
thank-you that returns to an empty form by itself (a Refresh header, no JavaScript): nothing of
the signer is kept in the session, the page or the browser's history (no-store, autocomplete
off). The e-mail confirmation still applies, unless the coordinator standing by ticks
"Świadek: …": then the entry is confirmed at once and the audit log names the witness
(koalicja/signatures/operations.py, sign_declaration).
"""
import hashlib
import hmac
from datetime import timedelta

from flask import Blueprint, abort, current_app, make_response, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import BooleanField, StringField
from wtforms.validators import ValidationError

from ..coalitions.loading import privacy_notice_text, public_coalition_or_404
from ..coordinators.access import require_coalition, serves
from ..coordinators.audit import AuditAction, record
from ..coordinators.models import Coordinator
from ..extensions import csrf, db
from ..htmx import see_other
from ..serving import with_fragments
from ..signatures.forms import SignatureForm, strip
from ..signatures.operations import sign_declaration
from ..timeutil import utcnow
from ..tokens import TokenExpired, TokenInvalid, make_token, read_token
from .models import Event

bp = Blueprint("events_kiosk", __name__)

COOKIE = "koalicja_kiosk"
PURPOSE = "kiosk"
# The kiosk closes itself this long after the event ends (and never lasts more than a day).
AFTER_THE_EVENT = timedelta(hours=2)
MAX_HOURS = 24
THANKS_SECONDS = 8


def witness_code(event):
    """The code a coordinator types on the tablet to witness a signing: shown on the door page in
    the panel only, so a signer at the tablet cannot tick the witness box for themselves."""
    mac = hmac.new(current_app.config["SECRET_KEY"].encode(), f"kiosk-witness:{event.id}".encode(), hashlib.sha256)
    return str(int(mac.hexdigest(), 16) % 10**6).zfill(6)


class KioskSignatureForm(SignatureForm):
    witnessed = BooleanField(
        _l("Świadek: koordynator(ka) potwierdza tożsamość"),
        description=_l("Zaznacza osoba koordynująca, która widziała dokument tożsamości. Wtedy nie wysyłamy e-maila."),
    )
    witness_code = StringField(
        _l("Kod świadka"),
        description=_l("Wpisuje osoba koordynująca: kod ze strony wejścia na wydarzenie w panelu."),
        filters=[strip],
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    expected_witness_code = None  # set by the view: witness_code(event)

    def validate_witness_code(self, field):
        if self.witnessed.data and not hmac.compare_digest(field.data or "", self.expected_witness_code or ""):
            raise ValidationError(_l("Wpisz kod świadka ze strony wejścia w panelu (albo odznacz pole świadka)."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:  # the tablet's browser must not offer one signer's name or address to the next
            if "autocomplete" in (field.render_kw or {}):
                field.render_kw = {**field.render_kw, "autocomplete": "off"}


def _kiosk_path(event_id):
    return f"/kiosk/{event_id}/"


def _closes_at(event):
    return min(event.ends_at + AFTER_THE_EVENT, utcnow() + timedelta(hours=MAX_HOURS))


def open_kiosk(event, by):
    """The audit entry of a kiosk unlocked (who, for which event), committed on its own."""
    summary = _l("%(event)s: otwarto kiosk podpisów", event=event.title)
    record(AuditAction.EVENT, summary, coalition_id=event.coalition_id, subject=event, coordinator=by)
    db.session.commit()


@bp.post("/panel/wydarzenia/<int:event_id>/kiosk")
@login_required
def unlock(event_id):
    event = db.get_or_404(Event, event_id)
    require_coalition(event.coalition_id)
    public_coalition_or_404(event.coalition.slug, open_for_signing=True)
    if _closes_at(event) <= utcnow():
        abort(404)  # the event is over
    open_kiosk(event, by=current_user)
    token = make_token(PURPOSE, {"e": event.id, "c": current_user.id})
    # This device leaves the panel; the coordinator's other devices (the phone at the door) stay
    # logged in, so no logout_user(), which would end every session of the account.
    session.clear()
    response = see_other(url_for("events_kiosk.sign", event_id=event.id))
    response.set_cookie(
        COOKIE, token, max_age=int((_closes_at(event) - utcnow()).total_seconds()), path=_kiosk_path(event.id),
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False), httponly=True, samesite="Strict",
    )
    return response


def _unlocked_kiosk(event_id):
    """The event, its coalition and the coordinator who unlocked this tablet; a 403 page when
    the kiosk is not (or no longer) unlocked."""
    event = db.get_or_404(Event, event_id)
    coordinator = None
    try:
        payload = read_token(PURPOSE, request.cookies.get(COOKIE, ""), MAX_HOURS * 3600)
    except (TokenExpired, TokenInvalid):
        payload = None
    if payload and payload.get("e") == event.id and event.ends_at + AFTER_THE_EVENT > utcnow():
        coordinator = db.session.get(Coordinator, payload.get("c"))
    if coordinator is None or not coordinator.is_active or not serves(event.coalition_id, coordinator):
        abort(make_response(render_template("events/kiosk/locked.html"), 403))
    return event, public_coalition_or_404(event.coalition.slug, open_for_signing=True), coordinator


@bp.route("/kiosk/<int:event_id>/podpisz", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, as the public one does
@with_fragments
def sign(event_id):
    event, coalition, coordinator = _unlocked_kiosk(event_id)
    declaration = coalition.current_declaration
    form = KioskSignatureForm()
    form.expected_witness_code = witness_code(event)
    if form.is_submitted() and form.is_bot:
        return see_other(url_for("events_kiosk.thanks", event_id=event.id))
    if form.validate_on_submit():
        witnessed = bool(form.witnessed.data)
        sign_declaration(
            declaration,
            form.signer_data(),
            privacy_notice_text=privacy_notice_text(coalition),
            language=str(get_locale() or "pl"),
            at_event=event,
            witness=coordinator if witnessed else None,
        )
        return see_other(url_for("events_kiosk.thanks", event_id=event.id, swiadek=1 if witnessed else None))
    page = render_template(
        "signatures/sign.html",
        coalition=coalition,
        declaration=declaration,
        form=form,
        kiosk_event=event,
        form_action=url_for("events_kiosk.sign", event_id=event.id),
    )
    return page, 422 if request.method == "POST" else 200  # no-store, like the panel (security.PANEL_BLUEPRINTS)


@bp.get("/kiosk/<int:event_id>/dziekujemy")
def thanks(event_id):
    event, coalition, _coordinator = _unlocked_kiosk(event_id)
    next_signer = url_for("events_kiosk.sign", event_id=event.id)
    page = render_template(
        "events/kiosk/thanks.html", coalition=coalition, event=event, next_signer=next_signer,
        witnessed=request.args.get("swiadek") == "1", seconds=THANKS_SECONDS,
    )
    return page, {"Refresh": f"{THANKS_SECONDS}; url={next_signer}"}
