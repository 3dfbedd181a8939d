from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..coalitions.models import coalition_coordinator
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
