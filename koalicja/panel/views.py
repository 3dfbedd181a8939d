import re

from flask import Blueprint, abort, flash, make_response, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..coalitions.models import Declaration
from ..coordinators.access import coalition_ids_condition, coalitions_served, declaration_ids_condition, require_coalition
from ..events.models import Event
from ..events.operations import attended_events
from ..extensions import csrf, db, limiter
from ..htmx import add_trigger, render_page_or_fragment, see_other, wants_fragment
from ..paging import paginate
from ..security import safe_local_path, submitted_mailbox
from ..serving import cached_page
from ..signatures.models import Signature, SignatureStatus
from ..signatures.operations import (
    AlreadyApproved,
    AlreadyRejected,
    ConfirmedMeanwhile,
    Decision,
    EntryGone,
    NotConfirmedYet,
    SignatureNoLongerApplies,
    WithdrawnDecision,
    decide_signature,
    decide_signatures,
    same_organisation_signatures,
    undo_decision,
    undoable_decisions,
)
from ..text import escape_like, search_key
from ..tokens import TokenExpired, TokenInvalid
from .forms import LoginForm, PasswordChangeForm, SetPasswordForm
from .operations import authenticate, choose_password, coordinator_for_password_link

bp = Blueprint("panel", __name__, url_prefix="/panel")

QUEUE_TABS = [
    SignatureStatus.CONFIRMED,
    SignatureStatus.UNCONFIRMED,
    SignatureStatus.APPROVED,
    SignatureStatus.REJECTED,
]
QUEUE_TAB_LABELS = {
    SignatureStatus.CONFIRMED: _l("Czekają na decyzję"),
    SignatureStatus.UNCONFIRMED: _l("Niepotwierdzone e-mailem"),
    SignatureStatus.APPROVED: _l("Zatwierdzone"),
    SignatureStatus.REJECTED: _l("Odrzucone"),
}
QUEUE_PAGE_SIZE = 100


def _login_failed(response):
    return response.status_code != 303


@bp.route("/logowanie", methods=["GET", "POST"])
@csrf.exempt  # LoginForm checks the token itself and re-renders with a message
@limiter.limit("10 per minute", methods=["POST"])
# Lock-out: 5 failed attempts for one address in 15 minutes, whether or not the account exists.
# A failure is counted once its answer is known, so guesses sent at the same moment all pass
# that check; every attempt is also counted before the password is looked at (at most 10 per
# address in 15 minutes, from however many IP addresses), which bounds what such a burst gets.
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=submitted_mailbox, deduct_when=_login_failed)
@limiter.limit("10 per 15 minutes", methods=["POST"], key_func=submitted_mailbox)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        coordinator = authenticate(form.email.data, form.password.data)
        if coordinator:
            session.clear()  # a fresh session on login: nothing set before it carries over
            login_user(coordinator)
            return see_other(safe_local_path(request.args.get("next"), default=url_for("panel.queue")))
        form.password.errors.append(_("Nieprawidłowy e-mail lub hasło."))
    status = 422 if request.method == "POST" else 200
    return render_template("panel/login.html", form=form), status


