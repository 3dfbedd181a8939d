from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..declarations.models import coalition_coordinator
from ..extensions import db
from ..timeutil import utcnow


class Coordinator(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Administrators manage coalitions and coordinators and act for every coalition.
    is_admin: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Changes with the password, so that changing it logs out every other session.
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    coalitions = relationship(
        "Coalition", secondary=coalition_coordinator, back_populates="coordinators", order_by="Coalition.name"
    )

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_token}"


class AuditEntry(db.Model):
    """One coordinator action: who, when, on what, and what changed. Never edited."""

    __table_args__ = (Index("ix_audit_entry_coalition_at", "coalition_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"), index=True)
    # The name at the time: the log stays readable after an account is removed.
    coordinator_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    coalition_id: Mapped[int | None] = mapped_column(ForeignKey("coalition.id", ondelete="SET NULL"))
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None]
    # The summary as text (in Polish); entries written before `message` existed have only this.
    summary: Mapped[str] = mapped_column(Text, default="")
    # What happened, as data: the summary's Polish message id and its parameters (panel/audit.py),
    # shown in the reader's language.
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    coordinator = relationship("Coordinator")
    coalition = relationship("Coalition")

    @property
    def text(self):
        """The summary in the reader's language (the stored text for entries without a message)."""
        if not self.message:
            return self.summary
        from .audit import describe

        return describe(self.message, self.params, fallback=self.summary)
