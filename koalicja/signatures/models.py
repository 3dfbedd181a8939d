from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..text import search_key
from ..timeutil import utcnow


class SignerKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class Sector(StrEnum):
    NGO = "ngo"
    INFORMAL_GROUP = "informal_group"
    LOCAL_GOVERNMENT = "local_government"
    PUBLIC_INSTITUTION = "public_institution"
    BUSINESS = "business"
    OTHER = "other"


SECTOR_LABELS = {
    Sector.NGO: _l("Organizacja pozarządowa"),
    Sector.INFORMAL_GROUP: _l("Grupa nieformalna"),
    Sector.LOCAL_GOVERNMENT: _l("Samorząd"),
    Sector.PUBLIC_INSTITUTION: _l("Instytucja publiczna"),
    Sector.BUSINESS: _l("Firma"),
    Sector.OTHER: _l("Inny rodzaj"),
}


class SignatureStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"  # waiting for the signer to follow the e-mailed link
    CONFIRMED = "confirmed"  # waiting for a coordinator
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the signer withdrew; personal data erased, the row stays as a count


STATUS_LABELS = {
    SignatureStatus.UNCONFIRMED: _l("Niepotwierdzony e-mailem"),
    SignatureStatus.CONFIRMED: _l("Czeka na decyzję"),
    SignatureStatus.APPROVED: _l("Zatwierdzony"),
    SignatureStatus.REJECTED: _l("Odrzucony"),
    SignatureStatus.WITHDRAWN: _l("Wycofany przez osobę podpisującą"),
}


class SignatureOrigin(StrEnum):
    ONLINE = "online"  # the form on the site, confirmed by e-mail
    PAPER = "paper"  # entered by a coordinator from a signed paper form or its scan


