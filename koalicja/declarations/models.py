from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


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
    # The coalition's look: a brand colour (#rrggbb, dark enough for white text) and a logo
    # file under static/img/ (empty: the name alone).
    brand_colour: Mapped[str] = mapped_column(String(7), default="#1d5c4d", server_default="#1d5c4d")
    logo: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    declarations: Mapped[list["Declaration"]] = relationship(
        back_populates="coalition", order_by="Declaration.id"
    )

    @property
    def current_declaration(self):
        published = [d for d in self.declarations if d.is_current]
        return published[-1] if published else None


class Declaration(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    coalition_id: Mapped[int] = mapped_column(ForeignKey("coalition.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    coalition: Mapped[Coalition] = relationship(back_populates="declarations")
