"""What happens to a signature: signing, confirming by e-mail, coordinators' decisions.

Each function owns its transaction: it commits on success, so views and tests call it
and look at the result.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..mail.addresses import mailbox_key
from ..panel.access import declaration_ids_condition
from ..panel.audit import AuditAction, record
from ..text import search_key, sort_key
from ..timeutil import utcnow
from ..tokens import TokenInvalid, read_token
from .models import Signature, SignatureStatus, SignerKind
from .notifications import (
    CONFIRM_PURPOSE,
    WITHDRAW_PURPOSE,
    notify_already_signed,
    notify_confirmation_link,
    notify_signature_approved,
    notify_withdraw_link,
)

# A second sign-up with the same address within this time sends no further e-mail,
# so the form cannot be used to flood somebody's mailbox.
REMAIL_INTERVAL = timedelta(minutes=2)


class SignOutcome(StrEnum):
    NEW = "new"
    LINK_RESENT = "link_resent"
    ALREADY_SIGNED = "already_signed"
    THROTTLED = "throttled"


@dataclass
class SignResult:
    signature: Signature
    outcome: SignOutcome


def digest(text):
    return hashlib.sha256((text or "").encode()).hexdigest()


def consent_record(declaration, data, privacy_notice_text):
    """What the signer agreed to, with fingerprints of the exact texts they were shown."""
    return {
        "at": utcnow().isoformat(timespec="seconds") + "Z",
        "declaration_id": declaration.id,
        "declaration_sha256": digest(declaration.body),
        "privacy_notice_sha256": digest(privacy_notice_text),
        "public_name": bool(data.get("public_name")),
        "public_organisation": bool(data.get("public_organisation")),
    }


def sign_declaration(declaration, data, privacy_notice_text="", language="pl"):
    """Record a signature and queue its confirmation e-mail.

    Signing again with the same mailbox creates nothing new: an unconfirmed signer gets
    the link again, a confirmed one is told by e-mail that they have signed already.
    The caller shows the same page in every case, so a stranger learns nothing.
    """
    key = mailbox_key(data["email"])
    existing = _signature_for_mailbox(declaration, key)
    if existing is None:
        signature = Signature(
            declaration=declaration,
            version=declaration.current_version,
            kind=data["kind"],
            full_name=data["full_name"],
            email=data["email"],
            email_key=key,
            city=data.get("city") or "",
            district=data.get("district") or "",
            organisation_name=data.get("organisation_name") or "",
            role=data.get("role") or "",
            sector=data.get("sector") or None,
            authorised=bool(data.get("authorised")),
            public_name=bool(data.get("public_name")),
            public_organisation=bool(data.get("public_organisation")),
            consents=consent_record(declaration, data, privacy_notice_text),
            language=language,
            status=SignatureStatus.UNCONFIRMED,
            confirm_nonce=secrets.token_hex(8),
            withdraw_nonce=secrets.token_hex(8),
            last_mailed_at=utcnow(),
        )
        db.session.add(signature)
        try:
            db.session.flush()
        except IntegrityError:
            # The same person submitted twice at the same moment: the other request won.
            db.session.rollback()
            existing = _signature_for_mailbox(declaration, key)
        else:
            notify_confirmation_link(signature)
            db.session.commit()
            return SignResult(signature, SignOutcome.NEW)
    return _remind_existing_signer(existing)


def _signature_for_mailbox(declaration, key):
    return db.session.scalar(
        select(Signature).where(Signature.declaration_id == declaration.id, Signature.email_key == key)
    )


def _remind_existing_signer(signature):
    now = utcnow()
    if signature.last_mailed_at and now - signature.last_mailed_at < REMAIL_INTERVAL:
        return SignResult(signature, SignOutcome.THROTTLED)
    signature.last_mailed_at = now
    if signature.status == SignatureStatus.UNCONFIRMED:
        notify_confirmation_link(signature)
        outcome = SignOutcome.LINK_RESENT
    else:
        notify_already_signed(signature)
        outcome = SignOutcome.ALREADY_SIGNED
    db.session.commit()
    return SignResult(signature, outcome)


def _mail_every_signature_of(email, condition, notify):
    """Send `notify` for each matching signature of this mailbox, at most once per REMAIL_INTERVAL."""
    signatures = db.session.scalars(select(Signature).where(Signature.email_key == mailbox_key(email), condition)).all()
    now = utcnow()
    for signature in signatures:
        if signature.last_mailed_at and now - signature.last_mailed_at < REMAIL_INTERVAL:
            continue
        signature.last_mailed_at = now
        notify(signature)
    db.session.commit()


def resend_confirmation_links(email):
    """Send a fresh link for every unconfirmed signature of this mailbox; say nothing either way."""
    _mail_every_signature_of(email, Signature.status == SignatureStatus.UNCONFIRMED, notify_confirmation_link)


class LinkUsed(Exception):
    """The link was valid but has been used already (or the entry was decided on)."""

    def __init__(self, signature):
        self.signature = signature


def signature_for_confirmation(token):
    """The unconfirmed signature a link points to; raises TokenExpired, TokenInvalid or LinkUsed."""
    max_age = int(current_app.config["CONFIRM_TOKEN_MAX_AGE_DAYS"] * 86400)
    payload = read_token(CONFIRM_PURPOSE, token, max_age)
    if not isinstance(payload, dict):
        raise TokenInvalid
    signature = db.session.get(Signature, payload.get("s")) if isinstance(payload.get("s"), int) else None
    if signature is None:
        raise TokenInvalid
    if signature.status != SignatureStatus.UNCONFIRMED or signature.confirm_nonce is None:
        raise LinkUsed(signature)
    if not secrets.compare_digest(str(payload.get("n")), signature.confirm_nonce):
        raise TokenInvalid
    return signature


def confirm_signature(token):
    signature = signature_for_confirmation(token)
    signature.status = SignatureStatus.CONFIRMED
    signature.confirmed_at = utcnow()
    signature.confirm_nonce = None
    db.session.commit()
    return signature


class DecisionNotAllowed(Exception):
    pass


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


# From which states a coordinator may take each decision. Unconfirmed entries cannot be
# approved: nobody has shown they own the address. They can be rejected (obvious spam).
_ALLOWED_FROM = {
    Decision.APPROVE: {SignatureStatus.CONFIRMED, SignatureStatus.REJECTED},
    Decision.REJECT: {SignatureStatus.UNCONFIRMED, SignatureStatus.CONFIRMED, SignatureStatus.APPROVED},
}


def refresh_listing(signature):
    """Keep the public-list columns in step with the status and the signer's choices."""
    if signature.status != SignatureStatus.APPROVED:
        listed = False
    elif signature.kind == SignerKind.ORGANISATION:
        listed = signature.public_organisation
    else:
        listed = signature.public_name
    signature.listed = listed
    if not listed:
        signature.list_sort_key = ""
        signature.list_search_key = ""
        return
    shown = [signature.display_name]
    if signature.kind == SignerKind.ORGANISATION and signature.public_name:
        shown.append(signature.full_name)
    signature.list_sort_key = sort_key(signature.display_name)[:300]
    signature.list_search_key = search_key(" ".join(shown))[:600]


