"""The outbox: messages are stored with the change that causes them and delivered later.

Queuing happens inside the caller's transaction, so a signature and its confirmation
e-mail are committed together or not at all; delivery runs apart from the request and
retries with back-off, so an SMTP outage delays mail but never loses it.
"""
import base64
import os
import secrets
import smtplib
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import urlsplit

from blinker import Namespace
from flask import current_app, render_template
from sqlalchemy import select, update

from ..extensions import db
from ..timeutil import utc_to_warsaw, utcnow
from .backends import BACKENDS
from .models import OutboxMessage, OutboxStatus


class RenderedOnce:
    """One message to many people: rendered once per key (a language, …) with random slots in
    place of what differs per recipient (their links, a name), which `row` fills in.

    Rendering the templates for every recipient would cost more than everything else together;
    the slots are random, so nothing a coordinator writes can be mistaken for one.
    `render(key, slots)` returns the outbox row (`outbox_row`) with `slots[name]` where each
    recipient's value goes.
    """

    def __init__(self, render, *slot_names):
        self.render = render
        self.slots = {name: f"{name}-{secrets.token_hex(12)}" for name in slot_names}
        self.rendered = {}

    def row(self, key, values, html_values=None, headers=None, **columns):
        """The outbox row of one recipient: `values` {slot name: text} filled in (`html_values`
        instead in the HTML part, for a value that must be escaped there), `headers` added to the
        rendered ones, and `columns` (recipient, recipient_name, …) set."""
        if key not in self.rendered:
            self.rendered[key] = self.render(key, self.slots)
        rendered = self.rendered[key]

        def fill(text, filled):
            for name, value in filled.items():
                text = text.replace(self.slots[name], value)
            return text

        return rendered | {
            "body_text": fill(rendered["body_text"], values),
            "body_html": fill(rendered["body_html"], values | (html_values or {})),
            "headers": {**rendered["headers"], **(headers or {})},
            **columns,
        }


def attachment(filename, content_type, data, cid=None):
    """An attachment for queue_mail; with a cid the HTML part can show it as <img src="cid:…">."""
    item = {"filename": filename, "content_type": content_type, "data": base64.b64encode(data).decode("ascii")}
    if cid:
        item["cid"] = cid
    return item


def outbox_row(to, subject, template, headers=None, attachments=(), *, to_name="", automatic=True, **context):
    """The outbox columns of a message rendered from `emails/<template>.txt` and `.html`
    (for queue_mail, or for a bulk insert of many messages at once).

    `to_name` is shown with the address in To. A message about a coalition (`coalition` in
    the templates' context) is answered to the coalition's contact address (Reply-To), not
    to the sending address nobody reads. `automatic` messages say so (RFC 3834
    `Auto-Submitted`), so that vacation responders stay silent; only what a coordinator
    writes to people is not automatic.
    """
    headers = dict(headers or {})
    coalition = context.get("coalition")
    if coalition is not None and coalition.contact_email:
        headers["Reply-To"] = coalition.contact_email
    if automatic:
        headers["Auto-Submitted"] = "auto-generated"
    return {
        "recipient": to,
        "recipient_name": to_name or "",
        "subject": subject,
        "template": template,
        "body_text": render_template(f"emails/{template}.txt", **context),
        "body_html": render_template(f"emails/{template}.html", subject=subject, **context),
        "headers": headers,
        "attachments": list(attachments),
    }


def queue_mail(to, subject, template, headers=None, attachments=(), about=None, **options_and_context):
    """Render `emails/<template>.txt` and `.html` and add the message to the outbox
    (`to_name` and `automatic` as for outbox_row; the rest is the templates' context).

    `about` names what the message is about ("signature:12"), so that the mail of one thing
    can be found again, e.g. dropped unsent when a signature is withdrawn.
    """
    message = OutboxMessage(**outbox_row(to, subject, template, headers, attachments, **options_and_context), about=about)
    db.session.add(message)
    return message


def _set_subject(message, subject):
    """The subject, with non-ASCII text in RFC 2047 encoded words that keep every space.

    Python 3.11's folding of a long encoded Subject drops the space where it breaks the line
    (a long Ukrainian subject arrived as "піддекларацією"), so such subjects are encoded here,
    spaces inside the encoded words, and stored already folded.
    """
    if subject.isascii():
        message["Subject"] = subject  # refuses line breaks itself (ValueError)
        return
    if any(ch in subject for ch in "\r\n"):
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode(linesep="\n"))


