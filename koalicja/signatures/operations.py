"""What happens to a signature: signing, confirming by e-mail, coordinators' decisions.

Each function owns its transaction: it commits on success, so views and tests call it
and look at the result. Every change of an existing signature follows the locking rule of
koalicja/locking.py: `lock(Signature, id)` (or `lock_all` in bulk) first, then the state is
read from the row it returns, then decided on; a change that no longer applies is given up
with `refuse(...)`, which writes, mails and logs nothing, and its error's `message` says
what happened instead (SignatureNoLongerApplies below). A withdrawal wins over anything that
comes after it: every later decision, correction, reminder or invitation finds the entry
withdrawn and is refused.
"""
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, false, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from ..coalitions.models import Endorsement, EndorsementMethod
from ..coordinators.access import declaration_ids_condition
from ..coordinators.audit import AuditAction, AuditEntry, record
from ..extensions import db
from ..locking import NoLongerApplies, lock, lock_all, lock_where, refuse
from ..mail.addresses import mailbox_key
from ..text import search_key, sort_key
from ..timeutil import utcnow
from ..tokens import TokenInvalid, read_token
from .models import Signature, SignatureOrigin, SignatureStatus, SignerKind
from .notifications import (
    APPROVED_TEMPLATE,
    CONFIRM_PURPOSE,
    MAIL_ABOUT_PREFIX,
    WITHDRAW_PURPOSE,
    mail_about,
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


# ---- changes that no longer apply ----------------------------------------------------------


class SignatureNoLongerApplies(NoLongerApplies):
    """A change of a signature that its state, read under the lock, does not allow any more."""


class AlreadyWithdrawn(SignatureNoLongerApplies):
    message = _l("Ten wpis został już wycofany przez osobę, która go podpisała.")


class EntryGone(SignatureNoLongerApplies):
    message = _l("Tego wpisu już nie ma: został usunięty.")


class DecisionNotAllowed(SignatureNoLongerApplies):
    """A coordinator's decision that the entry's state does not allow (see _ALLOWED_FROM)."""


class AlreadyApproved(DecisionNotAllowed):
    message = _l("Ten wpis został już zatwierdzony.")


class AlreadyRejected(DecisionNotAllowed):
    message = _l("Ten wpis został już odrzucony.")


class NotConfirmedYet(DecisionNotAllowed):
    message = _l("Tego wpisu nie można jeszcze zatwierdzić: osoba nie potwierdziła jeszcze podpisu linkiem z e-maila.")


class WithdrawnDecision(AlreadyWithdrawn, DecisionNotAllowed):
    """A decision on a withdrawn entry: both a withdrawal and a refused decision."""


class ConfirmedMeanwhile(DecisionNotAllowed):
    """The coordinator decided on an unconfirmed entry that its signer confirmed since."""

    message = _l("Osoba właśnie potwierdziła ten podpis: wpis czeka teraz na decyzję. Sprawdź go jeszcze raz.")


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


def sign_declaration(declaration, data, privacy_notice_text="", language="pl", at_event=None, witness=None):
    """Record a signature and queue its confirmation e-mail.

    `at_event`: signed on the kiosk tablet at that event (koalicja/events/kiosk.py). `witness`:
    the coordinator there who confirmed the signer's identity: the entry is confirmed at once,
    with no e-mail, and the audit log says who witnessed it.

    Signing again with the same mailbox creates nothing new: an unconfirmed signer gets
    the link again, a confirmed one is told by e-mail that they have signed already.
    The caller shows the same page in every case, so a stranger learns nothing.

    Two requests with one address at the same moment: the unique key lets one insert; the
    other finds that row (under its lock) and reminds, or is throttled. When the row it
    collided with is gone by then (withdrawn or deleted a moment ago), it signs anew.
    """
    key = mailbox_key(data["email"])
    for attempt in range(3):
        existing = _signature_for_mailbox(declaration, key)
        if existing is not None:
            existing = lock(Signature, existing.id)
            if existing is not None and existing.email_key == key:
                return _remind_existing_signer(existing)
            db.session.rollback()  # withdrawn or deleted since it was read: sign anew
            continue
        now = utcnow()
        signature = new_signature(
            declaration,
            data,
            privacy_notice_text,
            email_key=key,
            language=language,
            status=SignatureStatus.CONFIRMED if witness else SignatureStatus.UNCONFIRMED,
            confirm_nonce=None if witness else secrets.token_hex(8),
            confirmed_at=now if witness else None,
            last_mailed_at=None if witness else now,
            signed_at_event_id=at_event.id if at_event else None,
            witnessed_by_id=witness.id if witness else None,
        )
        db.session.add(signature)
        try:
            db.session.flush()
        except IntegrityError:
            # The same person submitted twice at the same moment: the other request won.
            db.session.rollback()
            if attempt == 2:
                raise
            continue
        if witness is None:
            notify_confirmation_link(signature)
        else:
            what = _l(
                "%(name)s: podpisane na miejscu (%(event)s), tożsamość potwierdzona przez świadka",
                name=signature.audit_name,
                event=at_event.title,
            )
            coalition_id = declaration.coalition_id
            record(AuditAction.WITNESSED_SIGNING, what, coalition_id=coalition_id, subject=signature, coordinator=witness)
        db.session.commit()
        return SignResult(signature, SignOutcome.NEW)
    raise RuntimeError("the signature kept changing while it was read")  # pragma: no cover


def _signature_for_mailbox(declaration, key):
    return db.session.scalar(
        select(Signature).where(Signature.declaration_id == declaration.id, Signature.email_key == key)
    )


def _remind_existing_signer(signature):
    """`signature` is locked (sign_declaration): a reminder at most once per REMAIL_INTERVAL."""
    now = utcnow()
    if signature.last_mailed_at and now - signature.last_mailed_at < REMAIL_INTERVAL:
        db.session.rollback()  # nothing to write: the lock is let go at once
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
    """Send `notify` for each matching signature of this mailbox, at most once per REMAIL_INTERVAL.

    The rows are locked and read again: one withdrawn a moment ago (its address erased) or
    mailed by a request at the same moment is left out.
    """
    key = mailbox_key(email)
    ids = db.session.scalars(select(Signature.id).where(Signature.email_key == key, condition)).all()
    if not ids:
        return
    now = utcnow()
    mailed = 0
    for signature in lock_all(Signature, ids, Signature.email_key == key, condition):
        if signature.last_mailed_at and now - signature.last_mailed_at < REMAIL_INTERVAL:
            continue
        signature.last_mailed_at = now
        notify(signature)
        mailed += 1
    if mailed:
        db.session.commit()
    else:
        db.session.rollback()


def resend_confirmation_links(email):
    """Send a fresh link for every unconfirmed signature of this mailbox; say nothing either way."""
    _mail_every_signature_of(email, Signature.status == SignatureStatus.UNCONFIRMED, notify_confirmation_link)


class LinkUsed(SignatureNoLongerApplies):
    """The link was valid but has been used already, or the entry was decided on or withdrawn;
    `message` says which."""

    _MESSAGES = {
        SignatureStatus.WITHDRAWN: _l("Ten wpis został już wycofany przez osobę, która go podpisała."),
        SignatureStatus.REJECTED: _l("Ten wpis został odrzucony przez koordynację koalicji, więc nie trzeba go potwierdzać."),
    }

    def __init__(self, signature):
        super().__init__(
            self._MESSAGES.get(signature.status, _l("Podpis z tego linku jest już potwierdzony. Nie musisz nic więcej robić."))
        )
        self.signature = signature


def _confirmation_payload(token):
    max_age = int(current_app.config["CONFIRM_TOKEN_MAX_AGE_DAYS"] * 86400)
    payload = read_token(CONFIRM_PURPOSE, token, max_age)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise TokenInvalid
    return payload


def _check_confirmable(signature, payload):
    if signature is None:
        raise TokenInvalid
    if signature.status != SignatureStatus.UNCONFIRMED or signature.confirm_nonce is None:
        raise LinkUsed(signature)
    if not secrets.compare_digest(str(payload.get("n")), signature.confirm_nonce):
        raise TokenInvalid
    return signature


def signature_for_confirmation(token):
    """The unconfirmed signature a link points to; raises TokenExpired, TokenInvalid or LinkUsed."""
    payload = _confirmation_payload(token)
    return _check_confirmable(db.session.get(Signature, payload["s"]), payload)


def confirm_signature(token):
    """The signer presses the button of the e-mailed link: confirmed once, however many presses
    arrive at once (the others get LinkUsed, and nothing is written for them)."""
    payload = _confirmation_payload(token)
    try:
        signature = _check_confirmable(lock(Signature, payload["s"]), payload)
    except (TokenInvalid, LinkUsed) as error:
        refuse(error)
    signature.status = SignatureStatus.CONFIRMED
    signature.confirmed_at = utcnow()
    signature.confirm_nonce = None
    db.session.commit()
    return signature


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


_REFUSALS = {
    SignatureStatus.WITHDRAWN: WithdrawnDecision,
    SignatureStatus.APPROVED: AlreadyApproved,
    SignatureStatus.REJECTED: AlreadyRejected,
    SignatureStatus.UNCONFIRMED: NotConfirmedYet,
}


def _refusal(signature, decision, seen=None):
    """The reason the decision does not apply to the entry as it is now, or None when it does.

    `seen` is the status the coordinator was shown when deciding (the row's, or the tab's for
    a bulk decision): when the entry has moved on since (another coordinator decided, the
    signer confirmed or withdrew), the decision was made on something that is not there any
    more, and the refusal says what it is now.
    """
    if signature is None:
        return EntryGone()
    status = SignatureStatus(signature.status)
    if seen is not None and status != seen:
        return _REFUSALS.get(status, ConfirmedMeanwhile)()
    if status in _ALLOWED_FROM[decision]:
        return None
    return _REFUSALS[status]()


def _apply_decision(signature, decision, coordinator):
    """`signature` is locked and read afresh; _refusal(signature, decision) is None."""
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


def decide_signature(signature, decision, coordinator, seen=None):
    """A coordinator approves or rejects one entry (`signature`: the row or its id), shown to
    them in the status `seen` (None: whatever it is now).

    Raises a SignatureNoLongerApplies (EntryGone, AlreadyApproved, AlreadyRejected,
    NotConfirmedYet, WithdrawnDecision, ConfirmedMeanwhile) when the entry, read under its
    lock, no longer allows the decision; then nothing is written, mailed or logged. Returns
    the decided row.
    """
    decision = Decision(decision)
    signature = lock(Signature, getattr(signature, "id", signature))
    if (refusal := _refusal(signature, decision, seen)) is not None:
        refuse(refusal)
    _apply_decision(signature, decision, coordinator)
    db.session.commit()
    return signature


# Why a bulk decision skipped entries, in the order the coordinator reads them.
SKIP_REASONS = [AlreadyApproved, AlreadyRejected, WithdrawnDecision, NotConfirmedYet, ConfirmedMeanwhile, EntryGone]


@dataclass
class BulkDecision:
    decided: int
    skipped: dict  # a SKIP_REASONS class -> how many entries were skipped for it
    # The coalition's name -> how many of its entries were decided (a bulk decision may span several).
    coalitions: dict = field(default_factory=dict)

    @property
    def skipped_count(self):
        return sum(self.skipped.values())

    def __iter__(self):  # decided, skipped = decide_signatures(...)
        return iter((self.decided, self.skipped_count))


def decide_signatures(signature_ids, decision, coordinator, seen=None):
    """Bulk decision in one transaction over the rows locked in id order (two bulk decisions
    over the same entries never deadlock, and the second finds them decided). Entries whose
    state does not allow the decision any more are skipped, and so are ids that do not exist
    or belong to a coalition the coordinator does not serve (EntryGone: the same answer, so
    the form reveals nothing about other coalitions). `seen`: the status of the tab the entries
    were chosen on (see _refusal). Nothing decided: nothing is written."""
    decision = Decision(decision)
    wanted = set(signature_ids)
    signatures = lock_all(Signature, wanted, declaration_ids_condition(Signature.declaration_id, coordinator))
    skipped, coalitions = {}, {}
    decided = 0
    for signature in signatures:
        if (refusal := _refusal(signature, decision, seen)) is not None:
            skipped[type(refusal)] = skipped.get(type(refusal), 0) + 1
            continue
        _apply_decision(signature, decision, coordinator)
        decided += 1
        name = signature.declaration.coalition.name
        coalitions[name] = coalitions.get(name, 0) + 1
    if missing := len(wanted) - len(signatures):
        skipped[EntryGone] = missing
    if decided:
        db.session.commit()
    else:
        db.session.rollback()
    skipped = {reason: skipped[reason] for reason in SKIP_REASONS if reason in skipped}
    return BulkDecision(decided, skipped, dict(sorted(coalitions.items())))


# ---- undoing a decision -------------------------------------------------------------------

# How long the coordinator who approved or rejected a waiting entry may take it back (a
# decision by a wrong key press), as long as nothing else happened to the entry since.
UNDO_WINDOW = timedelta(minutes=10)


class DecisionNotUndoable(SignatureNoLongerApplies):
    message = _l(
        "Tej decyzji nie można już cofnąć: minęło 10 minut albo od decyzji coś się w tym wpisie zmieniło. "
        "Wpis pokazuje, jaki jest teraz."
    )


@dataclass
class UndoneDecision:
    signature: Signature
    # The approval's welcome e-mail had already left the outbox: it cannot be taken back.
    mail_already_sent: bool


def _newest_audit_entries(signature_ids):
    """The newest audit entry about each of these entries, by entry id (one query)."""
    newest = (
        select(func.max(AuditEntry.id))
        .where(AuditEntry.subject_type == Signature.__tablename__, AuditEntry.subject_id.in_(signature_ids))
        .group_by(AuditEntry.subject_id)
    )
    return {entry.subject_id: entry for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.id.in_(newest)))}


