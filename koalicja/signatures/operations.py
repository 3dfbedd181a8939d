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
from sqlalchemy import false, or_, select
from sqlalchemy.exc import IntegrityError

from ..declarations.models import Endorsement, EndorsementMethod
from ..extensions import db
from ..mail.addresses import mailbox_key
from ..panel.access import declaration_ids_condition
from ..panel.audit import AuditAction, record
from ..text import search_key, sort_key
from ..timeutil import utcnow
from ..tokens import TokenInvalid, read_token
from .models import Signature, SignatureOrigin, SignatureStatus, SignerKind
from .notifications import (
    CONFIRM_PURPOSE,
    WITHDRAW_PURPOSE,
    notify_already_signed,
    notify_confirmation_link,
    notify_signature_approved,
    notify_withdraw_link,
)
from .scans import delete_scan, save_scan

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
        "version_id": declaration.current_version.id if declaration.current_version else None,
        "declaration_sha256": digest(declaration.body),
        # The annexes shown with the text, endorsed by signing (sign_declaration).
        "annex_ids": [annex.id for annex in declaration.annexes],
        "annexes_sha256": digest("\n\n".join(annex.body for annex in declaration.annexes)),
        "privacy_notice_sha256": digest(privacy_notice_text),
        "public_name": bool(data.get("public_name")),
        "public_organisation": bool(data.get("public_organisation")),
        "contact_allowed": bool(data.get("contact_allowed")),
    }


def new_signature(declaration, data, privacy_notice_text="", **columns):
    """A signature of the declaration's current text (and its annexes) from the signer's answers
    (SignerForm.signer_data); `columns` set the rest (e-mail key, status, origin …)."""
    endorsed_by = EndorsementMethod.PAPER if columns.get("origin") == SignatureOrigin.PAPER else EndorsementMethod.SIGNING
    return Signature(
        declaration=declaration,
        version=declaration.current_version,
        endorsements=[Endorsement(annex=annex, method=endorsed_by) for annex in declaration.annexes],
        kind=data["kind"],
        full_name=data["full_name"],
        email=data["email"],
        city=data.get("city") or "",
        district=data.get("district") or "",
        organisation_name=data.get("organisation_name") or "",
        role=data.get("role") or "",
        sector=data.get("sector") or None,
        krs=data.get("krs") or "",
        nip=data.get("nip") or "",
        regon=data.get("regon") or "",
        authorised=bool(data.get("authorised")),
        public_name=bool(data.get("public_name")),
        public_organisation=bool(data.get("public_organisation")),
        contact_allowed=bool(data.get("contact_allowed")),
        consents=consent_record(declaration, data, privacy_notice_text),
        withdraw_nonce=secrets.token_hex(8),
        **columns,
    )