# Header lines may be up to 998 characters (RFC 5322 2.1.1). With the default 78, Python
# folds a long header without spaces into RFC 2047 encoded words, and a List-Unsubscribe
# URL that arrives as "=?utf-8?q?=3Chttps=3A…" is not a link for any mail provider.
# Applied after the parts are built: body encoding keeps its 76-character lines.
_LONG_HEADER_LINES = policy.default.clone(max_line_length=998)


def installation_domain(config):
    """The domain of the sender's address (else of BASE_URL): Message-IDs are made under it,
    never under the machine's own host name, which says nothing to the receiving server."""
    return (
        parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2]
        or urlsplit(config["BASE_URL"]).hostname
        or "koalicja.invalid"
    )


def _recipient(row):
    """`"Zofia Łukasik" <zofia@example.org>`: a name beside the address (encoded when not ASCII)."""
    name = " ".join((row.recipient_name or "").split())  # no line breaks in a header
    if not name:
        return row.recipient
    local, _, domain = row.recipient.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def compose(row, config):
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = _recipient(row)
    _set_subject(message, row.subject)
    # With its zone (Polish time), never "-0000", which says "zone unknown".
    message["Date"] = format_datetime(utc_to_warsaw(utcnow()))
    message["Message-ID"] = make_msgid(idstring=f"outbox{row.id}", domain=installation_domain(config))
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    html_part = message.get_body(("html",))
    for item in row.attachments or []:
        maintype, _, subtype = item["content_type"].partition("/")
        data = base64.b64decode(item["data"])
        if item.get("cid") and html_part is not None:
            html_part.add_related(data, maintype, subtype, cid=f"<{item['cid']}>", filename=item["filename"])
        else:
            message.add_attachment(data, maintype, subtype, filename=item["filename"])
    message.policy = _LONG_HEADER_LINES
    return message


