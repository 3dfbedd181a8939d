"""Writing to allies: an announcement goes to every approved ally who agreed to be contacted.

One outbox message per mailbox, inserted in bulk in the same transaction as the
announcement and its audit entry. Every message carries a one-click unsubscribe link
(RFC 8058); unsubscribing is the ally's own act, so it leaves no audit entry: the
signature keeps when and from which announcement, and its consent record says so too.
"""
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import force_locale
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import load_only, selectinload

from ..coalitions.models import Coalition, Declaration
from ..coordinators.audit import AuditAction, record
from ..extensions import db
from ..links import external_url
from ..locking import lock, lock_all, lock_where
from ..mail.models import OutboxMessage, OutboxStatus
from ..mail.operations import RenderedOnce, delivery_settled, outbox_row
from ..signatures.models import Signature, SignatureStatus
from ..signatures.notifications import signature_stamp, withdraw_url
from ..signatures.operations import WITHDRAW_LINK_MAX_AGE, signature_withdrawn
from ..text import render_markdown
from ..timeutil import utcnow
from ..tokens import TokenInvalid, make_token, read_token
from .models import Announcement

UNSUBSCRIBE_PURPOSE = "announcement-unsubscribe"
UNSUBSCRIBE_LINK_MAX_AGE = WITHDRAW_LINK_MAX_AGE  # an old message's link still works a year later
TEMPLATE = "announcement_to_ally"
# The same text sent again this soon is a double click, not a second announcement.
DUPLICATE_WINDOW = timedelta(minutes=10)


@delivery_settled.connect
def _count_delivery(row, outcome):
    """Keep an announcement's sent/failed tally, which outlives the purged outbox rows."""
    if row.announcement_id is None:
        return
    counter = Announcement.sent_count if outcome == OutboxStatus.SENT else Announcement.failed_count
    db.session.execute(update(Announcement).where(Announcement.id == row.announcement_id).values({counter: counter + 1}))


@signature_withdrawn.connect
def _drop_pending_announcements(signature):
    """An ally who withdraws gets none of the coalition's announcements still waiting to go
    to their address (compared case-insensitively)."""
    if not signature.email:
        return
    coalition_announcements = select(Announcement.id).where(Announcement.coalition_id == signature.declaration.coalition_id)
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.announcement_id.in_(coalition_announcements),
            func.lower(OutboxMessage.recipient) == signature.email.strip().lower(),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )


def _recipient_conditions(coalition):
    """Approved allies of the coalition's declarations who agreed to mail and have an address."""
    return (
        Signature.declaration_id.in_(select(Declaration.id).where(Declaration.coalition_id == coalition.id)),
        Signature.status == SignatureStatus.APPROVED,
        Signature.contact_allowed.is_(True),
        Signature.email != "",  # paper entries may come without one
    )


def count_recipients(coalition):
    """How many mailboxes an announcement would reach now (one per mailbox)."""
    return db.session.scalar(
        select(func.count(func.distinct(Signature.email_key))).where(*_recipient_conditions(coalition))
    )


def _recipients(coalition):
    """One signature per mailbox (the earliest), with only the columns a message needs."""
    signatures = db.session.scalars(
        select(Signature)
        .where(*_recipient_conditions(coalition))
        .options(
            load_only(
                Signature.id, Signature.email, Signature.email_key, Signature.language, Signature.withdraw_nonce,
                Signature.created_at,
            )
        )
        .order_by(Signature.id)
    )
    seen = set()
    for signature in signatures:
        if signature.email_key not in seen:
            seen.add(signature.email_key)
            yield signature


def unsubscribe_url(signature, announcement_id):
    token = make_token(UNSUBSCRIBE_PURPOSE, {"s": signature.id, "a": announcement_id, "c": signature_stamp(signature)})
    return external_url("announcements.unsubscribe", token=token)


