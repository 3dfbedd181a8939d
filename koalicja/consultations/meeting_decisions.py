"""Decisions taken at a members' meeting (posiedzenie), recorded as consultations whose voices a
coordinator enters from the meeting.

After the meeting has started, its panel page (koalicja/events/panel.py, "Protokół i decyzje
posiedzenia") leads here: "Zapisz decyzję podjętą na posiedzeniu" opens a decision, a single or
a multiple choice at once with the roll (`open_meeting_decision`: nobody is e-mailed); then one
screen lists the roll with the members checked in at the meeting's door first (matched by
address: a person's, or any of an organisation's approved representatives'), each with the
answers to tick; every voice is entered as given "na posiedzeniu" (`record_voice_by_coordinator`,
audited); the coordinator closes it (consultations_panel.close) and the results follow.

A meeting's decision is never secret: its voices are what the meeting saw, typed in by a
coordinator who saw them (a secret vote at a meeting is counted there, on cards).
"""
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from ..coalitions.models import Declaration
from ..coordinators.access import require_coalition
from ..events.meetings import attendees, has_started
from ..events.models import Event
from ..extensions import db
from ..htmx import see_other, wants_fragment
from ..locking import NoLongerApplies
from ..signatures.models import Signature, SignatureStatus
from ..text import search_key
from .forms import CHOICE_KINDS, RESULTS_PUBLIC, ConsultationForm, lines_of, voice_form_for
from .models import KIND_LABELS, Consultation, ConsultationKind, ConsultationMember, VoiceMethod
from .operations import current_choice, member_key, open_meeting_decision, record_voice_by_coordinator
from .panel import roll_name
from .results import results_of

bp = Blueprint("consultations_meetings", __name__, url_prefix="/panel/posiedzenia")

MEETING_KINDS = (ConsultationKind.DECISION, ConsultationKind.SINGLE, ConsultationKind.MULTIPLE)


class MeetingDecisionForm(ConsultationForm):
    """What the meeting decided on: the question, its answers and the rule; the times, the
    reminder and secrecy do not apply to a vote that already took place."""

    coalition = sections = opens_at = closes_at = live_results = reminder_days = secret = None
    kind = RadioField(
        _l("Rodzaj"),
        choices=[SelectChoice(kind.value, KIND_LABELS[kind]) for kind in MEETING_KINDS],
        default=ConsultationKind.DECISION.value,
        validators=[InputRequired(message=_l("Wybierz rodzaj decyzji."))],
    )

    def decision_data(self):
        """The answers as `open_meeting_decision` takes them."""
        return {
            "title": self.title.data,
            "body": self.body.data or "",
            "kind": self.kind.data,
            "options": lines_of(self.options.data) if self.kind.data in CHOICE_KINDS else [],
            "quorum_percent": self.quorum_percent.data,
            "rule": self.rule.data,
            "secret": False,
            "results_public": self.results_public.data == RESULTS_PUBLIC,
        }


@bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


def _meeting_or_404(event_id):
    """A members' meeting of a coalition this coordinator serves that has started (404 otherwise)."""
    event = db.get_or_404(Event, event_id)
    require_coalition(event.coalition_id)
    if not event.is_members_meeting or not event.is_published or not has_started(event):
        abort(404)
    return event


def _decision_or_404(consultation_id):
    consultation = db.get_or_404(Consultation, consultation_id)
    require_coalition(consultation.coalition_id)
    if not consultation.from_meeting:
        abort(404)
    return consultation


@bp.route("/<int:event_id>/decyzje", methods=["GET", "POST"])
def decisions(event_id):
    """The decisions recorded from this meeting, and the form for another one."""
    event = _meeting_or_404(event_id)
    form = MeetingDecisionForm()
    if form.validate_on_submit():
        try:
            consultation = open_meeting_decision(event, form.decision_data(), current_user)
        except NoLongerApplies as refused:  # settings the operation cannot work with
            flash(refused.message, "error")
        else:
            flash(_("Zapisano decyzję. Wpisz teraz głosy z posiedzenia i zamknij głosowanie."), "success")
            return see_other(url_for("consultations_meetings.voices", consultation_id=consultation.id))
    recorded = db.session.scalars(
        select(Consultation).where(Consultation.meeting_event_id == event.id).order_by(Consultation.id)
    ).all()
    return render_template(
        "consultations/panel/meeting_decisions.html", event=event, form=form, decisions=recorded
    ), 422 if request.method == "POST" else 200


