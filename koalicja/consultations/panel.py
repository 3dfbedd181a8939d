"""Coordinators' side of consultations: write a draft, open it, follow the roll, enter voices
given on paper or at a meeting, choose an organisation's representative, remind, extend, and
after the close the results, the resolution and the protocol.

Views load, check (a consultation of a coalition the coordinator does not serve is 404), call
koalicja/consultations/operations.py and render; a change that no longer applies (opened,
closed meanwhile …) comes back as the operation's message, flashed, with nothing changed.
"""
from datetime import timedelta

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..coordinators.access import coalition_ids_condition, coalitions_served, require_coalition
from ..coordinators.audit import AUDIT_ACTION_LABELS, AuditEntry
from ..extensions import db
from ..htmx import see_other
from ..locking import NoLongerApplies
from ..signatures.models import SignatureStatus
from ..text import search_key
from ..timeutil import utcnow
from .forms import ConsultationForm, DraftAnswers, ExtendForm, RepresentativeForm, ResolutionForm, voice_form_for
from .models import METHOD_LABELS, Consultation, ConsultationKind, ConsultationMember, ConsultationStatus, VoiceMethod
from .notifications import reachable
from .operations import (
    HAND_REMINDER_GAP,
    NotADraft,
    NotLater,
    choose_representative,
    close_consultation,
    create_consultation,
    current_choice,
    current_opinions,
    delete_draft,
    extend_closing,
    open_consultation,
    organisation_entries,
    record_voice_by_coordinator,
    roll_preview,
    send_reminders,
    set_resolution,
    update_draft,
)
from .results import results_of

bp = Blueprint("consultations_panel", __name__, url_prefix="/panel/konsultacje")

# The list's sections, in the order a coordinator looks for them.
STATUS_ORDER = (ConsultationStatus.OPEN, ConsultationStatus.SCHEDULED, ConsultationStatus.DRAFT, ConsultationStatus.CLOSED)


@bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


def _consultation_or_404(consultation_id):
    """The consultation, if it belongs to a coalition this coordinator serves (404 otherwise)."""
    consultation = db.get_or_404(Consultation, consultation_id)
    require_coalition(consultation.coalition_id)
    return consultation


def _member_or_404(member_id):
    member = db.get_or_404(ConsultationMember, member_id)
    require_coalition(member.consultation.coalition_id)
    return member


def _status():
    """A posted form shown again has errors in it."""
    return 422 if request.method == "POST" else 200


@bp.get("/")
def index():
    consultations = db.session.scalars(
        select(Consultation)
        .where(coalition_ids_condition(Consultation.coalition_id))
        .order_by(Consultation.closes_at.desc(), Consultation.id.desc())
    ).all()
    groups = [(status, [c for c in consultations if c.status == status]) for status in STATUS_ORDER]
    return render_template("consultations/panel/index.html", groups=groups, many_coalitions=len(coalitions_served()) > 1)


@bp.route("/nowa", methods=["GET", "POST"])
def create():
    coalitions = coalitions_served()
    if not coalitions:
        abort(404)
    form = ConsultationForm()
    form.coalition.choices = [(c.slug, c.name) for c in coalitions]
    if not form.coalition.data:  # one coalition: no question asked
        form.coalition.data = request.args.get("koalicja") or coalitions[0].slug
    refusal = None
    if form.validate_on_submit():
        coalition = next(c for c in coalitions if c.slug == form.coalition.data)
        try:
            consultation = create_consultation(coalition, form.consultation_data(), current_user)
        except NoLongerApplies as refused:  # settings the form let through but the operation refuses
            refusal = refused.message
        else:
            flash(_("Zapisano wersję roboczą. Sprawdź ją i otwórz konsultację, gdy będzie gotowa."), "success")
            return see_other(url_for("consultations_panel.detail", consultation_id=consultation.id))
    return render_template("consultations/panel/form.html", form=form, consultation=None, refusal=refusal), _status()