def _rendered_announcement(coalition, subject, body, body_html):
    """The announcement's outbox row in a language, with slots for each ally's own links."""

    def render(language, slots):
        with force_locale(language):  # the chrome in the signer's language; the text as written
            return outbox_row(
                "",
                subject,
                TEMPLATE,
                {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                automatic=False,  # a coordinator wrote it; answers reach the coalition (Reply-To)
                coalition=coalition,
                body_text=body,
                body_html=body_html,
                unsubscribe_url=slots["unsubscribe"],
                withdraw_url=slots["withdraw"],
            )

    return RenderedOnce(render, "unsubscribe", "withdraw")


class AlreadySent(Exception):
    def __init__(self, announcement):
        self.announcement = announcement


def send_announcement(coalition, subject, body, coordinator, public=False):
    """Queue the announcement for every recipient; raises AlreadySent for a repeated click.
    `public`: also published on the coalition's site (its announcements page and Atom feed).

    The coalition's lock makes two clicks (or two coordinators) send one announcement; the
    recipients' locks make an ally who withdraws or unsubscribes at this moment either go
    first (and get nothing) or wait until the messages are queued (and lose them with the
    withdrawal, which drops its pending mail).
    """
    lock(Coalition, coalition.id)
    duplicate = db.session.scalar(
        select(Announcement).where(
            Announcement.coalition_id == coalition.id,
            Announcement.subject == subject,
            Announcement.body == body,
            Announcement.created_at > utcnow() - DUPLICATE_WINDOW,
        )
    )
    if duplicate is not None:
        raise AlreadySent(duplicate)
    announcement = Announcement(coalition=coalition, subject=subject, body=body, created_by_id=coordinator.id, public=public)
    db.session.add(announcement)
    db.session.flush()

    lock_where(Signature, *_recipient_conditions(coalition))
    rows = []
    messages = _rendered_announcement(coalition, subject, body, render_markdown(body))
    for signature in _recipients(coalition):
        link = unsubscribe_url(signature, announcement.id)
        rows.append(
            messages.row(
                signature.language,
                {"unsubscribe": link, "withdraw": withdraw_url(signature)},
                headers={"List-Unsubscribe": f"<{link}>"},
                recipient=signature.email,
                recipient_name=signature.full_name,
                announcement_id=announcement.id,
            )
        )
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
    announcement.recipients = len(rows)
    record(
        AuditAction.ANNOUNCEMENT,
        subject,
        coalition_id=coalition.id,
        subject=announcement,
        details={"recipients": len(rows), "public": public},
        coordinator=coordinator,
    )
    db.session.commit()
    return announcement


@dataclass
class Delivery:
    """What became of an announcement's messages: sent and failed as counted by the sender,
    pending as still in the outbox (a withdrawn signer's pending message is dropped, so
    the three need not add up to the recipients)."""

    recipients: int
    sent: int = 0
    failed: int = 0
    pending: int = 0
    unsubscribed: int = 0


def announcements_with_delivery(coalition):
    """The coalition's announcements, newest first, each with its Delivery (three queries in all)."""
    announcements = db.session.scalars(
        select(Announcement)
        .where(Announcement.coalition_id == coalition.id)
        .options(selectinload(Announcement.created_by))
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
    ).all()
    delivery = {
        a.id: Delivery(a.recipients, sent=a.sent_count, failed=a.failed_count) for a in announcements
    }
    of_coalition = Announcement.coalition_id == coalition.id
    pending = db.session.execute(
        select(OutboxMessage.announcement_id, func.count())
        .join(Announcement, Announcement.id == OutboxMessage.announcement_id)
        .where(of_coalition, OutboxMessage.status == OutboxStatus.PENDING)
        .group_by(OutboxMessage.announcement_id)
    )
    for announcement_id, count in pending:
        delivery[announcement_id].pending = count
    unsubscribed = db.session.execute(
        select(Signature.unsubscribed_from_id, func.count(func.distinct(Signature.email_key)))
        .join(Announcement, Announcement.id == Signature.unsubscribed_from_id)
        .where(of_coalition)
        .group_by(Signature.unsubscribed_from_id)
    )
    for announcement_id, count in unsubscribed:
        delivery[announcement_id].unsubscribed = count
    return [(announcement, delivery[announcement.id]) for announcement in announcements]


# ---- unsubscribing (RFC 8058 one-click and the page behind the link) ---------------------


def signature_for_unsubscribe(token):
    """The signature a link was made for (None if it no longer exists) and the announcement's id.

    Raises TokenExpired or TokenInvalid.
    """
    payload = read_token(UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_LINK_MAX_AGE)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int) or not isinstance(payload.get("a"), int):
        raise TokenInvalid
    signature = db.session.get(Signature, payload["s"])
    # Links sent before they carried the stamp still unsubscribe: that must never fail.
    if signature is not None and "c" in payload and payload["c"] != signature_stamp(signature):
        signature = None  # the signature was deleted; its id now belongs to someone else
    return signature, payload["a"]


def unsubscribe_mailbox(signature, announcement_id):
    """No more announcements from this coalition to this mailbox; safe to repeat.

    Every signature of the mailbox under the coalition's declarations is switched off, or
    the next announcement would go to the same address through another of them.
    """
    now = utcnow()
    in_coalition = Signature.declaration_id.in_(
        select(Declaration.id).where(Declaration.coalition_id == signature.declaration.coalition_id)
    )
    candidates = db.session.scalars(select(Signature.id).where(Signature.email_key == signature.email_key, in_coalition))
    signatures = lock_all(Signature, candidates.all(), Signature.contact_allowed.is_(True))
    if db.session.get(Announcement, announcement_id) is None:
        announcement_id = None  # removed since it was sent
    for each in signatures:
        each.contact_allowed = False
        each.unsubscribed_at = now
        each.unsubscribed_from_id = announcement_id
        each.consents = {
            **(each.consents or {}),
            "contact_allowed": False,
            "contact_withdrawn_at": now.isoformat(timespec="seconds") + "Z",
        }
    db.session.commit()
    return len(signatures)
