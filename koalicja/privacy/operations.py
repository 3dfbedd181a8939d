"""RODO duties that cut across domain areas: retention (purge) and the right of access (export)."""
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..coordinators.access import coalition_ids_condition, declaration_ids_condition
from ..coordinators.audit import AuditAction, record
from ..events.models import Event, Registration
from ..events.operations import forget_unconfirmed_registrations
from ..extensions import db
from ..mail.addresses import mailbox_key
from ..mail.models import OutboxMessage
from ..mail.operations import forget_delivered_mail
from ..signatures.models import Signature
from ..signatures.operations import forget_unconfirmed_signatures
from ..timeutil import utcnow


@dataclass
class PurgeReport:
    signatures: int
    registrations: int
    messages: int


def purge(after_days, now=None):
    cutoff = (now or utcnow()) - timedelta(days=after_days)
    return PurgeReport(
        signatures=forget_unconfirmed_signatures(cutoff),
        registrations=forget_unconfirmed_registrations(cutoff, now=now),
        messages=forget_delivered_mail(cutoff),
    )


def _iso(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def export_personal_data(email, coordinator):
    """The right of access as an operation: the export (personal_data_export) and its audit
    entry, committed together. The entry says what was found, not whose: the log outlives a
    withdrawal, which erases the address."""
    data = personal_data_export(email, coordinator)
    record(
        AuditAction.EXPORT,
        _l("Dane osobowe jednej osoby (art. 15 RODO)"),
        details={"signatures": len(data["signatures"]), "event_registrations": len(data["event_registrations"])},
        coordinator=coordinator,
    )
    db.session.commit()
    return data


def personal_data_export(email, coordinator):
    """Everything stored about one mailbox, for a request under RODO art. 15.

    A coordinator sees what their coalitions hold; the e-mails queued or sent (they name no
    coalition in the outbox) only an administrator sees.
    """
    key = mailbox_key(email)
    signatures = db.session.scalars(
        select(Signature)
        .where(Signature.email_key == key, declaration_ids_condition(Signature.declaration_id, coordinator))
        .order_by(Signature.id)
    ).all()
    registrations = db.session.scalars(
        select(Registration)
        .join(Event)
        .where(Registration.email_key == key, coalition_ids_condition(Event.coalition_id, coordinator))
        .order_by(Registration.id)
    ).all()
    # Addresses compared case-insensitively: "Ala@X.pl" and "ala@x.pl" are one mailbox.
    addresses = {a.lower() for a in {s.email for s in signatures} | {r.email for r in registrations} | {email.strip()}}
    messages = []
    if coordinator.is_admin:
        messages = db.session.scalars(
            select(OutboxMessage).where(func.lower(OutboxMessage.recipient).in_(addresses)).order_by(OutboxMessage.id)
        ).all()
    return {
        "email": email.strip(),
        "generated_at": _iso(utcnow()),
        "signatures": [
            {
                "coalition": s.declaration.coalition.name,
                "declaration": s.declaration.title,
                "kind": s.kind,
                "full_name": s.full_name,
                "email": s.email,
                "city": s.city,
                "district": s.district,
                "organisation_name": s.organisation_name,
                "role": s.role,
                "sector": s.sector,
                "krs": s.krs,
                "nip": s.nip,
                "regon": s.regon,
                "origin": s.origin,
                "signed_version": s.version.number if s.version else None,
                "contact_allowed": s.contact_allowed,
                "public_name": s.public_name,
                "public_organisation": s.public_organisation,
                "status": s.status,
                "consents": s.consents,
                "created_at": _iso(s.created_at),
                "confirmed_at": _iso(s.confirmed_at),
                "decided_at": _iso(s.decided_at),
            }
            for s in signatures
        ],
        "event_registrations": [
            {
                "event": r.event.title,
                "event_starts_at": _iso(r.event.starts_at),
                "full_name": r.full_name,
                "email": r.email,
                "organisation": r.organisation,
                "companions": r.companions,
                "needs": r.needs,
                "status": r.status,
                "consents": r.consents,
                "created_at": _iso(r.created_at),
                "attended_at": _iso(r.attended_at),
            }
            for r in registrations
        ],
        "emails_in_outbox": [
            {"subject": m.subject, "status": m.status, "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at)}
            for m in messages
        ],
    }
