"""The members' side of consultations: the public list and pages, the ballot behind the personal
link, its protocol, and "nie mam linku".

The personal link opens the ballot: GET only shows it (mail scanners open links), the form's POST
records the voice (operations.record_voice) and comes back to the same link (POST/redirect/GET),
or, for htmx, answers with the ballot's fragment. The link's pages name the member and their
voice: never indexed, never kept (`private, no-store`). After the close the same link shows the
results, including those published to members only.
"""
import functools

from flask import Blueprint, abort, flash, make_response, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from ..coalitions.loading import public_coalition_or_404
from ..extensions import csrf, db, limiter
from ..htmx import client_redirect, see_other, wants_fragment
from ..security import noindex, submitted_mailbox
from ..serving import cached_page
from ..text import render_markdown
from ..timeutil import utcnow
from ..tokens import TokenExpired, TokenInvalid
from .member_forms import LinkRequestForm, ballot_form, section_titles
from .models import Consultation, ConsultationStatus, VoiceMethod
from .operations import (
    ConsultationNoLongerApplies,
    current_choice,
    current_opinions,
    member_from_token,
    public_consultations,
    record_voice,
    resend_links,
)
from .results import results_of, results_visible

bp = Blueprint("consultations", __name__)

WHEN = "d MMMM y, HH:mm"  # Europe/Warsaw (BABEL_DEFAULT_TIMEZONE), as the `datetime` filter


def personal(view):
    """A page behind the personal link: it shows one member's voice, so no search engine lists it
    and no browser or proxy keeps it."""

    @functools.wraps(view)
    def wrapper(**kwargs):
        response = make_response(view(**kwargs))
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return noindex(wrapper)


# ---- public pages -----------------------------------------------------------------------------


def _public_consultation(slug, consultation_id):
    coalition = public_coalition_or_404(slug)
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.coalition_id != coalition.id or consultation.is_draft:
        abort(404)
    return coalition, consultation


@bp.get("/<slug>/konsultacje")
@cached_page(clock=True)  # what runs now changes with the clock (opening and closing times)
def index(slug):
    coalition = public_coalition_or_404(slug)
    consultations = public_consultations(coalition)
    return render_template(
        "consultations/index.html",
        coalition=coalition,
        running=[c for c in consultations if c.status in (ConsultationStatus.OPEN, ConsultationStatus.SCHEDULED)],
        closed=[c for c in consultations if c.is_closed],
    )


@bp.get("/<slug>/konsultacje/<int:consultation_id>")
@cached_page(clock=True)
def consultation(slug, consultation_id):
    """The question as everyone sees it; its results only when published and visible (members-only
    results are behind the personal link)."""
    coalition, consultation = _public_consultation(slug, consultation_id)
    now = utcnow()
    shown = consultation.results_public and results_visible(consultation, now)
    return render_template(
        "consultations/consultation.html",
        coalition=coalition,
        consultation=consultation,
        body_html=render_markdown(consultation.body),
        accepting=consultation.accepts_voices(now),
        results=results_of(consultation) if shown else None,
    )


@bp.get("/<slug>/konsultacje/<int:consultation_id>/protokol")
@cached_page
def protocol(slug, consultation_id):
    """The printable protocol of a closed consultation whose results are public."""
    coalition, consultation = _public_consultation(slug, consultation_id)
    if not (consultation.is_closed and consultation.results_public):
        abort(404)
    back = url_for("consultations.consultation", slug=slug, consultation_id=consultation_id)
    return _protocol(coalition, consultation, back)


def _protocol(coalition, consultation, back_url):
    # A protocol records an outcome: only after the close, even when results were shown live.
    return render_template(
        "consultations/protocol.html",
        coalition=coalition,
        consultation=consultation,
        results=results_of(consultation),
        back_url=back_url,
    )


# ---- the personal link ------------------------------------------------------------------------


def _link_problem(coalition, message=None):
    """The page of a link that does not open a ballot: broken, or replaced by another one."""
    return render_template("consultations/link_problem.html", coalition=coalition, message=message), 410 if message else 400


def _member(slug, token):
    """The coalition and the roll's member this personal link is for, or the page that says why not."""
    coalition = public_coalition_or_404(slug)
    try:
        member = member_from_token(token)
    except (TokenExpired, TokenInvalid):
        abort(make_response(_link_problem(coalition)))
    except ConsultationNoLongerApplies as refused:  # e.g. the link went to another representative
        abort(make_response(_link_problem(coalition, refused.message)))
    if member.consultation.coalition_id != coalition.id:
        abort(404)
    return coalition, member