@bp.route("/haslo", methods=["GET", "POST"])
@login_required
def change_password():
    """A new password ends every other session: they were signed in with the old token."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if authenticate(current_user.email, form.current_password.data) is None:
            form.current_password.errors.append(_("Obecne hasło jest nieprawidłowe."))
        else:
            choose_password(current_user, form.new_password.data)
            login_user(current_user)  # this browser stays signed in under the new token
            flash(_("Hasło zmienione. Inne zalogowane urządzenia zostały wylogowane."), "success")
            return see_other(url_for("panel.queue"))
    status = 422 if request.method == "POST" else 200
    return render_template("panel/password.html", form=form), status


@bp.post("/wyloguj")
def logout():
    logout_user()
    session.clear()
    return see_other(url_for("panel.login"))


@bp.get("/")
@login_required
def index():
    return see_other(url_for("panel.queue"))


def _tab_counts(scope):
    rows = db.session.execute(
        select(Signature.status, func.count(Signature.id)).where(scope).group_by(Signature.status)
    ).all()
    counts = dict(rows)
    return {status: counts.get(status.value, 0) for status in QUEUE_TABS}


# A query that is only digits, spaces and dashes (and NIP's "PL") is an identifier as people
# write it ("PL 526-104-08-28", "0000 100 001"): KRS, NIP and REGON are stored as bare digits.
_IDENTIFIER_AS_WRITTEN = re.compile(r"(pl)?[\d\s-]*\d[\d\s-]*")


def _search_condition(query):
    """Names, organisation, e-mail, KRS/NIP/REGON, whatever the case and diacritics: the query
    is folded like Signature.panel_search_key, in Python, so both engines answer alike."""
    needle = search_key(query.strip())
    if _IDENTIFIER_AS_WRITTEN.fullmatch(needle):
        needle = re.sub(r"\D", "", needle)
    return Signature.panel_search_key.like(f"%{escape_like(needle)}%", escape="\\")


def _hits_per_tab(scope, condition):
    """How many entries of each tab the search finds, so a search with nothing in this tab can
    point to the tabs where it did find something."""
    rows = db.session.execute(
        select(Signature.status, func.count(Signature.id)).where(scope, condition).group_by(Signature.status)
    ).all()
    hits = dict(rows)
    return {status: hits.get(status.value, 0) for status in QUEUE_TABS}


@bp.get("/podpisy")
@login_required
@cached_page(per_user=True)
def queue():
    status = request.args.get("stan", SignatureStatus.CONFIRMED.value)
    if status not in {s.value for s in QUEUE_TABS}:
        status = SignatureStatus.CONFIRMED.value
    query = request.args.get("q", "")[:100]
    coalitions = coalitions_served()
    chosen = next((c for c in coalitions if c.slug == request.args.get("koalicja")), None)
    scope = (
        Signature.declaration_id.in_(select(Declaration.id).where(Declaration.coalition_id == chosen.id))
        if chosen
        else declaration_ids_condition(Signature.declaration_id)
    )
    conditions = [Signature.status == status, scope]
    hits = None
    if query.strip():
        searched = _search_condition(query)
        conditions.append(searched)
        hits = _hits_per_tab(scope, searched)
    ordering = Signature.decided_at.desc() if status in {"approved", "rejected"} else Signature.created_at
    listing = paginate(
        select(Signature)
        # Each row shows who decided and who entered a paper form: joined, not a query per row.
        .options(
            joinedload(Signature.decided_by),
            joinedload(Signature.entered_by),
            joinedload(Signature.declaration).joinedload(Declaration.coalition),
        )
        .where(*conditions)
        .order_by(ordering, Signature.id),
        request.args.get("strona"),
        QUEUE_PAGE_SIZE,
    )
    signatures = listing.items
    return render_page_or_fragment(
        "panel/queue.html",
        "panel/_queue_tabs.html",
        signatures=signatures,
        attended=attended_events((s.email_key for s in signatures), coalition_ids_condition(Event.coalition_id)),
        same_organisation=same_organisation_signatures(signatures),
        undoable=undoable_decisions(signatures, current_user),
        status=status,
        query=query,
        page=listing.page,
        pages=listing.pages,
        total=listing.total,
        tabs=QUEUE_TABS,
        status_labels=QUEUE_TAB_LABELS,
        counts=_tab_counts(scope),
        hits=hits,
        # Entries of several coalitions in one list each say whose they are.
        show_coalition=len(coalitions) > 1,
        withdrawn=db.session.scalar(
            select(func.count(Signature.id)).where(Signature.status == SignatureStatus.WITHDRAWN, scope)
        ),
        coalitions=coalitions,
        chosen_coalition=chosen,
    )


def _decision_from_form():
    try:
        return Decision(request.form.get("decision", ""))
    except ValueError:
        abort(400)


def _seen_status_from_form():
    """The status the entry had on the coordinator's screen (None when the form did not say)."""
    seen = request.form.get("seen", "")
    return seen if seen in {s.value for s in SignatureStatus} else None


@bp.post("/podpisy/<int:signature_id>/decyzja")
@login_required
def decide(signature_id):
    signature = db.get_or_404(Signature, signature_id)
    require_coalition(signature.declaration.coalition_id)
    decision = _decision_from_form()
    try:
        signature = decide_signature(signature, decision, current_user, seen=_seen_status_from_form())
        message = None
    except SignatureNoLongerApplies as refused:
        message = refused.message  # names what happened: withdrawn, approved a moment ago …
        if isinstance(refused, EntryGone):
            signature = None
    announcement = None
    if message is None and decision == Decision.APPROVE:
        announcement = _("Zatwierdzono: %(name)s.", name=signature.display_name)
    elif message is None:
        announcement = _("Odrzucono: %(name)s.", name=signature.display_name)
    return _decided_row(signature_id, signature, message, announcement)


