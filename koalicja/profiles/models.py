from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class ProfileStatus(StrEnum):
    PENDING = "pending"  # sent by the representative, waiting for a coordinator
    APPROVED = "approved"  # the profile shown now (one per entry)
    REJECTED = "rejected"
    REPLACED = "replaced"  # an approved profile after a newer one was approved, or a pending one sent again


class OrganisationProfile(db.Model):
    """One version of an organisation's profile, as its representative sent it.

    The list shows the entry's approved version; a newer one waits as pending until a
    coordinator approves it (then the old one is replaced) or rejects it. Files are in
    LOGO_FOLDER under random names; a version sent without a new logo keeps the old file,
    so a file is deleted only when no version refers to it any more.
    """

    __tablename__ = "organisation_profile"
    __table_args__ = (Index("ix_organisation_profile_signature_status", "signature_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=ProfileStatus.PENDING, index=True)
    logo_file: Mapped[str] = mapped_column(String(100), default="")
    logo_content_type: Mapped[str] = mapped_column(String(30), default="")
    website_url: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))

    signature = relationship("Signature")
    decided_by = relationship("Coordinator")
