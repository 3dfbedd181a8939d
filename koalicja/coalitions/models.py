from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# Which coordinators act for which coalition (administrators act for every coalition).
coalition_coordinator = Table(
    "coalition_coordinator",
    db.metadata,
    Column("coalition_id", ForeignKey("coalition.id", ondelete="CASCADE"), primary_key=True),
    Column("coordinator_id", ForeignKey("coordinator.id", ondelete="CASCADE"), primary_key=True),
)


class Coalition(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The data controller named in the privacy notice (RODO art. 13).
    organiser: Mapped[str] = mapped_column(String(300), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    privacy_notice: Mapped[str] = mapped_column(Text, default="")
    funding_notice: Mapped[str] = mapped_column(Text, default="")
    chat_url: Mapped[str] = mapped_column(String(500), default="")
    facebook_url: Mapped[str] = mapped_column(String(500), default="")
    website_url: Mapped[str] = mapped_column(String(500), default="")
    # Who to ask, as the coalition wants to present them (Markdown: names, roles, phones).
    contact_persons: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The coalition's look: a brand colour (#rrggbb, dark enough for white text) and a logo
    # file under static/img/ (empty: the name alone).
    brand_colour: Mapped[str] = mapped_column(String(7), default="#1d5c4d", server_default="#1d5c4d")
    logo: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The sites allowed to show this coalition's widgets in a frame (koalicja/reach/), one
    # origin a line as koalicja.security.frame_origins keeps them; none: only this site.
    embed_origins: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The funder's logo, printed beside funding_notice on the PDFs (attendance lists, the report).
    funder_logo: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    declarations: Mapped[list["Declaration"]] = relationship(
        back_populates="coalition", order_by="Declaration.id"
    )
    coordinators = relationship("Coordinator", secondary=coalition_coordinator, back_populates="coalitions")

    @property
    def current_declaration(self):
        published = [d for d in self.declarations if d.is_current]
        return published[-1] if published else None

    @property
    def open_for_signing(self):
        """A text has been published; a new coalition has nothing to sign yet."""
        return self.current_declaration is not None and self.current_declaration.current_version is not None


class FormerSlug(db.Model):
    """An address a coalition had before an administrator changed it. Links to it live on in
    e-mails, posters and QR codes, so they lead to the coalition's current address, and no
    other coalition may take it."""

    slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    coalition_id: Mapped[int] = mapped_column(ForeignKey("coalition.id", ondelete="CASCADE"), index=True)
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class Declaration(db.Model):
    """A coalition's document. Its text lives in versions; annexes are added to it later."""

    id: Mapped[int] = mapped_column(primary_key=True)
    coalition_id: Mapped[int] = mapped_column(ForeignKey("coalition.id"), index=True)
    is_current: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    coalition: Mapped[Coalition] = relationship(back_populates="declarations")
    versions: Mapped[list["DeclarationVersion"]] = relationship(
        back_populates="declaration", order_by="DeclarationVersion.id", cascade="all, delete-orphan"
    )

    def __init__(self, title=None, body=None, **kwargs):
        """`Declaration(title=…, body=…)` publishes that text as version 1."""
        super().__init__(**kwargs)
        if title is not None:
            self.versions.append(
                DeclarationVersion(kind=VersionKind.TEXT, number=1, title=title, body=body or "", published_at=utcnow())
            )

    def _published(self, kind):
        return [v for v in self.versions if v.kind == kind and v.published_at is not None]

    @property
    def current_version(self):
        """The text signed today: the newest published version."""
        texts = self._published(VersionKind.TEXT)
        return texts[-1] if texts else None

    @property
    def text_versions(self):
        return self._published(VersionKind.TEXT)

    @property
    def annexes(self):
        return self._published(VersionKind.ANNEX)

    # The current text, as every page and e-mail before versions knew it.
    @property
    def title(self):
        return self.current_version.title if self.current_version else ""

    @property
    def body(self):
        return self.current_version.body if self.current_version else ""


class VersionKind(StrEnum):
    TEXT = "text"  # a whole text; a new one replaces the previous for new signers
    ANNEX = "annex"  # an addition to the declaration; signers endorse it separately


class DeclarationVersion(db.Model):
    """One published (or draft) text of a declaration, readable for ever at its own URL."""

    __table_args__ = (UniqueConstraint("declaration_id", "kind", "number", name="uq_declaration_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default=VersionKind.TEXT)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]  # None: a draft, seen only in the panel
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))

    declaration: Mapped[Declaration] = relationship(back_populates="versions")

    @property
    def is_annex(self):
        return self.kind == VersionKind.ANNEX

    @property
    def url_part(self):
        """`wersja-2` or `aneks-1`: the last part of its public address."""
        return f"{'aneks' if self.is_annex else 'wersja'}-{self.number}"


class EndorsementMethod(StrEnum):
    SIGNING = "signing"  # the annex was already published when they signed
    EMAIL = "email"  # they followed the invitation's link
    PAPER = "paper"  # a coordinator entered a paper endorsement


class Endorsement(db.Model):
    """A signer's support for an annex published after (or with) their signature."""

    __table_args__ = (UniqueConstraint("annex_id", "signature_id", name="uq_endorsement_annex_signature"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    annex_id: Mapped[int] = mapped_column(ForeignKey("declaration_version.id"), index=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(10), default=EndorsementMethod.EMAIL)
    endorsed_at: Mapped[datetime] = mapped_column(default=utcnow)

    annex = relationship("DeclarationVersion")
    signature = relationship("Signature", back_populates="endorsements")
