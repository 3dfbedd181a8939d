"""Coordinators' side of events: create, publish, cancel, registrations, CSV, messages, check-in."""
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from ..coordinators.access import coalition_ids_condition, coalitions_served, require_coalition
from ..exports import spreadsheet_attachment
from ..extensions import db
from ..htmx import render_page_or_fragment, see_other, wants_fragment
from ..locking import NoLongerApplies
from ..serving import cached_page
from ..timeutil import utc_to_warsaw, warsaw_to_utc
from .forms import AddPersonForm, CompanionsForm, EventForm, EventMessageForm, MinutesForm, slugify
from .kiosk import witness_code
from .meetings import attendees, has_started, save_minutes, send_minutes_scan, set_minutes_published
from .models import REGISTRATION_STATUS_LABELS, Event, EventStatus, Registration, RegistrationStatus
from .offline import device_copy_expires_at, record_scans, registrants_for_device
from .operations import (
    AlreadyRegistered,
    add_registration_by_coordinator,
    attended_count,
    cancel_event,
    cancel_registration,
    change_companions,
    check_in_candidates,
    decide_registration,
    message_registrants,
    places_left,
    places_taken,
    promote_now,
    publish_event,
    record_registrations_export,
    registration_by_code,
    registrations_for,
    registrations_table,
    resend_ticket,
    save_event,
    set_attendance,
    status_counts,
)

bp = Blueprint("events_panel", __name__, url_prefix="/panel/wydarzenia")

TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
EVENT_FIELDS = (
    "title", "summary", "description", "venue", "address", "accessibility", "capacity", "max_companions",
    "allies_only", "reserved_for_allies", "max_per_organisation", "requires_approval", "hold_hours",
    "is_members_meeting", "agenda",
) + TIME_FIELDS


@bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


def _event_or_404(event_id):
    """The event, if it belongs to a coalition this coordinator serves (404 otherwise)."""
    event = db.get_or_404(Event, event_id)
    require_coalition(event.coalition_id)
    return event


def _registration_or_404(registration_id):
    registration = db.get_or_404(Registration, registration_id)
    require_coalition(registration.event.coalition_id)
    return registration


@bp.get("/")
def index():
    events = db.session.scalars(
        select(Event).where(coalition_ids_condition(Event.coalition_id)).order_by(Event.starts_at.desc())
    ).all()
    return render_template(
        "events/panel/index.html", events=events, taken={event.id: places_taken(event) for event in events}
    )


def _form_for(event=None):
    # Prefill from the event only on GET: with posted data an unticked box must stay unticked.
    return EventForm(obj=_LocalTimes(event) if event is not None and request.method == "GET" else None)


class _LocalTimes:
    """An event's attributes with times shown in Warsaw, to prefill the form."""

    def __init__(self, event):
        self._event = event

    def __getattr__(self, name):
        value = getattr(self._event, name)
        if name in TIME_FIELDS and value is not None:
            return utc_to_warsaw(value).replace(tzinfo=None)
        return value


def _event_data(form):
    data = {name: form[name].data for name in EVENT_FIELDS}
    for name in TIME_FIELDS:
        if data[name] is not None:
            data[name] = warsaw_to_utc(data[name])
    for name in ("summary", "description", "venue", "address", "accessibility", "agenda"):
        data[name] = data[name] or ""
    data["max_companions"] = data["max_companions"] or 0
    data["reserved_for_allies"] = data["reserved_for_allies"] or 0
    return data


@bp.route("/nowe", methods=["GET", "POST"])
def create():
    form = _form_for()
    coalitions = coalitions_served()
    if not coalitions:
        abort(404)
    form.coalition.choices = [(c.slug, c.name) for c in coalitions]
    if not form.coalition.data:  # one coalition: no question asked
        form.coalition.data = request.args.get("koalicja") or coalitions[0].slug
    if form.validate_on_submit():
        coalition = next(c for c in coalitions if c.slug == form.coalition.data)
        event = Event(coalition_id=coalition.id, status=EventStatus.DRAFT)
        save_event(event, _event_data(form) | {"slug": form.slug.data or slugify(form.title.data)}, by=current_user)
        flash(_("Zapisano wersję roboczą. Opublikuj wydarzenie, gdy będzie gotowe."), "success")
        return see_other(url_for("events_panel.detail", event_id=event.id))
    return render_template("events/panel/form.html", form=form, event=None), 422 if request.method == "POST" else 200