@bp.route("/<int:consultation_id>/edycja", methods=["GET", "POST"])
def edit(consultation_id):
    consultation = _consultation_or_404(consultation_id)
    if not consultation.is_draft and request.method == "GET":
        if consultation.is_closed:
            flash(_("Konsultacja jest zamknięta: nie można jej już zmienić."), "error")
        else:
            flash(_("Konsultacja jest już otwarta: można tylko przedłużyć jej termin."), "error")
        return see_other(url_for("consultations_panel.detail", consultation_id=consultation.id))
    # Prefill from the draft only on GET: with posted data an unticked box must stay unticked.
    form = ConsultationForm(obj=DraftAnswers(consultation) if request.method == "GET" else None)
    del form.coalition  # a consultation stays with its coalition
    if form.validate_on_submit():
        try:
            update_draft(consultation, form.consultation_data(), current_user)
        except NoLongerApplies as refused:  # opened meanwhile (a stale tab): nothing changed
            flash(refused.message, "error")
        else:
            flash(_("Zapisano zmiany."), "success")
        return see_other(url_for("consultations_panel.detail", consultation_id=consultation.id))
    if not consultation.is_draft:  # a stale tab posted with errors: they no longer matter, the opening does
        flash(NotADraft.message, "error")
        return see_other(url_for("consultations_panel.detail", consultation_id=consultation.id))
    return render_template("consultations/panel/form.html", form=form, consultation=consultation), _status()


@bp.post("/<int:consultation_id>/usun")
def delete(consultation_id):
    consultation = _consultation_or_404(consultation_id)
    if request.form.get("confirm") != "tak":
        flash(_("Zaznacz potwierdzenie, aby usunąć wersję roboczą."), "error")
        return see_other(url_for("consultations_panel.detail", consultation_id=consultation_id))
    try:
        delete_draft(consultation, current_user)
    except NoLongerApplies as refused:
        flash(refused.message, "error")
        return see_other(url_for("consultations_panel.detail", consultation_id=consultation_id))
    flash(_("Usunięto wersję roboczą."), "success")
    return see_other(url_for("consultations_panel.index"))


def _roll(consultation):
    """The roll as coordinators see it: by name (they manage the list, so they see the entry's
    name; a withdrawn entry has none left)."""
    members = db.session.scalars(
        select(ConsultationMember)
        .where(ConsultationMember.consultation_id == consultation.id)
        .options(selectinload(ConsultationMember.signature), selectinload(ConsultationMember.recorded_by))
    ).all()
    return sorted(members, key=lambda member: (search_key(str(roll_name(member))), member.id))


def roll_name(member):
    signature = member.signature
    if signature is None or signature.status == SignatureStatus.WITHDRAWN:
        return _("wycofany wpis")
    return signature.display_name


def _audit_entries(consultation):
    """What coordinators did to this consultation (its voices and representatives included)."""
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_type == Consultation.__tablename__, AuditEntry.subject_id == consultation.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).all()


@bp.get("/<int:consultation_id>")
def detail(consultation_id):
    return _detail_page(_consultation_or_404(consultation_id))


def _detail_page(consultation, extend_form=None, resolution_form=None):
    """The consultation with what may be done to it now; a form passed in carries its errors (422)."""
    members = _roll(consultation) if not consultation.is_draft else []
    took_part = sum(1 for member in members if member.took_part)
    waiting = [member for member in members if not member.took_part]
    now = utcnow()
    shows_results = consultation.is_closed or (consultation.is_open and consultation.live_results)
    page = render_template(
        "consultations/panel/detail.html",
        consultation=consultation,
        coalition=consultation.coalition,
        members=members,
        took_part=took_part,
        waiting=len(waiting),
        reminder_recipients=sum(1 for member in waiting if reachable(member)),
        last_reminded=max((member.reminded_at for member in members if member.reminded_at), default=None),
        reminder_gap_hours=HAND_REMINDER_GAP // timedelta(hours=1),
        preview=roll_preview(consultation.coalition) if consultation.is_draft else None,
        now=now,
        accepts_voices=consultation.accepts_voices(now),
        results=results_of(consultation) if shows_results else None,
        extend_form=extend_form or ExtendForm(formdata=None),
        resolution_form=resolution_form or ResolutionForm(formdata=None, resolution=consultation.resolution),
        audit_entries=_audit_entries(consultation),
        action_labels=AUDIT_ACTION_LABELS,
        roll_name=roll_name,
    )
    return (page, 422) if extend_form is not None or resolution_form is not None else page