def _undoable(signature, newest_entry, coordinator, now):
    """The entry's last recorded action is `coordinator`'s decision on it while it waited, less
    than UNDO_WINDOW ago, and the entry is still as that decision left it."""
    return (
        signature.decided_by_id == coordinator.id
        and signature.decided_at is not None
        and signature.decided_at > now - UNDO_WINDOW
        and newest_entry is not None
        and newest_entry.action in (AuditAction.APPROVE, AuditAction.REJECT)
        and newest_entry.coordinator_id == coordinator.id
        and newest_entry.details.get("status") == [SignatureStatus.CONFIRMED, signature.status]
    )


def undoable_decisions(signatures, coordinator, now=None):
    """Ids of the entries among `signatures` whose decision `coordinator` may still undo."""
    now = now or utcnow()
    recent = [
        s for s in signatures if s.decided_by_id == coordinator.id and s.decided_at and s.decided_at > now - UNDO_WINDOW
    ]
    if not recent:
        return set()
    newest = _newest_audit_entries([s.id for s in recent])
    return {s.id for s in recent if _undoable(s, newest.get(s.id), coordinator, now)}


def _drop_pending_welcome(signature):
    """Drop the approval's welcome if it still waits in the outbox and no sender has taken it;
    True when it was dropped."""
    from ..mail.models import OutboxMessage, OutboxStatus

    dropped = db.session.execute(
        db.delete(OutboxMessage).where(
            OutboxMessage.about == mail_about(signature),
            OutboxMessage.template == APPROVED_TEMPLATE,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.claimed_by == "",
        )
    )
    return dropped.rowcount > 0


