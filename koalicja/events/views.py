from flask import Blueprint, abort, current_app, flash, make_response, render_template, request, session, url_for
from flask_babel import get_locale

from ..coalitions.loading import public_coalition_or_404
from ..extensions import csrf, limiter
from ..htmx import see_other
from ..locking import NoLongerApplies
from ..security import noindex, submitted_mailbox
from ..serving import cached_page, with_fragments
from ..text import render_markdown
from ..tokens import TokenExpired, TokenInvalid
from .calendar import event_ics
from .forms import RegistrationForm
from .meetings import attendance_counts, past_meetings, published_meeting, send_minutes_scan
from .models import EventStatus, RegistrationStatus
from .notifications import CANCEL_PURPOSE, TICKET_PURPOSE, cancel_url, ticket_qr_svg, ticket_url
from .operations import (
    HoldExpired,
    LinkUsed,
    RegistrationRefused,
    availability,
    cancel_registration,
    confirm_registration,
    event_by_slug,
    past_events,
    places_left,
    register,
    registration_for_confirmation,
    registration_from_token,
    upcoming_events,
    waiting_position,
)

bp = Blueprint("events", __name__)

# Cancel and ticket links work until long after the event; their signature is what matters.
LASTING_LINK_MAX_AGE = 400 * 86400


def _event(slug, event_slug):
    coalition = public_coalition_or_404(slug)
    event = event_by_slug(coalition, event_slug)
    if event is None or event.status == EventStatus.DRAFT:
        abort(404)
    return coalition, event


def _confirm_max_age():
    return int(current_app.config["CONFIRM_TOKEN_MAX_AGE_DAYS"] * 86400)


@bp.get("/<slug>/wydarzenia")
@cached_page(clock=True)
def index(slug):
    coalition = public_coalition_or_404(slug)
    events = upcoming_events(coalition)
    return render_template(
        "events/index.html",
        coalition=coalition,
        events=events,
        places={event.id: places_left(event) for event in events},
        has_archive=bool(past_events(coalition)),
    )


@bp.get("/<slug>/wydarzenia/archiwum")
@cached_page(clock=True)
def archive(slug):
    coalition = public_coalition_or_404(slug)
    return render_template("events/archive.html", coalition=coalition, events=past_events(coalition))


@bp.get("/<slug>/wydarzenia/<event_slug>")
@cached_page(clock=True)
def detail(slug, event_slug):
    """The event as everyone sees it; "Zapisz się" leads to the form's own page."""
    coalition, event = _event(slug, event_slug)
    places = places_left(event)
    return render_template(
        "events/detail.html",
        coalition=coalition,
        event=event,
        state=availability(event, places=places),
        places=places,
        description_html=render_markdown(event.description),
    )


@bp.get("/<slug>/posiedzenia")
@cached_page(clock=True)
def meetings(slug):
    """Past meetings of the working group: agenda, attendance and the minutes once published
    (unpublished minutes stay in the panel)."""
    coalition = public_coalition_or_404(slug)
    events = past_meetings(coalition)
    return render_template(
        "events/meetings.html",
        coalition=coalition,
        meetings=events,
        attendance=attendance_counts(events),
    )


@bp.get("/<slug>/posiedzenia/<event_slug>/protokol.pdf")
def meeting_minutes_scan(slug, event_slug):
    """The scan of a past meeting's published minutes (404 while they are not published)."""
    event = published_meeting(public_coalition_or_404(slug), event_slug)
    if event is None:
        abort(404)
    return send_minutes_scan(event)


@bp.get("/<slug>/wydarzenia/<event_slug>/zapisz")
@with_fragments
def registration_form(slug, event_slug):
    """The registration form: this visitor's CSRF token and bot-trap clock, so private, never kept."""
    coalition, event = _event(slug, event_slug)
    return _registration_page(coalition, event, RegistrationForm(max_companions=event.max_companions))


# The form posts to the event's own address (the address of registering for it since the start).
@bp.post("/<slug>/wydarzenia/<event_slug>")
@csrf.exempt  # the form checks its own token and re-renders with the person's answers
@limiter.limit("20 per 10 minutes")
@limiter.limit("5 per hour", key_func=submitted_mailbox)
def register_for(slug, event_slug):
    coalition, event = _event(slug, event_slug)
    form = RegistrationForm(max_companions=event.max_companions)
    if form.is_bot:
        return see_other(url_for("events.registered", slug=slug, event_slug=event_slug))
    refusal = None
    if form.validate_on_submit():
        try:
            result = register(event, form.registration_data(), language=str(get_locale() or "pl"))
        except RegistrationRefused as refused:
            refusal = refused.reason
        else:
            session["registered"] = {"email": form.email.data, "event": event.id, "new": result.new}
            return see_other(url_for("events.registered", slug=slug, event_slug=event_slug))
    return _registration_page(coalition, event, form, refusal), 422