class Signature(db.Model):
    __table_args__ = (
        # One signature per person per declaration: the key is the normalised address.
        UniqueConstraint("declaration_id", "email_key", name="uq_signature_declaration_email"),
        Index("ix_signature_list", "declaration_id", "listed", "approved_at"),
        # The alphabetical list, the count of allies and the coordinators' tabs (migration 0004).
        Index("ix_signature_list_alphabetical", "declaration_id", "listed", "list_sort_key"),
        Index("ix_signature_declaration_status", "declaration_id", "status"),
        Index("ix_signature_status_created", "status", "created_at"),
        Index("ix_signature_status_decided", "status", "decided_at"),
        # The same organisation signing twice is flagged to coordinators by these.
        Index("ix_signature_nip", "nip"),
        Index("ix_signature_krs", "krs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    # The exact text signed (a declaration's versions change; a signature does not).
    version_id: Mapped[int | None] = mapped_column(ForeignKey("declaration_version.id"), index=True)
    origin: Mapped[str] = mapped_column(String(10), default=SignatureOrigin.ONLINE, server_default="online")
    kind: Mapped[str] = mapped_column(String(20))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    city: Mapped[str] = mapped_column(String(100), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    organisation_name: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(150), default="")
    sector: Mapped[str | None] = mapped_column(String(30))
    # Organisation identifiers, normalised to digits (python-stdnum checks the checksums).
    krs: Mapped[str] = mapped_column(String(10), default="", server_default="")
    nip: Mapped[str] = mapped_column(String(10), default="", server_default="")
    regon: Mapped[str] = mapped_column(String(14), default="", server_default="")
    authorised: Mapped[bool] = mapped_column(default=False)
    # What the signer agreed to show on the public list.
    public_name: Mapped[bool] = mapped_column(default=False)
    public_organisation: Mapped[bool] = mapped_column(default=False)
    # Denormalised for the public list: set when approved and the signer agreed to appear.
    listed: Mapped[bool] = mapped_column(default=False)
    # Byte order on PostgreSQL too: the key's "~" marks (ą after a, ł after l) must sort after
    # letters whatever the database's collation; SQLite compares bytes anyway.
    list_sort_key: Mapped[str] = mapped_column(
        String(300).with_variant(String(300, collation="C"), "postgresql"), default="", index=True
    )
    list_search_key: Mapped[str] = mapped_column(String(600), default="")
    # What the coordinators' search matches (panel_search_key below): names, e-mail and
    # identifiers folded in Python, so "LUKASIK" finds "Łukasik" on SQLite and PostgreSQL alike
    # (SQLite's lower() leaves Ł untouched; a collation would differ between the engines).
    panel_search_key: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    # What was consented to and when (RODO art. 7(1): the controller must be able to show it).
    consents: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(8), default="pl")
    # Agreed to receive the coalition's announcements (opt-in); unsubscribing clears it.
    contact_allowed: Mapped[bool] = mapped_column(default=False, server_default="0")
    unsubscribed_at: Mapped[datetime | None]
    unsubscribed_from_id: Mapped[int | None] = mapped_column(ForeignKey("announcement.id", ondelete="SET NULL"))

    # Paper signatures: when and where the form was signed, who entered it, and its scan
    # (a file under instance/, served only to the coalition's coordinators).
    signed_on: Mapped[date | None]
    signed_place: Mapped[str] = mapped_column(String(100), default="", server_default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    scan_file: Mapped[str] = mapped_column(String(100), default="", server_default="")
    scan_content_type: Mapped[str] = mapped_column(String(50), default="", server_default="")
    # Signed on the kiosk tablet at an event (koalicja/events/kiosk.py), and the coordinator who
    # witnessed the signer's identity there (then no confirmation e-mail was needed).
    signed_at_event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    witnessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))

    status: Mapped[str] = mapped_column(String(20), default=SignatureStatus.UNCONFIRMED, index=True)
    # Part of every confirmation token; cleared on use, so a link works only once.
    confirm_nonce: Mapped[str | None] = mapped_column(String(32))
    # Part of the withdrawal links in every e-mail to the signer; cleared once withdrawn.
    withdraw_nonce: Mapped[str | None] = mapped_column(String(32))
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_mailed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    # When the entry first joined the list; "newest first" orders by it.
    approved_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))

    declaration = relationship("Declaration")
    version = relationship("DeclarationVersion")
    decided_by = relationship("Coordinator", foreign_keys=[decided_by_id])
    entered_by = relationship("Coordinator", foreign_keys=[entered_by_id])
    signed_at_event = relationship("Event")
    witnessed_by = relationship("Coordinator", foreign_keys=[witnessed_by_id])
    endorsements = relationship("Endorsement", back_populates="signature", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def is_organisation(self):
        return self.kind == SignerKind.ORGANISATION

    @property
    def display_name(self):
        return self.organisation_name if self.is_organisation else self.full_name

    @property
    def sector_label(self):
        return SECTOR_LABELS.get(self.sector, "") if self.sector else ""

    @property
    def status_label(self):
        return STATUS_LABELS[SignatureStatus(self.status)]

    @property
    def audit_name(self):
        """How the audit log names the entry: an organisation by its name, a person only by
        number, so the log keeps no personal data once a signature is withdrawn."""
        if self.is_organisation and self.organisation_name:
            return self.organisation_name
        return _l("osoba prywatna nr %(number)s", number=self.id)

    @property
    def is_paper(self):
        return self.origin == SignatureOrigin.PAPER

    @property
    def awaits_decision(self):
        return self.status == SignatureStatus.CONFIRMED


def panel_search_key(full_name, organisation_name, email, krs, nip, regon):
    """The folded text the panel's search looks in (migration 0014 fills it for older rows)."""
    return search_key(" ".join(part for part in (full_name, organisation_name, email, krs, nip, regon) if part))[:1000]


@event.listens_for(Signature, "before_insert")
@event.listens_for(Signature, "before_update")
def _keep_panel_search_key(mapper, connection, signature):
    """Every write through the ORM keeps the key in step (a withdrawal's erasure empties it)."""
    signature.panel_search_key = panel_search_key(
        signature.full_name, signature.organisation_name, signature.email, signature.krs, signature.nip, signature.regon
    )
