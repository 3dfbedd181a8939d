"""The coordinator's page of one coalition: everything they can do for it, in one place."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..coordinators.access import coalitions_served, served_coalition_or_404
from ..declarations.operations import allies_per_coalition, count_allies, export_allies
from ..exports import attachment, spreadsheet_attachment

bp = Blueprint("coalitions_panel", __name__, url_prefix="/panel/koalicje")


@bp.before_request
@login_required
def require_login():
    """Every page here is for coordinators only."""


@bp.get("/")
def index():
    coalitions = coalitions_served()
    return render_template(
        "panel/coalitions.html", coalitions=coalitions, allies=allies_per_coalition()
    )


@bp.get("/<slug>/")
def detail(slug):
    coalition = served_coalition_or_404(slug)
    return render_template("panel/coalition.html", coalition=coalition, allies_count=count_allies(coalition))


@bp.get("/<slug>/osadz")
def embed(slug):
    """The snippets that put the coalition's widgets on another site (koalicja/reach/), each
    with a live preview, and the sites an administrator allowed to frame them."""
    coalition = served_coalition_or_404(slug)
    return render_template("panel/embed.html", coalition=coalition, origins=coalition.embed_origins.split())


@bp.get("/<slug>/sojusznicy.<any(csv, xlsx, json):file_format>")
def export_allies_file(slug, file_format):
    """Every approved ally of the coalition, listed publicly or not; each download is audited."""
    coalition = served_coalition_or_404(slug)
    document = export_allies(coalition, file_format, current_user)
    name = f"sojusznicy-{coalition.slug}"
    if file_format == "json":
        return attachment(document, f"{name}.json", "application/json")
    return spreadsheet_attachment(document, file_format, name)