@bp.route("/<int:event_id>/edycja", methods=["GET", "POST"])
def edit(event_id):
    event = _event_or_404(event_id)
    form = _form_for(event)
    del form.coalition  # an event stays with its coalition
    if form.validate_on_submit():
        data = _event_data(form)
        if form.slug.data:
            data["slug"] = form.slug.data
        save_event(event, data, by=current_user)
        flash(_("Zapisano zmiany."), "success")
        return see_other(url_for("events_panel.detail", event_id=event.id))
    return render_template("events/panel/form.html", form=form, event=event), 422 if request.method == "POST" else 200


@bp.post("/<int:event_id>/publikuj")
def publish(event_id):
    event = _event_or_404(event_id)
    try:
        publish_event(event, by=current_user)
    except NoLongerApplies as refused:
        flash(refused.message, "error")
    else:
        flash(_("Wydarzenie jest opublikowane."), "success")
    return see_other(url_for("events_panel.detail", event_id=event_id))


@bp.post("/<int:event_id>/odwolaj")
def cancel(event_id):
    event = _event_or_404(event_id)
    if request.form.get("confirm") != "tak":
        flash(_("Zaznacz potwierdzenie, aby odwołać wydarzenie."), "error")
    else:
        try:
            notified = cancel_event(event, by=current_user)
        except NoLongerApplies as refused:
            flash(refused.message, "error")
        else:
            flash(_("Wydarzenie odwołane. Powiadomione osoby: %(count)d.", count=notified), "success")
    return see_other(url_for("events_panel.detail", event_id=event_id))


FILTER_LABELS = {"": _l("Wszystkie")} | {status.value: label for status, label in REGISTRATION_STATUS_LABELS.items()}


@bp.get("/<int:event_id>")
@cached_page(per_user=True)
def detail(event_id):
    return _registrations_page(_event_or_404(event_id))


def _registrations_page(event, row_errors=None):
    """The event with its registrations, of one status (`stan`) and matching the search (`q`).

    `row_errors`: {registration id: message} shown next to that row's field (status 422)."""
    status = request.args.get("stan", "")
    if status not in FILTER_LABELS:
        status = ""
    query = request.args.get("q", "")[:100]
    page = render_page_or_fragment(
        "events/panel/detail.html",
        "events/panel/_registrations.html",
        event=event,
        registrations=registrations_for(event, status or None, query),
        counts=status_counts(event),
        taken=places_taken(event),
        left=places_left(event, for_ally=True),
        status=status,
        query=query,
        filter_labels=FILTER_LABELS,
        statuses=RegistrationStatus,
        row_errors=row_errors or {},
    )
    return (page, 422) if row_errors else page


def _back_to_registrations(registration):
    """The registrations page as the coordinator left it (its tab and search)."""
    return see_other(
        url_for(
            "events_panel.detail",
            event_id=registration.event_id,
            stan=request.args.get("stan") or None,
            q=request.args.get("q") or None,
            _anchor=f"registration-{registration.id}",
        )
    )


def _act_on_registration(registration_id, action, done):
    """Run `action(registration)`; flash `done` (with the person's name) or why it was refused."""
    registration = _registration_or_404(registration_id)
    try:
        action(registration)
    except NoLongerApplies as refused:  # changed meanwhile (another coordinator, the person): it says how
        flash(refused.message, "error")
    else:
        flash(done % {"name": registration.full_name}, "success")
    return _back_to_registrations(registration)


@bp.post("/zapisy/<int:registration_id>/anuluj")
def cancel_for_person(registration_id):
    if request.form.get("confirm") != "tak":
        flash(_("Zaznacz potwierdzenie, aby anulować zapis."), "error")
        return _back_to_registrations(_registration_or_404(registration_id))
    return _act_on_registration(
        registration_id,
        lambda registration: cancel_registration(registration, by=current_user),
        _("Zapis anulowany: %(name)s. Ta osoba dostanie e-mail; miejsce przejdzie na listę oczekujących."),
    )


@bp.post("/zapisy/<int:registration_id>/bilet")
def resend(registration_id):
    return _act_on_registration(
        registration_id,
        lambda registration: resend_ticket(registration, by=current_user),
        _("Bilet wysłany ponownie: %(name)s."),
    )