def undo_decision(signature, coordinator, now=None):
    """Return an entry that `coordinator` approved or rejected a moment ago to the waiting
    entries (`signature`: the row or its id).

    Refused (DecisionNotUndoable, AlreadyWithdrawn, EntryGone) when, read under the lock, the
    decision is older than UNDO_WINDOW, was somebody else's, or anything happened to the entry
    since (another decision, a correction, a withdrawal). An approval's welcome e-mail still
    in the outbox is dropped; one that already went is reported in the result.
    """
    now = now or utcnow()
    signature = lock(Signature, getattr(signature, "id", signature))
    if signature is None:
        refuse(EntryGone())
    if signature.status == SignatureStatus.WITHDRAWN:
        refuse(AlreadyWithdrawn())
    if not _undoable(signature, _newest_audit_entries([signature.id]).get(signature.id), coordinator, now):
        refuse(DecisionNotUndoable())
    undone = signature.status
    mail_already_sent = False
    if undone == SignatureStatus.APPROVED and signature.approved_at == signature.decided_at:
        # This was the entry's first approval, which queued the welcome.
        if _drop_pending_welcome(signature):
            signature.approved_at = None  # a later approval sends the welcome again
        else:
            mail_already_sent = True  # kept: a later approval does not welcome them twice
    signature.status = SignatureStatus.CONFIRMED
    signature.decided_at = signature.decided_by_id = None
    refresh_listing(signature)
    record(
        AuditAction.UNDO,
        signature.audit_name,
        coalition_id=signature.declaration.coalition_id,
        subject=signature,
        details={"status": [undone, signature.status]} | ({"mail": "already_sent"} if mail_already_sent else {}),
        coordinator=coordinator,
    )
    db.session.commit()
    return UndoneDecision(signature, mail_already_sent)