def _registration_page(coalition, event, form, refusal=None):
    places = places_left(event)
    return render_template(
        "events/register.html",
        coalition=coalition,
        event=event,
        form=form,
        state=availability(event, places=places),
        refusal=refusal,
        places=places,
    )


@bp.get("/<slug>/wydarzenia/<event_slug>/zapisano")
def registered(slug, event_slug):
    coalition, event = _event(slug, event_slug)
    info = session.pop("registered", None) or {}
    return render_template("events/registered.html", coalition=coalition, event=event, email=info.get("email"))


@bp.get("/<slug>/wydarzenia/<event_slug>/kalendarz.ics")
def calendar_file(slug, event_slug):
    _coalition_, event = _event(slug, event_slug)
    response = make_response(event_ics(event))
    response.mimetype = "text/calendar"
    response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


def _link_problem(problem, registration=None):
    coalition = registration.event.coalition if registration else None
    return render_template(
        "events/link_problem.html", problem=problem, registration=registration, coalition=coalition
    ), 410 if problem in ("expired", "hold_expired") else 400


@bp.route("/wydarzenia/potwierdz/<token>", methods=["GET", "POST"])
def confirm(token):
    """GET shows a button (mail scanners open links); the POST confirms."""
    try:
        if request.method == "POST":
            registration = confirm_registration(token, _confirm_max_age())
            return see_other(url_for("events.confirmed", token=token))
        registration = registration_for_confirmation(token, _confirm_max_age())
    except TokenExpired:
        return _link_problem("expired")
    except TokenInvalid:
        return _link_problem("invalid")
    except LinkUsed as used:
        return _link_problem("used", used.registration)
    except HoldExpired as expired:
        return _link_problem("hold_expired", expired.registration)
    except NoLongerApplies as refused:  # e.g. the event was cancelled: its page says so too
        flash(refused.message, "error")
        event = refused.registration.event
        return see_other(url_for("events.detail", slug=event.coalition.slug, event_slug=event.slug))
    return render_template(
        "events/confirm.html", registration=registration, event=registration.event, coalition=registration.event.coalition
    )


@bp.get("/wydarzenia/potwierdzono/<token>")
def confirmed(token):
    """After the POST: the same signed token names the registration, whatever its nonce is now."""
    try:
        registration = registration_from_token(
            "registration-confirm", token, _confirm_max_age(), nonce_field="confirm_nonce"
        )
    except LinkUsed as used:
        registration = used.registration
    except (TokenExpired, TokenInvalid):
        abort(404)
    return render_template(
        "events/confirmed.html",
        registration=registration,
        event=registration.event,
        coalition=registration.event.coalition,
        position=waiting_position(registration),
        statuses=RegistrationStatus,
        ticket_url=ticket_url(registration, external=False),
    )


@bp.get("/wydarzenia/bilet/<token>")
@noindex
def ticket(token):
    """The ticket on the web, for a lost e-mail: QR code, code, .ics and the way to cancel.

    Only with the signed link (the code is its nonce); personal, so never kept by a browser
    or a proxy, and never indexed. The QR code is there only while the place is confirmed.
    """
    try:
        registration = registration_from_token(TICKET_PURPOSE, token, LASTING_LINK_MAX_AGE, nonce_field="code")
    except (TokenExpired, TokenInvalid):
        response = make_response(_link_problem("invalid"))
    else:
        valid = registration.status == RegistrationStatus.CONFIRMED and not registration.event.is_cancelled
        response = make_response(
            render_template(
                "events/ticket.html",
                registration=registration,
                event=registration.event,
                coalition=registration.event.coalition,
                qr_svg=ticket_qr_svg(registration) if valid else None,
                cancel_url=cancel_url(registration, external=False) if registration.is_active else None,
            )
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/wydarzenia/rezygnacja/<token>", methods=["GET", "POST"])
def cancel(token):
    try:
        registration = registration_from_token(CANCEL_PURPOSE, token, LASTING_LINK_MAX_AGE, nonce_field="code")
    except (TokenExpired, TokenInvalid):
        return _link_problem("invalid")
    if request.method == "POST":
        try:
            cancel_registration(registration)
        except NoLongerApplies as refused:  # cancelled, rejected or expired already: nothing changed
            flash(refused.message, "error")
        return see_other(url_for("events.cancel", token=token))
    return render_template(
        "events/cancel.html",
        registration=registration,
        event=registration.event,
        coalition=registration.event.coalition,
        statuses=RegistrationStatus,
    )
