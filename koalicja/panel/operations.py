"""Coordinator accounts: creation and password checks (Argon2id)."""
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ..extensions import db
from ..timeutil import utcnow
from .models import Coordinator

_hasher = PasswordHasher()
# Checked when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_hex(16))
MIN_PASSWORD_LENGTH = 10


class CoordinatorExists(Exception):
    pass


def coordinator_by_email(email):
    return db.session.scalar(select(Coordinator).where(func.lower(Coordinator.email) == email.strip().lower()))


def create_coordinator(email, name, password):
    if coordinator_by_email(email):
        raise CoordinatorExists(email)
    coordinator = Coordinator(email=email.strip(), name=name.strip(), password_hash="", session_token="")
    set_password(coordinator, password)
    db.session.add(coordinator)
    db.session.commit()
    return coordinator


def set_password(coordinator, password):
    """A new password also ends every session signed in with the old one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password shorter than {MIN_PASSWORD_LENGTH} characters")
    coordinator.password_hash = _hasher.hash(password)
    coordinator.session_token = secrets.token_hex(16)


def authenticate(email, password):
    """The active coordinator with this e-mail and password, or None."""
    coordinator = coordinator_by_email(email or "")
    try:
        _hasher.verify(coordinator.password_hash if coordinator else _UNKNOWN_USER_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if coordinator is None or not coordinator.active:
        return None
    if _hasher.check_needs_rehash(coordinator.password_hash):
        coordinator.password_hash = _hasher.hash(password)
    coordinator.last_login_at = utcnow()
    db.session.commit()
    return coordinator


def load_coordinator(user_id):
    """Flask-Login's loader: the id carries the session token, so old sessions stop working."""
    coordinator_id, _, token = (user_id or "").partition(":")
    if not coordinator_id.isdigit():
        return None
    coordinator = db.session.get(Coordinator, int(coordinator_id))
    if coordinator and secrets.compare_digest(coordinator.session_token, token):
        return coordinator
    return None