def _apply_decision(signature, decision, coordinator):
    if SignatureStatus(signature.status) not in _ALLOWED_FROM[decision]:
        raise DecisionNotAllowed
    first_approval = decision == Decision.APPROVE and signature.approved_at is None
    previous = signature.status
    signature.status = SignatureStatus.APPROVED if decision == Decision.APPROVE else SignatureStatus.REJECTED
    signature.decided_at = utcnow()
    if first_approval:
        signature.approved_at = signature.decided_at
    signature.decided_by_id = coordinator.id
    if signature.status == SignatureStatus.REJECTED:
        signature.confirm_nonce = None
    refresh_listing(signature)
    record(
        AuditAction.APPROVE if decision == Decision.APPROVE else AuditAction.REJECT,
        signature.display_name,
        coalition_id=signature.declaration.coalition_id,
        subject=signature,
        details={"status": [previous, signature.status]},
        coordinator=coordinator,
    )
    if first_approval:
        notify_signature_approved(signature)


def decide_signature(signature, decision, coordinator):
    _apply_decision(signature, Decision(decision), coordinator)
    db.session.commit()
    return signature


def decide_signatures(signature_ids, decision, coordinator):
    """Bulk decision in one transaction; entries in a state that does not allow it, or of a
    coalition the coordinator does not serve, are skipped."""
    decision = Decision(decision)
    signatures = db.session.scalars(
        select(Signature).where(
            Signature.id.in_(signature_ids), declaration_ids_condition(Signature.declaration_id, coordinator)
        )
    ).all()
    decided = 0
    for signature in signatures:
        try:
            _apply_decision(signature, decision, coordinator)
        except DecisionNotAllowed:
            continue
        decided += 1
    db.session.commit()
    return decided, len(set(signature_ids)) - decided


# ---- withdrawal (RODO art. 7(3) and 17) --------------------------------------------------

WITHDRAW_LINK_MAX_AGE = 400 * 86400  # a link in an old e-mail still works a year later


class AlreadyWithdrawn(Exception):
    pass


def signature_for_withdrawal(token):
    payload = read_token(WITHDRAW_PURPOSE, token, WITHDRAW_LINK_MAX_AGE)
    signature_id = payload.get("s") if isinstance(payload, dict) else None
    signature = db.session.get(Signature, signature_id) if isinstance(signature_id, int) else None
    if signature is None:
        raise TokenInvalid
    if signature.status == SignatureStatus.WITHDRAWN or signature.withdraw_nonce is None:
        raise AlreadyWithdrawn
    if not secrets.compare_digest(str(payload.get("n")), signature.withdraw_nonce):
        raise TokenInvalid
    return signature


def withdraw_signature(signature, now=None):
    """Take the signature off the list and erase the person's data.

    What stays is what is not personal: that a signature of this kind (and sector) existed
    under this declaration and was withdrawn on this date. Mail still waiting to go to the
    address is dropped too.
    """
    from ..mail.models import OutboxMessage, OutboxStatus

    now = now or utcnow()
    db.session.execute(
        db.delete(OutboxMessage).where(
            OutboxMessage.recipient == signature.email, OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    signature.status = SignatureStatus.WITHDRAWN
    signature.withdrawn_at = now
    signature.full_name = ""
    signature.email = ""
    signature.email_key = f"withdrawn:{signature.id}"
    signature.city = signature.district = signature.organisation_name = signature.role = ""
    signature.authorised = signature.public_name = signature.public_organisation = False
    signature.consents = {"withdrawn_at": now.isoformat(timespec="seconds") + "Z"}
    signature.confirm_nonce = signature.withdraw_nonce = None
    refresh_listing(signature)
    db.session.commit()
    return signature


def send_withdraw_links(email):
    """E-mail a withdrawal link for every signature of this mailbox; say nothing either way."""
    _mail_every_signature_of(email, Signature.status != SignatureStatus.WITHDRAWN, notify_withdraw_link)


def forget_unconfirmed_signatures(cutoff):
    """Delete signatures never confirmed by e-mail and created before `cutoff`; returns how many."""
    result = db.session.execute(
        db.delete(Signature).where(Signature.status == SignatureStatus.UNCONFIRMED, Signature.created_at < cutoff)
    )
    db.session.commit()
    return result.rowcount