def sign_declaration(declaration, data, privacy_notice_text="", language="pl"):
    """Record a signature and queue its confirmation e-mail.

    Signing again with the same mailbox creates nothing new: an unconfirmed signer gets
    the link again, a confirmed one is told by e-mail that they have signed already.
    The caller shows the same page in every case, so a stranger learns nothing.
    """
    key = mailbox_key(data["email"])
    existing = _signature_for_mailbox(declaration, key)
    if existing is None:
        signature = new_signature(
            declaration,
            data,
            privacy_notice_text,
            email_key=key,
            language=language,
            status=SignatureStatus.UNCONFIRMED,
            confirm_nonce=secrets.token_hex(8),
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
        signature.audit_name,
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


def _drop_pending_mail(signature):
    """Mail still waiting to go to the signer's address is not sent any more."""
    from ..mail.models import OutboxMessage, OutboxStatus

    if signature.email:
        db.session.execute(
            db.delete(OutboxMessage).where(
                OutboxMessage.recipient == signature.email, OutboxMessage.status == OutboxStatus.PENDING
            )
        )


def withdraw_signature(signature, now=None):
    """Take the signature off the list and erase the person's data.

    What stays is what is not personal: that a signature of this kind (and sector) existed
    under this declaration and was withdrawn on this date. Mail still waiting to go to the
    address is dropped too.
    """
    now = now or utcnow()
    _drop_pending_mail(signature)
    signature.status = SignatureStatus.WITHDRAWN
    signature.withdrawn_at = now
    signature.full_name = ""
    signature.email = ""
    signature.email_key = f"withdrawn:{signature.id}"
    signature.city = signature.district = signature.organisation_name = signature.role = ""
    signature.krs = signature.nip = signature.regon = signature.signed_place = ""
    signature.authorised = signature.public_name = signature.public_organisation = False
    signature.consents = {"withdrawn_at": now.isoformat(timespec="seconds") + "Z"}
    signature.confirm_nonce = signature.withdraw_nonce = None
    scan_file, signature.scan_file, signature.scan_content_type = signature.scan_file, "", ""
    refresh_listing(signature)
    db.session.commit()
    delete_scan(scan_file)  # only once the withdrawal is saved
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


# ---- paper signatures and organisation identifiers ------------------------------------------


class AlreadySigned(Exception):
    """This e-mail address has signed the declaration already."""

    def __init__(self, signature):
        self.signature = signature


def enter_paper_signature(declaration, data, scan, scan_content_type, coordinator):
    """A coordinator enters a form signed on paper, with its scan (checked by scans.scan_type).

    The entry is approved at once: the coordinator has the signed form in hand, which is
    what approval vouches for, and the scan stays with it for anyone to check (a wrong entry
    can still be rejected). Nobody is e-mailed: an address copied from paper is unconfirmed,
    and without one the entry gets a key no mailbox can match. Raises AlreadySigned when the
    address is already under the declaration; then no file is left behind.
    """
    email = data.get("email") or ""
    key = mailbox_key(email) if email else f"paper:{secrets.token_hex(12)}"
    if email and (existing := _signature_for_mailbox(declaration, key)) is not None:
        raise AlreadySigned(existing)
    now = utcnow()
    signature = new_signature(
        declaration,
        data,
        email_key=key,
        origin=SignatureOrigin.PAPER,
        status=SignatureStatus.APPROVED,
        signed_on=data["signed_on"],
        signed_place=data.get("signed_place") or "",
        entered_by_id=coordinator.id,
        decided_by_id=coordinator.id,
        decided_at=now,
        approved_at=now,
        scan_content_type=scan_content_type,
    )
    # What the person agreed to is on the paper form; the notice they read there is not ours to hash.
    signature.consents.pop("privacy_notice_sha256", None)
    signature.consents.update(origin=SignatureOrigin.PAPER.value, signed_on=data["signed_on"].isoformat())
    refresh_listing(signature)
    signature.scan_file = save_scan(scan, scan_content_type)
    try:
        db.session.add(signature)
        record(
            AuditAction.PAPER_ENTRY,
            signature.audit_name,
            coalition_id=declaration.coalition_id,
            subject=signature,
            details={"signed_on": data["signed_on"].isoformat(), "scan": scan_content_type},
            coordinator=coordinator,
        )
        db.session.commit()
    except BaseException as error:
        db.session.rollback()
        delete_scan(signature.scan_file)
        if isinstance(error, IntegrityError):  # the same address entered at the same moment
            raise AlreadySigned(_signature_for_mailbox(declaration, key)) from error
        raise
    return signature


@dataclass
class SameOrganisation:
    identifier: str  # "NIP" or "KRS"
    number: str
    other: Signature
    earlier: bool  # the other entry came first


def same_organisation_signatures(signatures):
    """For each organisation's entry, the other entries under its declaration with the same NIP
    or KRS (withdrawn ones aside): {signature id: [SameOrganisation, …]}, in one query for a page."""
    wanted = [s for s in signatures if s.is_organisation and (s.nip or s.krs)]
    if not wanted:
        return {}
    nips = {s.nip for s in wanted if s.nip}
    krs_numbers = {s.krs for s in wanted if s.krs}
    candidates = db.session.scalars(
        select(Signature)
        .where(
            Signature.declaration_id.in_({s.declaration_id for s in wanted}),
            Signature.status != SignatureStatus.WITHDRAWN,
            or_(Signature.nip.in_(nips) if nips else false(), Signature.krs.in_(krs_numbers) if krs_numbers else false()),
        )
        .order_by(Signature.created_at, Signature.id)
    ).all()
    found = {}
    for signature in wanted:
        for other in candidates:
            if other.id == signature.id or other.declaration_id != signature.declaration_id:
                continue
            if signature.nip and other.nip == signature.nip:
                shared = ("NIP", signature.nip)
            elif signature.krs and other.krs == signature.krs:
                shared = ("KRS", signature.krs)
            else:
                continue
            earlier = (other.created_at, other.id) < (signature.created_at, signature.id)
            found.setdefault(signature.id, []).append(SameOrganisation(*shared, other, earlier))
    return found


# ---- coordinators' corrections -------------------------------------------------------------


def edit_signature(signature, data, coordinator):
    """Correct an entry; the audit log records which fields changed (not their values).

    What the public list shows of an online signer is their own consent: a coordinator may
    hide more (at the signer's request), never show more. A paper entry's choices were typed
    in by a coordinator from the form, so they may be corrected either way.
    """
    if not signature.is_paper:
        for name in ("public_name", "public_organisation"):
            data[name] = bool(data.get(name)) and getattr(signature, name)
    changed = sorted(name for name, value in data.items() if getattr(signature, name) != value)
    for name in changed:
        setattr(signature, name, data[name])
    refresh_listing(signature)
    if changed:
        record(AuditAction.EDIT, signature.audit_name, coalition_id=signature.declaration.coalition_id,
               subject=signature, details={"fields": changed}, coordinator=coordinator)
    db.session.commit()
    return changed


def delete_signature(signature, coordinator):
    """Remove an entry for good (spam, a duplicate): its endorsements, pending mail and scan too."""
    record(AuditAction.DELETE, signature.audit_name, coalition_id=signature.declaration.coalition_id,
           subject=signature, details={"status": signature.status, "origin": signature.origin}, coordinator=coordinator)
    _drop_pending_mail(signature)
    scan = signature.scan_file
    db.session.delete(signature)
    db.session.commit()
    delete_scan(scan)