@bp.post("/zapisy/<int:registration_id>/zapros")
def promote(registration_id):
    return _act_on_registration(
        registration_id,
        lambda registration: promote_now(registration, by=current_user),
        _("Zaproszono z listy oczekujących: %(name)s. Miejsce czeka na potwierdzenie e-mailem."),
    )


@bp.post("/zapisy/<int:registration_id>/towarzyszace")
def companions(registration_id):
    registration = _registration_or_404(registration_id)
    form = CompanionsForm()
    if not form.validate_on_submit() or form.companions.data is None:
        errors = form.companions.errors or [_("Wpisz liczbę osób towarzyszących.")]
        return _registrations_page(registration.event, row_errors={registration.id: errors[0]})
    return _act_on_registration(
        registration_id,
        lambda registration: change_companions(registration, form.companions.data, by=current_user),
        _("Zmieniono liczbę osób towarzyszących: %(name)s."),
    )


@bp.route("/<int:event_id>/dodaj-osobe", methods=["GET", "POST"])
def add_person(event_id):
    """A person added by hand (a phone call, at the door): a confirmed place, the ticket e-mailed."""
    event = _event_or_404(event_id)
    form = AddPersonForm()
    refusal = None
    if form.validate_on_submit():
        try:
            registration = add_registration_by_coordinator(
                event, form.registration_data(), by=current_user, language=str(get_locale() or "pl")
            )
        except AlreadyRegistered as refused:
            form.email.errors.append(refused.message)
        except NoLongerApplies as refused:  # no places left, the event cancelled
            refusal = refused.message
        else:
            flash(_("Dodano: %(name)s. Bilet wyślemy e-mailem.", name=registration.full_name), "success")
            return see_other(url_for("events_panel.detail", event_id=event.id, _anchor=f"registration-{registration.id}"))
    return render_template(
        "events/panel/add_person.html", event=event, form=form, refusal=refusal, left=places_left(event, for_ally=True)
    ), 422 if request.method == "POST" else 200


@bp.post("/zapisy/<int:registration_id>/decyzja")
def decide(registration_id):
    registration = _registration_or_404(registration_id)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        decide_registration(registration, decision == "approve", current_user)
    except NoLongerApplies as refused:  # decided, cancelled or expired meanwhile: it says which
        flash(refused.message, "error")
    return see_other(url_for("events_panel.detail", event_id=registration.event_id, stan=request.args.get("stan", "")))


@bp.get("/<int:event_id>/zapisy.<any(csv, xlsx):file_format>")
def export_registrations(event_id, file_format):
    event = _event_or_404(event_id)
    record_registrations_export(event, file_format, by=current_user)
    return spreadsheet_attachment(registrations_table(event), file_format, f"zapisy-{event.slug}")


@bp.route("/<int:event_id>/wiadomosc", methods=["GET", "POST"])
def message(event_id):
    event = _event_or_404(event_id)
    form = EventMessageForm()
    if form.validate_on_submit():
        count = message_registrants(event, form.subject.data, form.body.data, form.audience.data, by=current_user)
        flash(_("Wiadomości w kolejce do wysłania: %(count)d.", count=count), "success")
        return see_other(url_for("events_panel.detail", event_id=event_id))
    return render_template("events/panel/message.html", event=event, form=form), 422 if request.method == "POST" else 200


@bp.get("/<int:event_id>/wejscie")
@cached_page(per_user=True)
def check_in(event_id):
    """The door: a phone-sized page with search by name or code; the QR code opens it with ?kod=."""
    event = _event_or_404(event_id)
    code = request.args.get("kod", "")[:100]
    query = request.args.get("q", "")[:100] or code  # a scanned code stands in the search box
    scanned = registration_by_code(event, code) if code else None
    candidates = check_in_candidates(event, query) if query and not code else []
    return render_page_or_fragment(
        "events/panel/check_in.html",
        "events/panel/_check_in_results.html",
        event=event,
        query=query,
        code=code,
        scanned=scanned,
        candidates=candidates,
        attended=attended_count(event),
        kiosk_witness_code=witness_code(event),
    )