def _back(consultation, anchor=None):
    return see_other(url_for("consultations_panel.detail", consultation_id=consultation.id, _anchor=anchor))


@bp.post("/<int:consultation_id>/otworz")
def open_(consultation_id):
    consultation = _consultation_or_404(consultation_id)
    if request.form.get("confirm") != "tak":
        flash(_("Zaznacz potwierdzenie, aby otworzyć konsultację."), "error")
        return _back(consultation)
    try:
        open_consultation(consultation, current_user)
    except NoLongerApplies as refused:
        flash(refused.message, "error")
    else:
        if consultation.status == ConsultationStatus.SCHEDULED:
            flash(_("Konsultacja jest zaplanowana. Otworzy się sama w wyznaczonym czasie i wtedy wyślemy linki."), "success")
        else:
            flash(_("Konsultacja jest otwarta. Osobiste linki czekają w kolejce do wysłania."), "success")
    return _back(consultation)


@bp.post("/<int:consultation_id>/przedluz")
def extend(consultation_id):
    consultation = _consultation_or_404(consultation_id)
    form = ExtendForm()
    if not form.validate_on_submit():
        return _detail_page(consultation, extend_form=form)
    try:
        extend_closing(consultation, form.closes_at_utc(), current_user)
    except NotLater as refused:  # the field's own error: the date is not later than the current close
        form.closes_at.errors.append(refused.message)
        return _detail_page(consultation, extend_form=form)
    except NoLongerApplies as refused:  # closed meanwhile
        flash(refused.message, "error")
    else:
        flash(_("Termin zamknięcia przedłużony. Członkowie i członkinie dostaną e-mail."), "success")
    return _back(consultation)


@bp.post("/<int:consultation_id>/przypomnienie")
def remind(consultation_id):
    consultation = _consultation_or_404(consultation_id)
    try:
        sent = send_reminders(consultation, current_user)
    except NoLongerApplies as refused:
        flash(refused.message, "error")
    else:
        flash(
            ngettext(
                "Przypomnienie czeka w kolejce do wysłania do %(num)d osoby.",
                "Przypomnienie czeka w kolejce do wysłania do %(num)d osób.",
                sent,
            ),
            "success",
        )
    return _back(consultation, "roll")


@bp.post("/<int:consultation_id>/zamknij")
def close(consultation_id):
    """Only a decision taken at a members' meeting closes by hand, once its voices are entered."""
    consultation = _consultation_or_404(consultation_id)
    if not consultation.from_meeting:
        abort(404)
    if request.form.get("confirm") != "tak":
        flash(_("Zaznacz potwierdzenie, aby zamknąć głosowanie."), "error")
        return _back(consultation)
    try:
        close_consultation(consultation, coordinator=current_user)
    except NoLongerApplies as refused:
        flash(refused.message, "error")
    else:
        flash(_("Głosowanie zamknięte. Poniżej wyniki."), "success")
    return _back(consultation)


@bp.post("/<int:consultation_id>/uchwala")
def resolution(consultation_id):
    consultation = _consultation_or_404(consultation_id)
    form = ResolutionForm()
    if not form.validate_on_submit():
        return _detail_page(consultation, resolution_form=form)
    try:
        set_resolution(consultation, form.resolution.data, current_user)
    except NoLongerApplies as refused:  # not closed yet
        flash(refused.message, "error")
    else:
        flash(_("Zapisano uchwałę. Jest widoczna razem z wynikami i w protokole."), "success")
    return _back(consultation, "resolution-title")


