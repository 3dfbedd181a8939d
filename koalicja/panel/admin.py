"""Administrators' pages: coalitions, coordinator accounts and roles, the audit log."""
from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..coalitions.loading import all_coalitions
from ..coalitions.models import Coalition
from ..coordinators.access import admin_required
from ..coordinators.audit import AUDIT_ACTION_LABELS, AuditAction, AuditEntry
from ..coordinators.models import Coordinator
from ..declarations.settings import COALITION_FIELDS, SettingsError, save_coalition
from ..extensions import db
from ..htmx import render_page_or_fragment, see_other
from ..paging import paginate
from .forms import CoalitionForm, CoordinatorForm
from .operations import CoordinatorExists, invite_coordinator, send_password_link, update_coordinator

bp = Blueprint("admin", __name__, url_prefix="/panel/admin")
AUDIT_PAGE_SIZE = 50


def _status(form):
    return 422 if request.method == "POST" else 200


# ---- coalitions ----------------------------------------------------------------------------


@bp.route("/koalicje/nowa", methods=["GET", "POST"])
@admin_required
def create_coalition():
    return _coalition_form(Coalition())


@bp.route("/koalicje/<slug>/ustawienia", methods=["GET", "POST"])
@admin_required
def edit_coalition(slug):
    coalition = db.first_or_404(select(Coalition).where(Coalition.slug == slug))
    return _coalition_form(coalition)


def _coalition_form(coalition):
    form = CoalitionForm(obj=coalition if request.method == "GET" and coalition.id else None)
    if form.validate_on_submit():
        data = {name: form[name].data for name in COALITION_FIELDS} | {"slug": form.slug.data}
        try:
            save_coalition(
                coalition, data, logo_upload=form.logo.data or None, by=current_user,
                funder_logo_upload=form.funder_logo.data or None,
            )
        except SettingsError as error:
            db.session.rollback()
            form[error.field].errors.append(str(error))
        else:
            flash(_("Zapisano ustawienia koalicji."), "success")
            return see_other(url_for("coalitions_panel.detail", slug=coalition.slug))
    return render_template("panel/admin/coalition_form.html", form=form, edited=coalition), _status(form)


# ---- coordinators --------------------------------------------------------------------------


@bp.get("/koordynatorzy")
@admin_required
def coordinators():
    accounts = db.session.scalars(select(Coordinator).order_by(Coordinator.name)).all()
    return render_template("panel/admin/coordinators.html", accounts=accounts)


def _coordinator_form(coordinator=None):
    form = CoordinatorForm(obj=coordinator if request.method == "GET" else None)
    coalitions = all_coalitions()
    form.coalitions.choices = [(c.id, c.name) for c in coalitions]
    if request.method == "GET" and coordinator is not None:
        form.coalitions.data = [c.id for c in coordinator.coalitions]
    chosen = [c for c in coalitions if c.id in set(form.coalitions.data or [])]
    return form, chosen


@bp.route("/koordynatorzy/nowy", methods=["GET", "POST"])
@admin_required
def invite():
    form, chosen = _coordinator_form()
    del form.active
    if form.validate_on_submit():
        try:
            invite_coordinator(form.email.data, form.name.data, chosen, form.is_admin.data, by=current_user)
        except CoordinatorExists:
            form.email.errors.append(_("Konto z tym adresem już istnieje."))
        else:
            flash(_("Konto utworzone. Wysłaliśmy zaproszenie z linkiem do ustawienia hasła."), "success")
            return see_other(url_for("admin.coordinators"))
    return render_template("panel/admin/coordinator_form.html", form=form, account=None), _status(form)


@bp.route("/koordynatorzy/<int:coordinator_id>", methods=["GET", "POST"])
@admin_required
def edit_coordinator(coordinator_id):
    account = db.get_or_404(Coordinator, coordinator_id)
    form, chosen = _coordinator_form(account)
    del form.email  # the address is the login: a new address is a new account
    if form.validate_on_submit():
        update_coordinator(account, form.name.data, chosen, form.is_admin.data, form.active.data, by=current_user)
        flash(_("Zapisano zmiany konta."), "success")
        return see_other(url_for("admin.coordinators"))
    return render_template("panel/admin/coordinator_form.html", form=form, account=account), _status(form)


@bp.post("/koordynatorzy/<int:coordinator_id>/link-do-hasla")
@admin_required
def password_link(coordinator_id):
    account = db.get_or_404(Coordinator, coordinator_id)
    send_password_link(account, by=current_user)
    flash(_("Wysłaliśmy link do ustawienia hasła na adres %(email)s.", email=account.email), "success")
    return see_other(url_for("admin.edit_coordinator", coordinator_id=account.id))


# ---- audit log -----------------------------------------------------------------------------


@bp.get("/dziennik")
@admin_required
def audit_log():
    conditions = []
    action = request.args.get("akcja", "")
    if action in {a.value for a in AuditAction}:
        conditions.append(AuditEntry.action == action)
    else:
        action = ""
    coalitions = all_coalitions()
    coalition = next((c for c in coalitions if c.slug == request.args.get("koalicja")), None)
    if coalition:
        conditions.append(AuditEntry.coalition_id == coalition.id)
    accounts = db.session.scalars(select(Coordinator).order_by(Coordinator.name)).all()
    who = request.args.get("kto", "")
    if who.isascii() and who.isdigit() and len(who) < 10:
        conditions.append(AuditEntry.coordinator_id == int(who))
    else:
        who = ""
    listing = paginate(
        select(AuditEntry).where(*conditions).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()),
        request.args.get("strona"),
        AUDIT_PAGE_SIZE,
    )
    names = {c.id: c.name for c in coalitions}
    return render_page_or_fragment(
        "panel/admin/audit_log.html",
        "panel/admin/_audit_entries.html",
        entries=listing.items,
        coalition_names=names,
        action_labels=AUDIT_ACTION_LABELS,
        coalitions=coalitions,
        accounts=accounts,
        action=action,
        chosen_coalition=coalition,
        who=who,
        page=listing.page,
        pages=listing.pages,
        total=listing.total,
    )
