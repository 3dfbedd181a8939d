"""Coordinators' side of a declaration: versions and annexes (draft, preview, publish), endorsements.

Every page is reached through the coalition's slug and answers 404 for a coalition the
coordinator does not serve (koalicja/panel/access.py).
"""
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..coalitions.models import EndorsementMethod, VersionKind
from ..coordinators.access import served_coalition_or_404
from ..htmx import see_other
from ..signatures.notifications import ENDORSE_LINK_MAX_AGE_DAYS
from .forms import VersionForm
from .operations import (
    DraftExists,
    VersionPublished,
    draft_of,
    endorsements_of,
    find_version,
    invitation_recipients,
    invite_to_endorse,
    publish_version,
    start_draft,
    update_draft,
    version_statistics,
)

bp = Blueprint("declarations_panel", __name__, url_prefix="/panel/koalicje")

ENDORSEMENT_METHOD_LABELS = {
    EndorsementMethod.SIGNING: _l("przy podpisie"),
    EndorsementMethod.EMAIL: _l("przez link w e-mailu"),
    EndorsementMethod.PAPER: _l("na papierze"),
}


@bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


def version_route(suffix="", **options):
    """The same view under `…/wersja-<n>…` and `…/aneks-<n>…` (the kind comes as an argument)."""

    def register(view):
        for part, kind in (("wersja", VersionKind.TEXT), ("aneks", VersionKind.ANNEX)):
            rule = f"/<slug>/deklaracja/{part}-<int:number>{suffix}"
            bp.add_url_rule(rule, view_func=view, defaults={"kind": kind.value}, **options)
        return view

    return register


def _version_or_404(slug, kind, number):
    coalition = served_coalition_or_404(slug)
    version = find_version(coalition.current_declaration, kind, number, published_only=False)
    if version is None:
        abort(404)
    return coalition, version


def _detail_url(coalition, version):
    return url_for("declarations_panel.detail", slug=coalition.slug, kind=version.kind, number=version.number)


@bp.get("/<slug>/deklaracja")
def index(slug):
    coalition = served_coalition_or_404(slug)
    declaration = coalition.current_declaration
    return render_template(
        "declarations/panel/index.html",
        coalition=coalition,
        declaration=declaration,
        statistics=version_statistics(declaration) if declaration is not None else None,
        text_draft=draft_of(declaration, VersionKind.TEXT),
        annex_draft=draft_of(declaration, VersionKind.ANNEX),
    )


def _new_draft(slug, kind):
    coalition = served_coalition_or_404(slug)
    declaration = coalition.current_declaration
    if kind == VersionKind.ANNEX and (declaration is None or declaration.current_version is None):
        abort(404)  # an annex needs a published text to be added to
    existing = draft_of(declaration, kind)
    if existing is not None and request.method == "GET":
        flash(_("Jest już szkic. Dokończ go albo opublikuj, zanim zaczniesz następny."), "info")
        return see_other(url_for("declarations_panel.edit", slug=slug, kind=existing.kind, number=existing.number))
    # A new text starts from the current one; an annex starts empty.
    source = declaration.current_version if kind == VersionKind.TEXT and declaration is not None else None
    form = VersionForm(obj=source if request.method == "GET" else None)
    problem = None
    if form.validate_on_submit():
        try:
            version = start_draft(coalition, kind, form.title.data, form.body.data, current_user)
        except DraftExists:
            problem = _("Ktoś właśnie zaczął inny szkic. Twój tekst nie został zapisany: skopiuj go, zanim opuścisz stronę.")
        else:
            flash(_("Szkic zapisany. Sprawdź podgląd i opublikuj, gdy będzie gotowy."), "success")
            return see_other(_detail_url(coalition, version))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "declarations/panel/form.html", coalition=coalition, form=form, kind=kind, version=None, problem=problem
    ), status


@bp.route("/<slug>/deklaracja/nowa-wersja", methods=["GET", "POST"])
def new_text(slug):
    return _new_draft(slug, VersionKind.TEXT)


@bp.route("/<slug>/deklaracja/nowy-aneks", methods=["GET", "POST"])
def new_annex(slug):
    return _new_draft(slug, VersionKind.ANNEX)


@version_route()
def detail(slug, kind, number):
    """The preview of a draft, or a published version with its counts and (for an annex) who endorsed it."""
    coalition, version = _version_or_404(slug, kind, number)
    published_annex = version.is_annex and version.published_at is not None
    return render_template(
        "declarations/panel/detail.html",
        coalition=coalition,
        version=version,
        declaration=version.declaration,
        statistics=version_statistics(version.declaration),
        endorsements=endorsements_of(version) if published_annex else [],
        method_labels=ENDORSEMENT_METHOD_LABELS,
    )


def _published_already(coalition, version):
    flash(_("Ta wersja jest już opublikowana. Opublikowanej treści nie można zmienić: dodaj nową wersję lub aneks."), "error")
    return see_other(_detail_url(coalition, version))


@version_route("/edycja", methods=["GET", "POST"])
def edit(slug, kind, number):
    coalition, version = _version_or_404(slug, kind, number)
    if version.published_at is not None:
        return _published_already(coalition, version)
    form = VersionForm(obj=version if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            update_draft(version, form.title.data, form.body.data, current_user)
        except VersionPublished:
            return _published_already(coalition, version)
        flash(_("Szkic zapisany."), "success")
        return see_other(_detail_url(coalition, version))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "declarations/panel/form.html", coalition=coalition, form=form, kind=kind, version=version, problem=None
    ), status


@version_route("/publikacja", methods=["GET", "POST"])
def publish(slug, kind, number):
    """GET is the confirmation step (what publishing means); the POST publishes."""
    coalition, version = _version_or_404(slug, kind, number)
    if version.published_at is not None:
        return _published_already(coalition, version)
    if request.method == "POST":
        try:
            publish_version(version, current_user)
        except VersionPublished:
            return _published_already(coalition, version)
        if version.is_annex:
            flash(_("Aneks opublikowany. Możesz teraz zaprosić sojuszników i sojuszniczki do jego poparcia."), "success")
        else:
            flash(_("Nowa wersja opublikowana. Od teraz podpisuje się ją na stronie koalicji."), "success")
        return see_other(_detail_url(coalition, version))
    return render_template(
        "declarations/panel/publish.html", coalition=coalition, version=version, declaration=version.declaration
    )


@version_route("/zaproszenie", methods=["GET", "POST"])
def invite(slug, kind, number):
    """GET says how many people will get the invitation; the POST queues the e-mails."""
    coalition, version = _version_or_404(slug, kind, number)
    if not version.is_annex or version.published_at is None:
        abort(404)
    if request.method == "POST":
        sent = invite_to_endorse(version, current_user)
        flash(_("Zaproszenia czekają w kolejce do wysłania: %(count)d.", count=sent), "success")
        return see_other(_detail_url(coalition, version))
    return render_template(
        "declarations/panel/invite.html",
        coalition=coalition,
        version=version,
        recipients=len(invitation_recipients(version)),
        max_age_days=ENDORSE_LINK_MAX_AGE_DAYS,
    )