@bp.post("/zapisy/<int:registration_id>/obecnosc")
def attendance(registration_id):
    registration = _registration_or_404(registration_id)
    attended = request.form.get("attended") == "1"
    query = request.form.get("q", "")[:100]
    notice = None
    try:
        registration = set_attendance(registration, attended, by=current_user)
    except NoLongerApplies as refused:  # another tap or scan at the door got there first
        notice = refused.message
        registration = refused.registration
        if registration is None:
            abort(404)
        if not wants_fragment():
            flash(notice, "error")
    else:
        if not wants_fragment():  # without JavaScript the page comes again: it says who and how many
            done = _("Obecność potwierdzona: %(name)s.") if attended else _("Obecność cofnięta: %(name)s.")
            flash(done % {"name": registration.full_name}, "success")
    if wants_fragment():
        # The card, and the counter above the results updated out of band.
        return render_template(
            "events/panel/_check_in_card.html",
            registration=registration,
            event=registration.event,
            attended=attended_count(registration.event),
            with_counter=True,
            notice=notice,
            query=query,
        )
    # Back to the same search, or to this person's card when the page came from a scanned code.
    return see_other(url_for("events_panel.check_in", event_id=registration.event_id, q=query or registration.code))


# ---- a members' meeting: its minutes (koalicja/events/meetings.py) ----


def _meeting_or_404(event_id):
    event = _event_or_404(event_id)
    if not event.is_members_meeting:
        abort(404)
    return event


@bp.route("/<int:event_id>/protokol", methods=["GET", "POST"])
def minutes(event_id):
    """The minutes of a members' meeting (text and PDF scan), who was there, and the way to
    its decisions (koalicja/consultations/meeting_decisions.py)."""
    event = _meeting_or_404(event_id)
    form = MinutesForm(data={"minutes": event.minutes} if request.method == "GET" else None)
    refusal = None
    if form.validate_on_submit():
        try:
            save_minutes(event, form.minutes.data, form.scan.data, form.remove_scan.data, by=current_user)
        except NoLongerApplies as refused:  # not started yet, cancelled meanwhile: the text stays in the form
            refusal = refused.message
        else:
            flash(_("Zapisano protokół."), "success")
            return see_other(url_for("events_panel.minutes", event_id=event.id))
    return render_template(
        "events/panel/meeting_minutes.html",
        event=event,
        form=form,
        refusal=refusal,
        started=has_started(event),
        attendees=attendees(event),
    ), 422 if request.method == "POST" else 200


@bp.post("/<int:event_id>/protokol/publikacja")
def publish_minutes(event_id):
    event = _meeting_or_404(event_id)
    published = request.form.get("publish") == "1"
    try:
        set_minutes_published(event, published, by=current_user)
    except NoLongerApplies as refused:
        flash(refused.message, "error")
    else:
        done = _("Protokół jest opublikowany.") if published else _("Protokół widzą teraz tylko osoby koordynujące.")
        flash(done, "success")
    return see_other(url_for("events_panel.minutes", event_id=event_id))


@bp.get("/<int:event_id>/protokol.pdf")
def minutes_scan(event_id):
    """The scan of the minutes, published or not, for coordinators of the meeting's coalition."""
    return send_minutes_scan(_meeting_or_404(event_id))


# ---- the door without a connection (static/js/check-in-offline.js, koalicja/events/offline.py) ----


@bp.get("/<int:event_id>/wejscie/lista")
def check_in_list(event_id):
    """What a device at the door keeps to check people in offline, and until when."""
    event = _event_or_404(event_id)
    return jsonify(  # like every panel answer not marked @cached_page: Cache-Control: no-store
        {
            "event": event.id,
            "expires": device_copy_expires_at(event).isoformat() + "Z",
            "csrf_token": generate_csrf(),
            "attended": attended_count(event),
            "registrants": registrants_for_device(event),
        }
    )


@bp.post("/<int:event_id>/wejscie/synchronizuj")
def check_in_sync(event_id):
    """The check-ins a device queued: {"device": id, "scans": [{"key", "code", "scanned_at"}]}.

    Idempotent: a key stored already is answered as a duplicate and counted once."""
    event = _event_or_404(event_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("scans"), list):
        abort(400)
    try:
        results = record_scans(event, body.get("device"), body["scans"], by=current_user)
    except ValueError:  # no device id
        abort(400)
    return jsonify({"results": [result.as_json() for result in results], "attended": attended_count(event)})


@bp.get("/wejscie-sw.js")
def check_in_worker():
    """The door's service worker, served here rather than from /static/<version>/ so that its
    scope (this folder) covers every event's check-in page."""
    script = Path(current_app.static_folder, "js", "check-in-sw.js").read_text(encoding="utf-8")
    return Response(script, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})