@bp.post("/podpisy/<int:signature_id>/cofnij")
@login_required
def undo(signature_id):
    """"Cofnij" under a decision the coordinator made a moment ago: the entry waits again."""
    signature = db.get_or_404(Signature, signature_id)
    require_coalition(signature.declaration.coalition_id)
    try:
        undone = undo_decision(signature, current_user)
    except SignatureNoLongerApplies as refused:
        signature = None if isinstance(refused, EntryGone) else db.session.get(Signature, signature_id)
        return _decided_row(signature_id, signature, refused.message, None)
    announcement = _("Decyzja cofnięta: %(name)s znowu czeka na decyzję.", name=undone.signature.display_name)
    if undone.mail_already_sent:
        announcement += " " + _("E-mail z powitaniem został już wysłany i tego nie da się cofnąć.")
    return _decided_row(signature_id, undone.signature, None, announcement)


def _decided_row(signature_id, signature, message, announcement):
    """The row after a decision or its undo, for htmx; else back to the queue with the message.

    The row's status takes the focus (not a button: a second Enter must not decide again), and
    `announcement` goes to the queue's live region (the row itself is new to screen readers).
    A refusal is the row's alert instead."""
    if wants_fragment():
        if signature is None:  # deleted by another coordinator: the row says so and goes
            return add_trigger(make_response(render_template(
                "panel/_queue_row_gone.html", signature_id=signature_id, row_message=message
            )), "queueChanged")
        row = render_template(
            "panel/_queue_row.html",
            signature=signature,
            row_message=message,
            announcement=announcement,
            attended=attended_events([signature.email_key], coalition_ids_condition(Event.coalition_id)),
            same_organisation=same_organisation_signatures([signature]),
            undoable=undoable_decisions([signature], current_user),
            swapped=True,
            show_coalition=len(coalitions_served()) > 1,
        )
        return add_trigger(make_response(row), "queueChanged")
    if message:
        flash(message, "error")
    elif announcement:
        flash(announcement, "success")
    return see_other(request.referrer if _is_queue_url(request.referrer) else url_for("panel.queue"))


def _is_queue_url(url):
    return bool(url) and url.startswith(request.host_url + "panel/podpisy")


# Why entries of a bulk decision were skipped: "label: count" needs no plural forms.
SKIP_REASON_LABELS = {
    AlreadyApproved: lambda count: _("już zatwierdzone: %(count)d", count=count),
    AlreadyRejected: lambda count: _("już odrzucone: %(count)d", count=count),
    WithdrawnDecision: lambda count: _("wycofane przez osoby podpisujące: %(count)d", count=count),
    NotConfirmedYet: lambda count: _("jeszcze niepotwierdzone e-mailem: %(count)d", count=count),
    ConfirmedMeanwhile: lambda count: _("potwierdzone w międzyczasie, czekają na decyzję: %(count)d", count=count),
    EntryGone: lambda count: _("usunięte lub spoza Twoich koalicji: %(count)d", count=count),
}


@bp.post("/podpisy/decyzje")
@login_required
def decide_many():
    decision = _decision_from_form()
    ids = [int(v) for v in request.form.getlist("ids") if v.isascii() and v.isdigit() and len(v) < 10]
    if not ids:
        flash(_("Zaznacz co najmniej jeden wpis."), "error")
    else:
        outcome = decide_signatures(ids, decision, current_user, seen=_seen_status_from_form())
        if decision == Decision.APPROVE:
            flash(_("Zatwierdzone wpisy: %(count)d.", count=outcome.decided), "success")
        else:
            flash(_("Odrzucone wpisy: %(count)d.", count=outcome.decided), "success")
        if len(outcome.coalitions) > 1:  # a list of several coalitions: say whose entries these were
            flash(_("W koalicjach: %(coalitions)s.", coalitions="; ".join(
                f"{name}: {count}" for name, count in outcome.coalitions.items())), "success")
        if outcome.skipped:
            reasons = "; ".join(str(SKIP_REASON_LABELS[reason](count)) for reason, count in outcome.skipped.items())
            flash(_("Pominięte wpisy: %(count)d (%(reasons)s).", count=outcome.skipped_count, reasons=reasons), "error")
    return see_other(request.referrer if _is_queue_url(request.referrer) else url_for("panel.queue"))


@bp.route("/ustaw-haslo/<token>", methods=["GET", "POST"])
def set_password_from_link(token):
    """The invitation's (or a reset's) link: choose a password, then sign in with it."""
    try:
        coordinator = coordinator_for_password_link(token)
    except (TokenExpired, TokenInvalid):
        return render_template("panel/set_password_link_problem.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        choose_password(coordinator, form.new_password.data)
        flash(_("Hasło ustawione. Zaloguj się nim."), "success")
        return see_other(url_for("panel.login"))
    return render_template("panel/set_password.html", form=form, coordinator=coordinator), 422 if request.method == "POST" else 200
