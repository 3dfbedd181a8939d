"""Coordinator accounts: creation and password checks (Argon2id)."""
import functools
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..coordinators.audit import AuditAction, record
from ..coordinators.models import Coordinator
from ..extensions import db
from ..links import external_url
from ..mail.operations import queue_mail
from ..timeutil import utcnow
from ..tokens import TokenInvalid, make_token, read_token

MIN_PASSWORD_LENGTH = 10


@functools.cache
def _hasher_for(profile_name):
    """The hasher of an argon2-cffi profile and a hash to check when the e-mail is unknown,
    so a wrong address takes as long as a wrong password."""
    hasher = PasswordHasher.from_parameters(getattr(profiles, profile_name))
    return hasher, hasher.hash(secrets.token_hex(16))


def _hashing():
    return _hasher_for(current_app.config["PASSWORD_HASH_PROFILE"])


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
    hasher, _unknown_user_hash = _hashing()
    coordinator.password_hash = hasher.hash(password)
    _rotate_session_token(coordinator)


def _rotate_session_token(coordinator):
    """Every session carries the token in its signed cookie (`Coordinator.get_id`); a new token
    makes `load_coordinator` refuse all of them, copies of the cookie included."""
    coordinator.session_token = secrets.token_hex(16)


def end_sessions(coordinator):
    """`Wyloguj`: the session ends on the server, not only in this browser.

    The session lives in a signed cookie kept by the browser, so clearing it there leaves any
    copy of it valid; a new session token refuses every copy. Connected to Flask-Login's
    `user_logged_out` (koalicja/__init__.py), so every `logout_user()` does it. A coordinator
    signed in on two devices is signed out on both: one token per account.
    """
    if not isinstance(coordinator, Coordinator):
        return  # nobody was signed in (an ended session posting `Wyloguj` again)
    _rotate_session_token(coordinator)
    db.session.commit()


def end_sessions_on_logout(_app, user=None, **_extra):
    end_sessions(user)


def authenticate(email, password):
    """The active coordinator with this e-mail and password, or None."""
    coordinator = coordinator_by_email(email or "")
    hasher, unknown_user_hash = _hashing()
    try:
        hasher.verify(coordinator.password_hash if coordinator else unknown_user_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if coordinator is None or not coordinator.active:
        return None
    if hasher.check_needs_rehash(coordinator.password_hash):
        coordinator.password_hash = hasher.hash(password)
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


# ---- accounts managed by administrators ---------------------------------------------------

SET_PASSWORD_PURPOSE = "coordinator-set-password"
SET_PASSWORD_MAX_AGE = 7 * 86400


def set_password_url(coordinator):
    """A link to choose a password; it stops working once used (the session token changes)."""
    token = make_token(SET_PASSWORD_PURPOSE, {"c": coordinator.id, "t": coordinator.session_token})
    return external_url("panel.set_password_from_link", token=token)


def coordinator_for_password_link(token):
    """The coordinator a set-password link was made for; raises TokenExpired or TokenInvalid."""
    payload = read_token(SET_PASSWORD_PURPOSE, token, SET_PASSWORD_MAX_AGE)
    coordinator_id = payload.get("c") if isinstance(payload, dict) else None
    coordinator = db.session.get(Coordinator, coordinator_id) if isinstance(coordinator_id, int) else None
    if coordinator is None or not coordinator.active:
        raise TokenInvalid
    if not secrets.compare_digest(str(payload.get("t")), coordinator.session_token):
        raise TokenInvalid  # used already, or the password changed since
    return coordinator


def _describe_roles(coordinator):
    return {
        "is_admin": coordinator.is_admin,
        "active": coordinator.active,
        "coalitions": sorted(c.slug for c in coordinator.coalitions),
    }


def invite_coordinator(email, name, coalitions, is_admin, by):
    """Create an account without a password and e-mail its owner a link to choose one."""
    if coordinator_by_email(email):
        raise CoordinatorExists(email)
    coordinator = Coordinator(
        email=email.strip(), name=name.strip(), password_hash="!", session_token=secrets.token_hex(16), is_admin=is_admin
    )
    coordinator.coalitions = list(coalitions)
    db.session.add(coordinator)
    db.session.flush()
    record(AuditAction.COORDINATOR, _l("Nowe konto: %(name)s", name=coordinator.name), subject=coordinator,
           details=_describe_roles(coordinator), coordinator=by)
    _queue_password_link(coordinator, by, first_time=True)
    db.session.commit()
    return coordinator


def send_password_link(coordinator, by):
    """A forgotten password: a new link, valid once, that also ends every open session."""
    _rotate_session_token(coordinator)
    record(AuditAction.COORDINATOR, _l("Nowy link do ustawienia hasła: %(name)s", name=coordinator.name),
           subject=coordinator, coordinator=by)
    _queue_password_link(coordinator, by, first_time=False)
    db.session.commit()


def _queue_password_link(coordinator, by, first_time):
    queue_mail(
        coordinator.email,
        _("Zaproszenie do panelu koordynatorów") if first_time else _("Link do ustawienia hasła w panelu koordynatorów"),
        "coordinator_password_link",
        to_name=coordinator.name,
        coordinator=coordinator,
        invited_by=by,
        first_time=first_time,
        set_password_url=set_password_url(coordinator),
        login_url=external_url("panel.login"),
    )


def update_coordinator(coordinator, name, coalitions, is_admin, active, by):
    """Change an account's roles; the change is recorded with the roles before and after.

    Nobody can take away their own administrator role or deactivate themselves: the
    installation must never be left without someone who can manage it.
    """
    before = _describe_roles(coordinator)
    if coordinator.id == by.id:
        is_admin, active = coordinator.is_admin, True
    coordinator.name = name.strip()
    coordinator.coalitions = list(coalitions)
    coordinator.is_admin = is_admin
    if coordinator.active and not active:
        _rotate_session_token(coordinator)  # signed out everywhere at once
    coordinator.active = active
    after = _describe_roles(coordinator)
    if before != after:
        record(AuditAction.ROLE_CHANGE, coordinator.name, subject=coordinator,
               details={"before": before, "after": after}, coordinator=by)
    db.session.commit()
    return coordinator


def choose_password(coordinator, password):
    set_password(coordinator, password)
    db.session.commit()