@bp.get("/<int:consultation_id>/protokol")
def protocol(consultation_id):
    consultation = _consultation_or_404(consultation_id)
    if not consultation.is_closed:
        abort(404)
    return render_template(
        "consultations/protocol.html",
        consultation=consultation,
        results=results_of(consultation),
        coalition=consultation.coalition,
        back_url=url_for("consultations_panel.detail", consultation_id=consultation.id),
    )


@bp.route("/czlonkowie/<int:member_id>", methods=["GET", "POST"])
def member(member_id):
    """One voice on the roll: enter what they answered on paper or at a meeting (the same page
    shows what is recorded now); for an organisation, who receives its link."""
    member = _member_or_404(member_id)
    consultation = member.consultation
    form = voice_form_for(consultation, **_recorded_voice(member) if request.method == "GET" else {})
    if form.validate_on_submit():
        try:
            recorded = record_voice_by_coordinator(
                member, form.option_ids(), form.method.data, form.note.data or "", current_user, opinions=form.opinions()
            )
        except NoLongerApplies as refused:  # closed meanwhile, voted by link meanwhile, or the option gone
            flash(refused.message, "error")
        else:
            method = METHOD_LABELS[VoiceMethod(form.method.data)]
            if recorded.changed:
                flash(_("Zapisano głos: %(name)s (%(method)s).", name=roll_name(member), method=method), "success")
            else:  # the same form sent twice
                flash(_("Ten głos był już zapisany: %(name)s (%(method)s).", name=roll_name(member), method=method), "info")
        return _back(consultation, f"member-{member.id}")
    return _member_page(member, form), _status()


def _recorded_voice(member):
    """The form prefilled with a voice a coordinator entered before (to correct it), in an open
    ballot only: a secret voice is never shown again, not even to the one who entered it, and
    a voice given by link is the member's own."""
    if member.method not in (VoiceMethod.PAPER, VoiceMethod.MEETING) or member.consultation.secret:
        return {}
    values = {"method": member.method, "note": member.note}
    if member.consultation.asks_opinions:
        return values | {f"opinion_{section}": text for section, text in current_opinions(member).items()}
    choice = current_choice(member)
    return values | {"choice": choice if member.consultation.kind == ConsultationKind.MULTIPLE else (choice or [None])[0]}


def _representative_choices(entries):
    return [(entry.id, f"{entry.full_name} ({entry.email})" if entry.email else entry.full_name) for entry in entries]


def _member_page(member, form, representative_form=None):
    consultation = member.consultation
    entries = organisation_entries(member) if member.is_organisation and member.signature is not None else []
    if representative_form is None:
        representative_form = RepresentativeForm(formdata=None, signature=member.signature_id)
    representative_form.signature.choices = _representative_choices(entries)
    return render_template(
        "consultations/panel/member.html",
        member=member,
        consultation=consultation,
        form=form,
        representative_form=representative_form,
        entries=entries,
        accepts_voices=consultation.accepts_voices(utcnow()),
        name=roll_name(member),
    )


@bp.post("/czlonkowie/<int:member_id>/reprezentant")
def representative(member_id):
    member = _member_or_404(member_id)
    if not member.is_organisation:
        abort(404)
    entries = organisation_entries(member)
    form = RepresentativeForm()
    form.signature.choices = _representative_choices(entries)
    if not form.validate_on_submit():
        return _member_page(member, voice_form_for(member.consultation, formdata=None), form), 422
    chosen = next(entry for entry in entries if entry.id == form.signature.data)
    try:
        choose_representative(member, chosen, current_user)
    except NoLongerApplies as refused:
        flash(refused.message, "error")
    else:
        flash(_("Link w imieniu organizacji dostanie teraz: %(name)s. Wysłaliśmy go e-mailem.", name=chosen.full_name), "success")
    return see_other(url_for("consultations_panel.member", member_id=member.id))
