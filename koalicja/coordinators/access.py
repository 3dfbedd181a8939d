"""Who may act for which coalition.

Administrators act for every coalition and manage coalitions and coordinators; a
coordinator acts only for the coalitions assigned to them. Anything of another coalition
answers 404, exactly like something that does not exist: a crafted request learns nothing.
"""
import functools

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select, true

from ..coalitions.models import Coalition, Declaration, coalition_coordinator
from ..extensions import db


def coalition_ids_condition(column, coordinator=None):
    """An SQL condition: `column` (a coalition id) belongs to a coalition this coordinator serves."""
    coordinator = coordinator or current_user
    if coordinator.is_admin:
        return true()
    return column.in_(
        select(coalition_coordinator.c.coalition_id).where(coalition_coordinator.c.coordinator_id == coordinator.id)
    )


def declaration_ids_condition(column, coordinator=None):
    """An SQL condition: `column` (a declaration id) belongs to a coalition this coordinator serves."""
    coordinator = coordinator or current_user
    if coordinator.is_admin:
        return true()
    return column.in_(select(Declaration.id).where(coalition_ids_condition(Declaration.coalition_id, coordinator)))


def coalitions_served():
    """The coalitions the signed-in coordinator acts for, by name."""
    return db.session.scalars(select(Coalition).where(coalition_ids_condition(Coalition.id)).order_by(Coalition.name)).all()


def serves(coalition_id, coordinator=None):
    coordinator = coordinator or current_user
    if coordinator.is_admin:
        return True
    return coalition_id in {coalition.id for coalition in coordinator.coalitions}


def require_coalition(coalition_id):
    """404 unless the signed-in coordinator acts for this coalition."""
    if coalition_id is None or not serves(coalition_id):
        abort(404)


def served_coalition_or_404(slug):
    coalition = db.session.scalar(select(Coalition).where(Coalition.slug == slug))
    if coalition is None:
        abort(404)
    require_coalition(coalition.id)
    return coalition


def admin_required(view):
    """Only administrators; others get 404, as for a page that is not there."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapper
