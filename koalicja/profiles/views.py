"""The representative's side (the request for a link, the profile form), the public logo,
and the coordinators' moderation list."""
from flask import Blueprint, abort, current_app, flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..coalitions.loading import public_coalition_or_404
from ..coordinators.access import served_coalition_or_404
from ..extensions import csrf, db, limiter
from ..htmx import see_other
from ..security import noindex, submitted_mailbox
from ..signatures.forms import EmailOnlyForm
from ..tokens import TokenExpired, TokenInvalid
from .forms import ProfileForm
from .models import OrganisationProfile
from .operations import (
    PROFILE_LINK_MAX_AGE_DAYS,
    EntryNotApproved,
    ProfileNoLongerApplies,
    approve_profile,
    logo_path,
    pending_profile,
    profile_url,
    profiles_to_review,
    public_profile,
    reject_profile,
    send_profile_links,
    shown_profile,
    signature_for_profile,
    submit_profile,
)

bp = Blueprint("profiles", __name__)
panel_bp = Blueprint("profiles_panel", __name__, url_prefix="/panel/koalicje")
LOGO_CACHE_SECONDS = 86400  # a new logo is a new profile version, with its own address


def _logo_response(profile):
    """The logo as we drew it (images.py), under its stored type; never anything a browser would run."""
    path = logo_path(profile)
    if not profile.logo_file or not path.is_file():
        abort(404)
    response = current_app.response_class(path.read_bytes(), mimetype=profile.logo_content_type)
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Content-Disposition"] = "inline"
    return response


# ---- the representative -----------------------------------------------------------------------


@bp.route("/profil-organizacji", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("10 per 10 minutes", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=submitted_mailbox)
@noindex
def request_link():
    """Ask for the profile link by e-mail; the answer is the same whether the address signed or not."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        send_profile_links(form.email.data)
        session["signed_email"] = form.email.data
        return see_other(url_for("signatures.new_link_sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("profiles/request_link.html", form=form), status


def _link_problem(problem, coalition=None):
    return render_template(
        "profiles/link_problem.html", problem=problem, coalition=coalition, max_age_days=PROFILE_LINK_MAX_AGE_DAYS
    ), 410 if problem == "expired" else 400


@bp.route("/profil-organizacji/<token>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token: a stale one re-renders the form with a message
@noindex
def edit(token):
    try:
        signature = signature_for_profile(token)
    except TokenExpired:
        return _link_problem("expired")
    except TokenInvalid:
        return _link_problem("invalid")
    except EntryNotApproved:
        return _link_problem("not_approved")
    coalition = signature.declaration.coalition
    shown, waiting = shown_profile(signature.id), pending_profile(signature.id)
    current = waiting or shown
    form = ProfileForm(data={"website_url": current.website_url, "description": current.description} if current else None)
    if form.validate_on_submit():
        try:
            submit_profile(signature, form.website_url.data, form.description.data, logo=form.cleaned_logo)
        except EntryNotApproved:
            return _link_problem("not_approved", coalition)
        flash(_("Dziękujemy! Profil czeka na zatwierdzenie przez koordynację koalicji. "
                "Pokaże się na liście po zatwierdzeniu."), "success")
        return see_other(url_for("profiles.edit", token=token))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "profiles/edit.html", form=form, signature=signature, coalition=coalition, shown=shown, waiting=waiting, token=token
    ), status


@bp.get("/<slug>/sojusznicy/profil-<int:profile_id>/logo")
def logo(slug, profile_id):
    """An approved organisation's logo on the public list."""
    coalition = public_coalition_or_404(slug)
    profile = public_profile(coalition, profile_id)
    if profile is None:
        abort(404)
    response = _logo_response(profile)
    response.headers["Cache-Control"] = f"public, max-age={LOGO_CACHE_SECONDS}"
    return response


# ---- the coordinators ---------------------------------------------------------------------------


@panel_bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


def _served_profile_or_404(slug, profile_id):
    coalition = served_coalition_or_404(slug)
    profile = db.session.get(OrganisationProfile, profile_id)
    if profile is None or profile.signature.declaration.coalition_id != coalition.id:
        abort(404)
    return coalition, profile


@panel_bp.get("/<slug>/profile-organizacji")
def review(slug):
    coalition = served_coalition_or_404(slug)
    return render_template("profiles/panel/review.html", coalition=coalition, items=profiles_to_review(coalition))


@panel_bp.get("/<slug>/profile-organizacji/<int:profile_id>/logo")
def pending_logo(slug, profile_id):
    _coalition, profile = _served_profile_or_404(slug, profile_id)
    return _logo_response(profile)


@panel_bp.post("/<slug>/profile-organizacji/<int:profile_id>/<any(zatwierdz, odrzuc):decision>")
def decide(slug, profile_id, decision):
    coalition = served_coalition_or_404(slug)
    profile = db.session.get(OrganisationProfile, profile_id)
    if profile is not None and profile.signature.declaration.coalition_id != coalition.id:
        abort(404)
    name = profile.signature.organisation_name if profile is not None else ""
    try:
        if decision == "zatwierdz":
            approve_profile(profile_id, current_user)
            flash(_("Zatwierdzono profil: %(name)s. Jest już na liście sojuszników.", name=name), "success")
        else:
            reject_profile(profile_id, current_user)
            flash(_("Odrzucono zmianę profilu: %(name)s.", name=name), "success")
    except ProfileNoLongerApplies as refused:
        flash(str(refused.message), "error")
    return see_other(url_for("profiles_panel.review", slug=coalition.slug))


def init_app(app):
    # The approval e-mail (koalicja/signatures, a floor below) offers an organisation this link.
    app.jinja_env.globals["organisation_profile_url"] = profile_url
    app.register_blueprint(panel_bp)
    app.register_blueprint(bp)