# ---- withdrawal (RODO art. 7(3) and 17) --------------------------------------------------

WITHDRAW_LINK_MAX_AGE = 400 * 86400  # a link in an old e-mail still works a year later


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


# Sent with the signature inside its withdrawal's transaction, before the person's data is
# erased: a feature that queued mail to the ally (announcements) drops what still waits.
signature_withdrawn = Namespace().signal("signature-withdrawn")


def _drop_own_pending_mail(signature):
    """Every message queued by notifications.py carries `about` = mail_about(signature): those
    still waiting in the outbox are not sent any more. Mail to the same address about anything
    else (another coalition's signature, an event) stays."""
    from ..mail.models import OutboxMessage, OutboxStatus

    db.session.execute(
        db.delete(OutboxMessage).where(OutboxMessage.about == mail_about(signature), OutboxMessage.status == OutboxStatus.PENDING)
    )


def _drop_pending_mail(signature):
    """The entry's own pending mail, and what other features queued to the ally as this entry
    (through `signature_withdrawn`)."""
    _drop_own_pending_mail(signature)
    signature_withdrawn.send(signature)


def withdraw_signature(signature, now=None):
    """Take the signature off the list and erase the person's data (`signature`: the row or its id).

    What stays is what is not personal: that a signature of this kind (and sector) existed
    under this declaration and was withdrawn on this date. The entry's own mail still waiting
    in the outbox is dropped too (an approval queued a moment before is never sent). Raises
    AlreadyWithdrawn (EntryGone when deleted) when the row, read under its lock, is withdrawn.
    """
    now = now or utcnow()
    signature = lock(Signature, getattr(signature, "id", signature))
    if signature is None:
        refuse(EntryGone())
    if signature.status == SignatureStatus.WITHDRAWN or signature.withdraw_nonce is None:
        refuse(AlreadyWithdrawn())
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
    """Delete signatures never confirmed by e-mail and created before `cutoff`, with the mail
    still waiting to go to them (a link to an entry that is gone); returns how many."""
    from ..mail.models import OutboxMessage, OutboxStatus

    stale = (Signature.status == SignatureStatus.UNCONFIRMED, Signature.created_at < cutoff)
    lock_where(Signature, *stale)  # none of them confirmed while they go; any number of rows
    about_stale = select(literal(MAIL_ABOUT_PREFIX) + cast(Signature.id, String)).where(*stale)  # mail_about, in SQL
    db.session.execute(
        db.delete(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.about.in_(about_stale))
    )
    result = db.session.execute(db.delete(Signature).where(*stale))
    db.session.commit()
    return result.rowcount


