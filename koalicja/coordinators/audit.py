"""The audit log: every coordinator action, with who, when and what.

`record` adds the entry to the current transaction, so the action and its record are
committed together or not at all. Summaries name organisations but never a private person
(a number instead): the log outlives a withdrawal, which must erase the person's data.

What happened is stored as data, not as a sentence in somebody's language: the action, and
the summary as its Polish message id with its parameters (`AuditEntry.message`, `.params`),
put into a sentence when the log is read, in the reader's language (`describe`). Callers
pass the summary as a lazy string, which carries both:

    record(AuditAction.COORDINATOR, _l("Nowe konto: %(name)s", name=coordinator.name), ...)

A parameter may itself be a lazy string (translated at display too), so sentences compose:
`_l("%(event)s: %(what)s", event=event.title, what=_l("opublikowano"))`. A plain `str`
(a name, or a sentence already translated by `_()`) is still accepted and kept as it is,
like the summaries of entries written before messages were stored.
"""
import datetime
import decimal
from enum import StrEnum

from flask_babel import force_locale, gettext, ngettext, pgettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class AuditEntry(db.Model):
    """One coordinator action: who, when, on what, and what changed. Never edited."""

    __table_args__ = (Index("ix_audit_entry_coalition_at", "coalition_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(default=utcnow, index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"), index=True)
    # The name at the time: the log stays readable after an account is removed.
    coordinator_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    coalition_id: Mapped[int | None] = mapped_column(ForeignKey("coalition.id", ondelete="SET NULL"))
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None]
    # The summary as text (in Polish); entries written before `message` existed have only this.
    summary: Mapped[str] = mapped_column(Text, default="")
    # What happened, as data: the summary's Polish message id and its parameters (`describe` below),
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
        return describe(self.message, self.params, fallback=self.summary)


class AuditAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"
    DELETE = "delete"
    PAPER_ENTRY = "paper_entry"
    ANNOUNCEMENT = "announcement"
    ROLE_CHANGE = "role_change"
    COALITION = "coalition"  # a coalition created or its settings changed
    COORDINATOR = "coordinator"  # an account created, (de)activated
    VERSION = "version"  # a declaration version or annex published
    ENDORSEMENT_INVITE = "endorsement_invite"
    EVENT = "event"  # an event created, changed, published or cancelled
    REGISTRATION = "registration"  # a registration approved, rejected, checked in
    EXPORT = "export"  # personal data taken out of the app (CSV/JSON)
    CONFIRMATION_LINK = "confirmation_link"  # a coordinator sent a signer's confirmation link again
    EMAIL_CORRECTION = "email_correction"  # a coordinator corrected a mistyped address
    UNDO = "undo"  # a coordinator took back their own decision on a waiting entry a moment after
    WITNESSED_SIGNING = "witnessed_signing"  # signed on the kiosk at an event, identity confirmed by a coordinator
    CONSULTATION = "consultation"  # a consultation created, opened, extended, closed; a voice entered by hand


AUDIT_ACTION_LABELS = {
    AuditAction.APPROVE: _l("Zatwierdzenie"),
    AuditAction.REJECT: _l("Odrzucenie"),
    AuditAction.EDIT: _l("Edycja"),
    AuditAction.DELETE: _l("Usunięcie"),
    AuditAction.PAPER_ENTRY: _l("Podpis papierowy"),
    AuditAction.ANNOUNCEMENT: _l("Komunikat do sojuszników i sojuszniczek"),
    AuditAction.ROLE_CHANGE: _l("Zmiana uprawnień"),
    AuditAction.COALITION: _l("Ustawienia koalicji"),
    AuditAction.COORDINATOR: _l("Konto w panelu"),
    AuditAction.VERSION: _l("Wersja lub aneks deklaracji"),
    AuditAction.ENDORSEMENT_INVITE: _l("Zaproszenie do poparcia aneksu"),
    AuditAction.EVENT: _l("Wydarzenie"),
    AuditAction.REGISTRATION: _l("Zgłoszenie na wydarzenie"),
    AuditAction.EXPORT: _l("Eksport danych"),
    AuditAction.CONFIRMATION_LINK: _l("Ponowny link do potwierdzenia"),
    AuditAction.EMAIL_CORRECTION: _l("Poprawa adresu e-mail"),
    AuditAction.UNDO: _l("Cofnięcie decyzji"),
    AuditAction.WITNESSED_SIGNING: _l("Podpis na miejscu ze świadkiem"),
    AuditAction.CONSULTATION: _l("Konsultacja"),
}


# The Flask-Babel functions a stored message may be rendered with, and how their arguments are kept.
_PLURAL, _CONTEXT = "_plural", "_context"


def message_of(text):
    """(message id, parameters) of a lazy translation, ready for JSON; None for anything else.

    `_l("Nowe konto: %(name)s", name="Ala")` -> ("Nowe konto: %(name)s", {"name": "Ala"});
    a parameter that is itself a lazy translation is kept the same way, as {"message", "params"}.
    """
    if not isinstance(text, LazyString):
        return None
    function, args = getattr(text._func, "__name__", ""), text._args
    params = {name: _param(value) for name, value in text._kwargs.items()}
    if function == "gettext" and len(args) == 1:
        return args[0], params
    if function == "ngettext" and len(args) == 3:
        return args[0], params | {_PLURAL: args[1], "num": _param(args[2])}
    if function == "pgettext" and len(args) == 2:
        return args[1], params | {_CONTEXT: args[0]}
    return None


def _param(value):
    nested = message_of(value)
    if nested is not None:
        return {"message": nested[0], "params": nested[1]}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def describe(message, params=None, fallback=None):
    """The sentence of a stored message in the current language (the reader's); `fallback`
    (else the message id itself) if its parameters no longer fit it."""
    params = dict(params or {})
    plural, context = params.pop(_PLURAL, None), params.pop(_CONTEXT, None)
    values = {
        name: describe(value["message"], value.get("params")) if isinstance(value, dict) and "message" in value else value
        for name, value in params.items()
    }
    try:
        if plural is not None:
            return ngettext(message, plural, values.pop("num", 0), **values)
        if context is not None:
            return pgettext(context, message, **values)
        return gettext(message, **values)
    except (KeyError, ValueError, TypeError):
        return message if fallback is None else fallback  # never a 500 for one odd entry


def record(action, summary, coalition_id=None, subject=None, details=None, coordinator=None):
    """Add an audit entry for `action` to the session; the caller's commit saves it.

    `summary` is a lazy translation (its message and parameters are stored, and shown in the
    reader's language) or a plain text kept as it is. `subject` is the model instance acted
    on (its table name and id are kept); `details` holds what changed, e.g.
    {"status": ["confirmed", "approved"]}.
    """
    if subject is not None and subject.id is None:
        db.session.flush()  # a new row gets its id
    coordinator = coordinator if coordinator is not None else (current_user if current_user.is_authenticated else None)
    message, params = message_of(summary) or ("", {})
    if message:
        with force_locale("pl"):  # the column, for whoever reads the table itself: in the source language
            summary = describe(message, params)
    entry = AuditEntry(
        action=AuditAction(action).value,
        summary=str(summary),
        message=message,
        params=params,
        coalition_id=coalition_id,
        subject_type=subject.__tablename__ if subject is not None else "",
        subject_id=subject.id if subject is not None else None,
        details=details or {},
        coordinator_id=coordinator.id if coordinator is not None else None,
        coordinator_name=coordinator.name if coordinator is not None else "",
    )
    db.session.add(entry)
    return entry