def _present_keys(consultation):
    """The roll's member keys of the people checked in at the meeting: each attendee's address
    matched to the coalition's approved entries (an organisation is present when any of its
    representatives is)."""
    addresses = {registration.email_key for registration in attendees(consultation.meeting_event)}
    if not addresses:
        return set()
    entries = db.session.scalars(
        select(Signature).where(
            Signature.declaration_id.in_(select(Declaration.id).where(Declaration.coalition_id == consultation.coalition_id)),
            Signature.status == SignatureStatus.APPROVED,
            Signature.email_key.in_(addresses),
        )
    )
    return {member_key(signature) for signature in entries}


def _voice_form(member, formdata=None):
    """The row's own form (its fields prefixed with the member's id: one page holds them all),
    prefilled with the voice recorded so far. Its CSRF token is the page's plain `csrf_token`,
    which CSRFProtect checks for every POST before the view runs (a prefixed one it would not find)."""
    consultation = member.consultation
    values = {}
    if formdata is None and member.took_part:
        choice = current_choice(member)
        values["choice"] = choice if consultation.kind == ConsultationKind.MULTIPLE else (choice[0] if choice else None)
    return voice_form_for(
        consultation, prefix=f"m{member.id}", formdata=formdata, meta={"csrf": False}, method=VoiceMethod.MEETING.value, **values
    )


def voice_labels(member):
    """The answers recorded for the member, as the options read."""
    labels = {option.id: option.display_label for option in member.consultation.options}
    return [labels[option_id] for option_id in current_choice(member) if option_id in labels]


def _roll_rows(consultation, posted=None):
    """(present, absent): the roll as rows of (member, name, form), each part by name.
    `posted`: (member id, the form bound to their POST), shown with its errors in their row."""
    members = db.session.scalars(
        select(ConsultationMember)
        .where(ConsultationMember.consultation_id == consultation.id)
        .options(selectinload(ConsultationMember.signature))  # every row shows its entry's name
    ).all()
    posted_id, posted_form = posted or (None, None)
    rows = sorted(
        (
            (member, roll_name(member), posted_form if member.id == posted_id else _voice_form(member))
            for member in members
        ),
        key=lambda row: (search_key(str(row[1])), row[0].id),
    )
    present_keys = _present_keys(consultation)
    present = [row for row in rows if row[0].member_key in present_keys]
    return present, [row for row in rows if row[0].member_key not in present_keys]


@bp.get("/decyzje/<int:consultation_id>")
def voices(consultation_id):
    return _voices_page(_decision_or_404(consultation_id))


def _voices_page(consultation, posted=None):
    present, absent = _roll_rows(consultation, posted)
    page = render_template(
        "consultations/panel/meeting_voices.html",
        consultation=consultation,
        event=consultation.meeting_event,
        present=present,
        absent=absent,
        took_part=sum(1 for member, _name, _form in present + absent if member.took_part),
        results=results_of(consultation) if consultation.is_closed else None,
        voice_labels=voice_labels,
    )
    return (page, 422) if posted is not None else page


@bp.post("/decyzje/<int:consultation_id>/glos/<int:member_id>")
def voice(consultation_id, member_id):
    """One member's voice as the meeting saw it; an htmx request gets the row back."""
    consultation = _decision_or_404(consultation_id)
    member = db.get_or_404(ConsultationMember, member_id)
    if member.consultation_id != consultation.id:
        abort(404)
    form = _voice_form(member, formdata=request.form)
    name = roll_name(member)
    if not form.validate_on_submit():
        if wants_fragment():  # 200: htmx swaps only successful answers, and the row shows the error
            return _row(consultation, member, name, form)
        return _voices_page(consultation, posted=(member.id, form))
    try:
        record_voice_by_coordinator(member, form.option_ids(), VoiceMethod.MEETING, "", current_user)
    except NoLongerApplies as refused:  # closed meanwhile, or a voice given by link
        notice, category = refused.message, "error"
    else:
        notice, category = _("Zapisano głos: %(name)s (na posiedzeniu).", name=name), "success"
    if wants_fragment():
        return _row(consultation, member, name, _voice_form(member), notice)
    flash(notice, category)
    return see_other(url_for("consultations_meetings.voices", consultation_id=consultation.id, _anchor=f"member-{member.id}"))


def _row(consultation, member, name, form, notice=None):
    return render_template(
        "consultations/panel/_meeting_voice_row.html",
        consultation=consultation,
        member=member,
        name=name,
        form=form,
        notice=notice,
        voice_labels=voice_labels,
    )
