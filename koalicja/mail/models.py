from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after MAIL_MAX_ATTEMPTS; kept for a coordinator to see


class OutboxMessage(db.Model):
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")  # shown in To: "Zofia Łukasik" <…>
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"filename", "content_type", "data" (base64), "cid" (optional: shown inside the HTML)}]
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    template: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    # The sender delivering it now ("host:pid:random", koalicja/mail/operations.py), empty when
    # none. While claimed, next_attempt_at is the end of the claim's lease: a sender that dies
    # holds its messages only until then, and any other sender takes them over.
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # What the message is about, e.g. "signature:12" (queue_mail's `about`): a withdrawal
    # drops that entry's own pending mail and nothing else sent to the same address.
    about: Mapped[str | None] = mapped_column(String(60), index=True)
    # Set for an announcement's messages: its sent/failed counts come from here.
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcement.id", ondelete="SET NULL"), index=True)
