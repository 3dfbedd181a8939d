"""The audit log: every coordinator action, with who, when and what.

`record` adds the entry to the current transaction, so the action and its record are
committed together or not at all. Summaries name organisations but never a private person
(a number instead): the log outlives a withdrawal, which must erase the person's data.
"""
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..extensions import db
from .models import AuditEntry


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
}


def record(action, summary, coalition_id=None, subject=None, details=None, coordinator=None):
    """Add an audit entry for `action` to the session; the caller's commit saves it.

    `subject` is the model instance acted on (its table name and id are kept); `details`
    holds what changed, e.g. {"status": ["confirmed", "approved"]}.
    """
    if subject is not None and subject.id is None:
        db.session.flush()  # a new row gets its id
    coordinator = coordinator if coordinator is not None else (current_user if current_user.is_authenticated else None)
    entry = AuditEntry(
        action=AuditAction(action).value,
        summary=str(summary),  # a lazy translation is fixed in the language of the moment
        coalition_id=coalition_id,
        subject_type=subject.__tablename__ if subject is not None else "",
        subject_id=subject.id if subject is not None else None,
        details=details or {},
        coordinator_id=coordinator.id if coordinator is not None else None,
        coordinator_name=coordinator.name if coordinator is not None else "",
    )
    db.session.add(entry)
    return entry