# ---- paper signatures and organisation identifiers ------------------------------------------


class AlreadySigned(Exception):
    """This e-mail address has signed the declaration already (`signature`: that entry; None
    when it was entered at the same moment and is gone again by the time it is looked up)."""

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
    signature = lock(Signature, getattr(signature, "id", signature))
    if signature is None:
        refuse(EntryGone())
    if signature.status == SignatureStatus.WITHDRAWN:  # erased: a correction would bring data back
        refuse(AlreadyWithdrawn())
    if not signature.is_paper:
        for name in ("public_name", "public_organisation"):
            data[name] = bool(data.get(name)) and getattr(signature, name)
    changed = sorted(name for name, value in data.items() if getattr(signature, name) != value)
    for name in changed:
        setattr(signature, name, data[name])
    if not changed:
        db.session.rollback()
        return changed
    refresh_listing(signature)
    record(AuditAction.EDIT, signature.audit_name, coalition_id=signature.declaration.coalition_id,
           subject=signature, details={"fields": changed}, coordinator=coordinator)
    db.session.commit()
    return changed


class NotAwaitingConfirmation(SignatureNoLongerApplies):
    """A new link or a corrected address for an entry that is not unconfirmed any more."""

    def __init__(self, signature):
        super().__init__(_l(
            "Ten wpis nie czeka już na potwierdzenie e-mailem (teraz: %(status)s). Nowy link i poprawka adresu "
            "są tylko dla wpisów niepotwierdzonych.",
            status=signature.status_label,
        ))


