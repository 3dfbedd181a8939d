"""A person's card: everything the app holds for one e-mail address, in the coalitions the
coordinator serves, on one page reached from any of that person's entries.

The card is addressed by one of the person's signatures (`/panel/osoby/<signature id>`), never
by the address: URLs end up in logs and browser histories. An entry of a coalition the
coordinator does not serve answers 404, like everywhere in the panel, and nothing of other
coalitions is shown. It is a panel page, so it goes out `private, no-store`.
"""
from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..announcements.models import Announcement
from ..coalitions.models import Declaration
from ..coordinators.access import coalition_ids_condition, declaration_ids_condition, require_coalition
from ..coordinators.audit import AUDIT_ACTION_LABELS, AuditEntry
from ..events.models import Event, Registration
from ..extensions import db
from ..mail.models import OutboxMessage, OutboxStatus
from ..signatures.models import Signature
from ..signatures.notifications import mail_about

bp = Blueprint("people", __name__, url_prefix="/panel/osoby")

# How the card names what a consent record holds; anything else is shown by its own key.
CONSENT_LABELS = {
    "at": _l("Kiedy"),
    "version_id": _l("Podpisana wersja (nr w bazie)"),
    "declaration_sha256": _l("Odcisk treści deklaracji (SHA-256)"),
    "annex_ids": _l("Aneksy pokazane przy podpisie (nr w bazie)"),
    "annexes_sha256": _l("Odcisk treści aneksów (SHA-256)"),
    "privacy_notice_sha256": _l("Odcisk informacji o przetwarzaniu danych (SHA-256)"),
    "public_name": _l("Zgoda na pokazanie imienia i nazwiska"),
    "public_organisation": _l("Zgoda na pokazanie nazwy organizacji"),
    "contact_allowed": _l("Zgoda na wiadomości od koalicji"),
    "origin": _l("Pochodzenie"),
    "signed_on": _l("Data podpisu na papierze"),
    "withdrawn_at": _l("Wycofano"),
    "given_to": _l("Komu udzielona"),
    "coordinator_name": _l("Osoba z koordynacji"),
}
HIDDEN_CONSENT_KEYS = {"declaration_id", "coordinator_id"}  # ids that say nothing to a reader

MAIL_STATUS_LABELS = {
    OutboxStatus.PENDING: _l("czeka na wysłanie"),
    OutboxStatus.SENT: _l("wysłana"),
    OutboxStatus.FAILED: _l("nie udało się wysłać"),
}


def consent_rows(consents):
    """(label, value) of a consent record, in the order it was written."""
    return [
        (CONSENT_LABELS.get(name, name), value)
        for name, value in (consents or {}).items()
        if name not in HIDDEN_CONSENT_KEYS
    ]


@bp.get("/<int:signature_id>")
@login_required
def card(signature_id):
    signature = db.get_or_404(Signature, signature_id)
    require_coalition(signature.declaration.coalition_id)
    # The address's key: a withdrawn entry's and a paper entry's without an address are its own.
    key = signature.email_key
    signatures = db.session.scalars(
        select(Signature)
        .options(
            joinedload(Signature.declaration).joinedload(Declaration.coalition),
            joinedload(Signature.version),
            joinedload(Signature.decided_by),
            joinedload(Signature.entered_by),
            selectinload(Signature.endorsements),
        )
        .where(Signature.email_key == key, declaration_ids_condition(Signature.declaration_id))
        .order_by(Signature.created_at, Signature.id)
    ).all()
    registrations = db.session.scalars(
        select(Registration)
        .join(Event)
        .options(joinedload(Registration.event).joinedload(Event.coalition))
        .where(Registration.email_key == key, coalition_ids_condition(Event.coalition_id))
        .order_by(Registration.created_at, Registration.id)
    ).all() if signature.email else []
    addresses = {a.lower() for a in [s.email for s in signatures] + [r.email for r in registrations] if a}
    return render_template(
        "panel/person.html",
        signature=signature,
        signatures=signatures,
        registrations=registrations,
        emails=_emails(signatures, addresses),
        audit_entries=_audit_entries(signatures, registrations),
        consent_rows=consent_rows,
        action_labels=AUDIT_ACTION_LABELS,
        mail_status_labels=MAIL_STATUS_LABELS,
        # Event and account mail names no coalition in the outbox: like the RODO export, only
        # administrators see it; a coordinator sees their entries' own mail and announcements.
        shows_all_mail=current_user.is_admin,
    )


def _emails(signatures, addresses):
    """The outbox rows about these entries or to these addresses that the coordinator may see
    (status and times; never their content). Sent mail is purged after PURGE_AFTER_DAYS."""
    if not addresses and not signatures:
        return []
    to_person = func.lower(OutboxMessage.recipient).in_(addresses) if addresses else false()
    visible = or_(
        OutboxMessage.about.in_([mail_about(s) for s in signatures]),
        to_person & OutboxMessage.announcement_id.in_(
            select(Announcement.id).where(coalition_ids_condition(Announcement.coalition_id))
        ),
        to_person if current_user.is_admin else false(),
    )
    return db.session.scalars(select(OutboxMessage).where(visible).order_by(OutboxMessage.created_at.desc())).all()


def _audit_entries(signatures, registrations):
    subjects = [("signature", [s.id for s in signatures]), ("registration", [r.id for r in registrations])]
    about_person = or_(*(
        (AuditEntry.subject_type == kind) & AuditEntry.subject_id.in_(ids) for kind, ids in subjects if ids
    ), false())
    return db.session.scalars(
        select(AuditEntry)
        .where(about_person, coalition_ids_condition(AuditEntry.coalition_id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).all()