@bp.route("/<slug>/konsultacje/glos/<token>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token: a stale one re-renders the ballot with a message
@personal
def ballot(slug, token):
    coalition, member = _member(slug, token)
    if request.method != "POST":  # GET (and HEAD) never records
        return _ballot_page(coalition, member, token)
    consultation = member.consultation
    form = ballot_form(consultation)
    if not form.validate_on_submit():
        # htmx swaps only 2xx answers: the fragment with its errors comes as 200.
        return _ballot_page(coalition, member, token, form=form), 200 if wants_fragment() else 422
    first = not member.took_part
    try:
        recorded = record_voice(member, form.option_ids(), form.opinions())
    except ConsultationNoLongerApplies as refused:  # closed meanwhile, or the link was replaced
        flash(refused.message, "error")
        back = url_for("consultations.ballot", slug=slug, token=token)
        return client_redirect(back) if wants_fragment() else see_other(back)
    notice = _recorded_notice(consultation, recorded, first)
    if wants_fragment():
        return _ballot_page(coalition, member, token, notice=notice)  # the voice as recorded now
    flash(notice, "success")
    return see_other(url_for("consultations.ballot", slug=slug, token=token))


def _recorded_notice(consultation, recorded, first):
    """What the member is told after the POST. It never names the choice: a flash message lives in
    the session cookie, and the page below says what was recorded anyway."""
    when = format_datetime(recorded.at, WHEN)
    if not recorded.changed:
        if consultation.asks_opinions:
            return _("Twoja opinia była już zapisana w tej postaci (%(when)s): nic nie zmieniliśmy.", when=when)
        return _("Twój głos był już zapisany w tej postaci (%(when)s): nic nie zmieniliśmy.", when=when)
    closes = format_datetime(consultation.closes_at, WHEN)
    if consultation.asks_opinions:
        return _(
            "Zapisaliśmy Twoją opinię (%(when)s). Potwierdzenie wysłaliśmy e-mailem. Możesz ją zmienić do %(closes)s.",
            when=when, closes=closes,
        )
    if first:
        return _(
            "Zapisaliśmy Twój głos (%(when)s). Potwierdzenie wysłaliśmy e-mailem. Możesz go zmienić do %(closes)s.",
            when=when, closes=closes,
        )
    return _(
        "Zapisaliśmy Twój zmieniony głos (%(when)s). Potwierdzenie wysłaliśmy e-mailem. Możesz go zmienić do %(closes)s.",
        when=when, closes=closes,
    )


def _ballot_page(coalition, member, token, form=None, notice=None):
    """The ballot page, or its fragment for htmx; `form`: a sent form with its errors (else the
    member's current voice, filled in)."""
    consultation = member.consultation
    now = utcnow()
    choice, opinions = current_choice(member), current_opinions(member)
    context = {
        "coalition": coalition,
        "consultation": consultation,
        "member": member,
        "form": form or ballot_form(consultation, choice, opinions),
        "token": token,
        "notice": notice,
        # A meeting's decision takes the voices its coordinator enters, not the members' own.
        "accepting": consultation.accepts_voices(now) and not consultation.from_meeting,
        "chosen": [option.display_label for option in consultation.options if option.id in choice],
        "opinions": opinions,
        "titles": section_titles(consultation),
        "methods": VoiceMethod,
    }
    if wants_fragment():
        return render_template("consultations/_ballot_form.html", **context)
    return render_template(
        "consultations/ballot.html",
        body_html=render_markdown(consultation.body),
        results=results_of(consultation) if results_visible(consultation, now) else None,
        **context,
    )


@bp.get("/<slug>/konsultacje/glos/<token>/protokol")
@personal
def member_protocol(slug, token):
    """The protocol for members, whatever the results' publication: after the close."""
    coalition, member = _member(slug, token)
    if not member.consultation.is_closed:
        abort(404)
    return _protocol(coalition, member.consultation, url_for("consultations.ballot", slug=slug, token=token))


# ---- "nie mam linku" --------------------------------------------------------------------------


@bp.route("/<slug>/konsultacje/nie-mam-linku", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token and re-renders with the address typed
@limiter.limit("10 per 10 minutes", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=submitted_mailbox)
@noindex
def link_request(slug):
    """The personal links again, by e-mail; the answer is the same whether the address is on a roll or not."""
    coalition = public_coalition_or_404(slug)
    form = LinkRequestForm()
    if form.validate_on_submit():
        resend_links(coalition, form.email.data)
        session["consultation_link_email"] = form.email.data
        return see_other(url_for("consultations.link_sent", slug=slug))
    status = 422 if form.is_submitted() else 200
    return render_template("consultations/link_request.html", coalition=coalition, form=form), status


@bp.get("/<slug>/konsultacje/nie-mam-linku/wyslano")
@noindex
def link_sent(slug):
    coalition = public_coalition_or_404(slug)
    return render_template(
        "consultations/link_sent.html", coalition=coalition, email=session.pop("consultation_link_email", None)
    )