def retry_delay(attempts):
    """1, 2, 4 … minutes, at most an hour between tries."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


# Sent with the outbox row once its fate is settled (outcome: SENT or FAILED), inside the
# transaction that records it, so that whoever queued the message can keep its own tally
# (announcements count their deliveries) without the mailer knowing its customers.
delivery_settled = Namespace().signal("delivery-settled")


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    # True when the server could not be reached at all: the rest waits for the next run.
    unreachable: bool = False


def _record_failure(row, error, report, permanent=False):
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    row.claimed_by = ""
    if permanent or row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        row.status = OutboxStatus.FAILED
        delivery_settled.send(row, outcome=OutboxStatus.FAILED)
        report.failed += 1
    else:
        row.next_attempt_at = utcnow() + retry_delay(row.attempts)
        report.deferred += 1


def _record_sent(row, report):
    row.status = OutboxStatus.SENT
    row.sent_at = utcnow()
    row.attempts += 1
    row.claimed_by = ""
    delivery_settled.send(row, outcome=OutboxStatus.SENT)
    report.sent += 1


# ---- several senders at once -------------------------------------------------------------
#
# Every app server may run its own `send-mail --watch`. A sender first *claims* a batch of due
# messages in one short transaction: it writes its name into `claimed_by` and moves
# `next_attempt_at` to the end of a lease (MAIL_CLAIM_SECONDS), so the rows are no longer due
# for anyone else. On PostgreSQL the claim first locks the due rows with `FOR UPDATE SKIP
# LOCKED`: two senders claiming at the same moment get different rows and never wait for each
# other. On SQLite the claim is one UPDATE statement, which runs under the database's write lock.
# Then the sender delivers its batch outside any lock, committing each outcome (sent, retry
# later, failed) as it goes, which ends the claim of that message. A sender that dies keeps its
# unfinished messages only until the lease ends; then the next sender takes them (at most the
# one message in flight at the moment of death can go out twice: the server may have taken it
# before the outcome was written). A long batch renews its lease before it runs out.


def _sender_name():
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def _due_now(now):
    return (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now)


def _claim_due(sender, batch_size, lease):
    """Claim up to `batch_size` due messages for `sender`; returns them, oldest first."""
    db.session.commit()  # the claim is a transaction of its own
    now = utcnow()
    due = select(OutboxMessage.id).where(_due_now(now)).order_by(OutboxMessage.id).limit(batch_size)
    if db.session.get_bind().dialect.name == "postgresql":
        # Locked first, in a statement of its own: as a subquery of the UPDATE, PostgreSQL may
        # run it again for every row and claim more than the batch.
        ids = db.session.scalars(due.with_for_update(skip_locked=True)).all()
        chosen = OutboxMessage.id.in_(ids)
    else:
        # One statement: SQLite runs it whole under its write lock.
        chosen = OutboxMessage.id.in_(due.scalar_subquery()) & _due_now(now)
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(chosen)
        .values(claimed_by=sender, next_attempt_at=now + lease)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    if not claimed:
        return []
    return db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(claimed), OutboxMessage.claimed_by == sender)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    ).all()


def _renew_claim(rows, sender, lease):
    """Extend the lease of the messages still to send; returns those still ours."""
    ids = [row.id for row in rows]
    kept = set(
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == sender, OutboxMessage.status == OutboxStatus.PENDING)
            .values(next_attempt_at=utcnow() + lease)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    db.session.commit()
    return [row for row in rows if row.id in kept]


def _lease(config):
    return timedelta(seconds=config["MAIL_CLAIM_SECONDS"])


def _deliver_batch(rows, sender, config, report):
    """Send one claimed batch over one connection; each outcome is committed at once."""
    lease = _lease(config)
    renew_at = time.monotonic() + lease.total_seconds() / 2
    handled = set()
    try:
        with BACKENDS[config["MAIL_BACKEND"]](config) as backend:
            for index, row in enumerate(rows):
                if row.id in handled:
                    continue
                if time.monotonic() >= renew_at:
                    still_ours = {r.id for r in _renew_claim(rows[index:], sender, lease)}
                    handled.update(r.id for r in rows[index:] if r.id not in still_ours)
                    renew_at = time.monotonic() + lease.total_seconds() / 2
                    if row.id in handled:
                        continue
                try:
                    message = compose(row, config)
                except Exception as error:  # noqa: BLE001 (this message is broken, not the server)
                    current_app.logger.warning("Outbox message %s cannot be composed: %r", row.id, error)
                    _record_failure(row, error, report, permanent=True)
                else:
                    try:
                        backend.send(message, row.id)
                    except smtplib.SMTPResponseException as error:
                        _record_failure(row, error, report, permanent=500 <= error.smtp_code < 600)
                    except smtplib.SMTPRecipientsRefused as error:
                        _record_failure(row, error, report, permanent=True)
                    except (smtplib.SMTPException, OSError) as error:
                        _record_failure(row, error, report)
                    except Exception as error:  # noqa: BLE001 (e.g. an address the server's encoding refuses)
                        current_app.logger.warning("Outbox message %s cannot be sent: %r", row.id, error)
                        _record_failure(row, error, report, permanent=True)
                    else:
                        _record_sent(row, report)
                handled.add(row.id)
                db.session.commit()
    except (smtplib.SMTPException, OSError) as error:
        # The server could not be reached at all: every message of the batch waits for the next try.
        db.session.rollback()
        report.unreachable = True
        for row in rows:
            if row.id not in handled:
                _record_failure(row, error, report)
        db.session.commit()


def deliver_due(batch_size=None):
    """Send everything that is due now, `batch_size` messages (MAIL_BATCH_SIZE) per connection.

    Safe to run in several processes at once (see "several senders" above). Stops early
    only when the mail server cannot be reached: then the messages left wait for the next run.
    """
    config = current_app.config
    batch_size = batch_size or config["MAIL_BATCH_SIZE"]
    sender = _sender_name()
    report = DeliveryReport()
    while not report.unreachable:
        rows = _claim_due(sender, batch_size, _lease(config))
        if not rows:
            break
        _deliver_batch(rows, sender, config, report)
    return report


def forget_delivered_mail(failed_cutoff):
    """Sent messages are gone from the outbox at once; failed ones after `failed_cutoff`."""
    sent = db.session.execute(db.delete(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)).rowcount
    failed = db.session.execute(
        db.delete(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED, OutboxMessage.created_at < failed_cutoff)
    ).rowcount
    db.session.commit()
    return sent + failed
