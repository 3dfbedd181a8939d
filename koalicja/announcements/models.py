from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class Announcement(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    coalition_id: Mapped[int] = mapped_column(ForeignKey("coalition.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    # Also published on the coalition's site (its Atom feed); the coordinator ticks it, off by default.
    public: Mapped[bool] = mapped_column(default=False, server_default="0")
    # How many e-mails were queued, and what became of them: counted by the mail sender as
    # it goes, because the outbox forgets delivered (and, later, failed) messages.
    recipients: Mapped[int] = mapped_column(default=0)
    sent_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(default=0, server_default="0")

    coalition = relationship("Coalition")
    created_by = relationship("Coordinator")
