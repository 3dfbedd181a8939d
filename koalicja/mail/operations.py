"""The outbox: messages are stored with the change that causes them and delivered later.

Queuing happens inside the caller's transaction, so a signature and its confirmation
e-mail are committed together or not at all; delivery runs apart from the request and
retries with back-off, so an SMTP outage delays mail but never loses it.
"""
import base64
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app, render_template
from sqlalchemy import select, update

from ..extensions import db
from ..timeutil import utcnow
from .backends import BACKENDS
from .models import OutboxMessage, OutboxStatus


def attachment(filename, content_type, data, cid=None):
    """An attachment for queue_mail; with a cid the HTML part can show it as <img src="cid:…">."""
    item = {"filename": filename, "content_type": content_type, "data": base64.b64encode(data).decode("ascii")}
    if cid:
        item["cid"] = cid
    return item


def outbox_row(to, subject, template, headers=None, attachments=(), **context):
    """The outbox columns of a message rendered from `emails/<template>.txt` and `.html`
    (for queue_mail, or for a bulk insert of many messages at once)."""
    return {
        "recipient": to,
        "subject": subject,
        "template": template,
        "body_text": render_template(f"emails/{template}.txt", **context),
        "body_html": render_template(f"emails/{template}.html", subject=subject, **context),
        "headers": headers or {},
        "attachments": list(attachments),
    }


def queue_mail(to, subject, template, headers=None, attachments=(), **context):
    """Render `emails/<template>.txt` and `.html` and add the message to the outbox."""
    message = OutboxMessage(**outbox_row(to, subject, template, headers, attachments, **context))
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


def compose(row, config):
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = row.recipient
    _set_subject(message, row.subject)
    message["Date"] = formatdate(localtime=False)
    sender_domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"outbox{row.id}", domain=sender_domain)
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


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


def _count_for_announcement(row, column):
    """Keep an announcement's sent/failed tally, which outlives the purged outbox rows."""
    if row.announcement_id is not None:
        from ..announcements.models import Announcement

        counter = getattr(Announcement, column)
        db.session.execute(update(Announcement).where(Announcement.id == row.announcement_id).values({counter: counter + 1}))


def _record_failure(row, error, report, permanent=False):
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    if permanent or row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        row.status = OutboxStatus.FAILED
        _count_for_announcement(row, "failed_count")
        report.failed += 1
    else:
        row.next_attempt_at = utcnow() + retry_delay(row.attempts)
        report.deferred += 1


def deliver_due(limit=200):
    """Send what is due now; each outcome is committed at once, so nothing is sent twice."""
    config = current_app.config
    report = DeliveryReport()
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= utcnow())
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    if not rows:
        return report
    handled = set()
    try:
        with BACKENDS[config["MAIL_BACKEND"]](config) as backend:
            for row in rows:
                try:
                    backend.send(compose(row, config), row.id)
                except smtplib.SMTPResponseException as error:
                    _record_failure(row, error, report, permanent=500 <= error.smtp_code < 600)
                except smtplib.SMTPRecipientsRefused as error:
                    _record_failure(row, error, report, permanent=True)
                except (smtplib.SMTPException, OSError) as error:
                    _record_failure(row, error, report)
                else:
                    row.status = OutboxStatus.SENT
                    row.sent_at = utcnow()
                    row.attempts += 1
                    _count_for_announcement(row, "sent_count")
                    report.sent += 1
                handled.add(row.id)
                db.session.commit()
    except (smtplib.SMTPException, OSError) as error:
        # The server could not be reached at all: every message waits for the next try.
        for row in rows:
            if row.id not in handled:
                _record_failure(row, error, report)
        db.session.commit()
    return report


def forget_delivered_mail(failed_cutoff):
    """Sent messages are gone from the outbox at once; failed ones after `failed_cutoff`."""
    sent = db.session.execute(db.delete(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)).rowcount
    failed = db.session.execute(
        db.delete(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED, OutboxMessage.created_at < failed_cutoff)
    ).rowcount
    db.session.commit()
    return sent + failed