class MailedMomentsAgo(SignatureNoLongerApplies):
    message = _l(
        "Link do potwierdzenia poszedł na ten adres przed chwilą. Kolejny można wysłać po %(minutes)s minutach.",
        minutes=int(REMAIL_INTERVAL.total_seconds() // 60),
    )


class AddressTaken(Exception):
    """The corrected address has signed this declaration already (`signature`: that entry;
    None when it was entered at the same moment)."""

    def __init__(self, signature):
        self.signature = signature


def _locked_unconfirmed(signature):
    """The entry locked and read again, still waiting for its e-mailed link, or a refusal."""
    signature = lock(Signature, getattr(signature, "id", signature))
    if signature is None:
        refuse(EntryGone())
    if signature.status == SignatureStatus.WITHDRAWN:
        refuse(AlreadyWithdrawn())
    if signature.status != SignatureStatus.UNCONFIRMED:
        refuse(NotAwaitingConfirmation(signature))
    return signature


def resend_confirmation_link(signature, coordinator):
    """A coordinator sends the confirmation link again (the person lost the e-mail), at most
    once per REMAIL_INTERVAL, like a signer asking for it themselves."""
    signature = _locked_unconfirmed(signature)
    now = utcnow()
    if signature.last_mailed_at and now - signature.last_mailed_at < REMAIL_INTERVAL:
        refuse(MailedMomentsAgo())
    signature.last_mailed_at = now
    notify_confirmation_link(signature)
    record(AuditAction.CONFIRMATION_LINK, _l("Ponownie wysłany link do potwierdzenia: %(name)s", name=signature.audit_name),
           coalition_id=signature.declaration.coalition_id, subject=signature, coordinator=coordinator)
    db.session.commit()
    return signature


def correct_email(signature, email, coordinator):
    """A coordinator corrects a mistyped address of an unconfirmed entry.

    The new address must confirm: it gets a fresh confirmation link, and both links the old
    address was sent (confirm, withdraw) stop working, since that mailbox may be a stranger's.
    Nothing goes to the old address, and its mail still waiting in the outbox is dropped. The
    audit log says the address changed, not what it was. Raises AddressTaken when the new
    address is already under the declaration.
    """
    signature = _locked_unconfirmed(signature)
    key = mailbox_key(email)
    if (other := _signature_for_mailbox(signature.declaration, key)) is not None and other.id != signature.id:
        db.session.rollback()
        raise AddressTaken(other)
    _drop_own_pending_mail(signature)
    signature.email, signature.email_key = email, key
    signature.confirm_nonce, signature.withdraw_nonce = secrets.token_hex(8), secrets.token_hex(8)
    signature.last_mailed_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError as error:  # the same address signed at this very moment
        db.session.rollback()
        raise AddressTaken(_signature_for_mailbox(signature.declaration, key)) from error
    notify_confirmation_link(signature)
    record(AuditAction.EMAIL_CORRECTION, _l("Poprawiony adres e-mail: %(name)s", name=signature.audit_name),
           coalition_id=signature.declaration.coalition_id, subject=signature, details={"fields": ["email"]},
           coordinator=coordinator)
    db.session.commit()
    return signature


def delete_signature(signature, coordinator):
    """Remove an entry for good (spam, a duplicate): its endorsements, pending mail and scan too.
    Raises EntryGone when another coordinator deleted it a moment ago."""
    signature = lock(Signature, getattr(signature, "id", signature))
    if signature is None:
        refuse(EntryGone())
    record(AuditAction.DELETE, signature.audit_name, coalition_id=signature.declaration.coalition_id,
           subject=signature, details={"status": signature.status, "origin": signature.origin}, coordinator=coordinator)
    _drop_pending_mail(signature)
    scan = signature.scan_file
    db.session.delete(signature)
    db.session.commit()
    delete_scan(scan)
