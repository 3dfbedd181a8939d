from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _

from ..coalitions.loading import all_coalitions, privacy_notice_text, public_coalition_or_404
from ..coalitions.models import VersionKind
from ..htmx import render_page_or_fragment, see_other, wants_fragment
from ..profiles.operations import shown_profiles
from ..serving import cached_page
from ..signatures.districts import DISTRICT_SLUGS, district_from_slug
from ..signatures.notifications import ENDORSE_LINK_MAX_AGE_DAYS
from ..text import HEX_COLOUR, contrast_with_white, render_markdown
from ..tokens import TokenExpired, TokenInvalid
from .operations import (
    ORDER_CHOICES,
    ORDER_NEWEST,
    WHO_CHOICES,
    CannotEndorse,
    allies_per_coalition,
    count_allies,
    current_version_id,
    district_counts,
    endorse_annex,
    endorsement_by,
    endorsement_request,
    find_version,
    list_allies,
    signatories_of,
)

bp = Blueprint("declarations", __name__)


@bp.get("/")
@cached_page
def index():
    coalitions = all_coalitions()
    if len(coalitions) == 1:
        return redirect(url_for("declarations.home", slug=coalitions[0].slug))
    return render_template("declarations/index.html", coalitions=coalitions, allies=allies_per_coalition())


@bp.get("/<slug>/")
@cached_page
def home(slug):
    coalition = public_coalition_or_404(slug)
    # Only drafts so far: nothing to read or sign yet.
    declaration = coalition.current_declaration if coalition.open_for_signing else None
    return render_template(
        "declarations/home.html",
        coalition=coalition,
        declaration=declaration,
        declaration_html=render_markdown(declaration.body if declaration else ""),
        description_html=render_markdown(coalition.description),
        allies_count=count_allies(coalition),
    )


@bp.get("/<slug>/sojusznicy")
@cached_page
def allies(slug):
    coalition = public_coalition_or_404(slug)
    query = request.args.get("q", "")[:100]
    who = request.args.get("kto", "")
    if who not in dict(WHO_CHOICES):
        who = ""
    order = request.args.get("kolejnosc", ORDER_NEWEST)
    if order not in dict(ORDER_CHOICES):
        order = ORDER_NEWEST
    district = district_from_slug(request.args.get("dzielnica"))
    district_param = request.args.get("dzielnica") if district else ""
    page = list_allies(coalition, query=query, who=who, order=order, page=request.args.get("strona"), district=district)
    return render_page_or_fragment(
        "declarations/allies.html",
        "declarations/_allies_results.html",
        coalition=coalition,
        allies=page,
        # Entries signed under an older text say so on the list.
        current_version_id=current_version_id(coalition),
        # Organisations with an approved profile show as cards (logo, website, description).
        profiles=shown_profiles([ally.id for ally in page.items]),
        query=query,
        who=who,
        order=order,
        who_choices=WHO_CHOICES,
        order_choices=ORDER_CHOICES,
        allies_count=count_allies(coalition),
        district=district,
        district_param=district_param,
        district_slugs=DISTRICT_SLUGS,
        # The per-district summary and the filter belong to the page, not to the results htmx swaps.
        districts=[] if wants_fragment() else district_counts(coalition),
    )


@bp.get("/<slug>/prywatnosc")
@cached_page
def privacy(slug):
    coalition = public_coalition_or_404(slug)
    return render_template(
        "declarations/privacy.html", coalition=coalition, notice_html=render_markdown(privacy_notice_text(coalition))
    )


DEFAULT_BRAND_COLOUR = "#1d5c4d"


def brand_colour(coalition):
    """The coalition's colour when white text on it passes WCAG AA (4.5:1), else the default."""
    colour = coalition.brand_colour or ""
    if HEX_COLOUR.match(colour) and contrast_with_white(colour) >= 4.5:
        return colour.lower()
    return DEFAULT_BRAND_COLOUR


@bp.get("/<slug>/kolory.css")
def colours(slug):
    """The coalition's colours as a stylesheet: the CSP allows no inline styles."""
    coalition = public_coalition_or_404(slug)
    response = make_response(f":root {{ --brand: {brand_colour(coalition)}; --brand-dark: {brand_colour(coalition)}; }}\n")
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# ---- versions and annexes, endorsement by e-mail ---------------------------------------------


def _declaration_or_404(coalition):
    declaration = coalition.current_declaration
    if declaration is None or declaration.current_version is None:
        abort(404)
    return declaration


@bp.get("/<slug>/deklaracja/wersje")
@cached_page
def versions(slug):
    coalition = public_coalition_or_404(slug)
    return render_template("declarations/versions.html", coalition=coalition, declaration=_declaration_or_404(coalition))


@bp.get("/<slug>/deklaracja/wersja-<int:number>", defaults={"kind": VersionKind.TEXT.value})
@bp.get("/<slug>/deklaracja/aneks-<int:number>", defaults={"kind": VersionKind.ANNEX.value})
@cached_page
def version(slug, kind, number):
    """A published text or annex, readable for ever at its own address; drafts are not there."""
    coalition = public_coalition_or_404(slug)
    declaration = _declaration_or_404(coalition)
    shown = find_version(declaration, kind, number)
    if shown is None:
        abort(404)
    return render_template("declarations/version.html", coalition=coalition, declaration=declaration, version=shown)


# Empty numbered rows under the signatories, for partners who sign the printed copy by hand.
BLANK_SIGNATURE_ROWS = 5


@bp.get("/<slug>/deklaracja/druk")
@cached_page
def printable(slug):
    """The text with its signatories as a "PARTNER / PODPIS" table, laid out for paper.

    `?wersja=<n>` prints an earlier published text with the people who signed that one.
    """
    coalition = public_coalition_or_404(slug)
    declaration = _declaration_or_404(coalition)
    number = request.args.get("wersja")
    if number is None:
        shown = declaration.current_version
    elif number.isascii() and number.isdigit() and len(number) < 7:
        shown = find_version(declaration, VersionKind.TEXT, int(number))
    else:
        shown = None
    if shown is None:
        abort(404)
    return render_template(
        "declarations/print.html",
        coalition=coalition,
        version=shown,
        signatories=signatories_of(shown),
        blank_rows=BLANK_SIGNATURE_ROWS,
    )


@bp.route("/poparcie/<token>", methods=["GET", "POST"])
def endorse(token):
    """GET shows the annex and one button (mail scanners open links); the POST records the endorsement."""
    try:
        signature, annex = endorsement_request(token)
    except TokenExpired:
        return _endorsement_link_problem("expired")
    except TokenInvalid:
        return _endorsement_link_problem("invalid")
    except CannotEndorse as refused:
        return _endorsement_link_problem("withdrawn", coalition=refused.annex.declaration.coalition)
    if request.method == "POST":
        try:
            _endorsement, created = endorse_annex(signature, annex)
        except CannotEndorse as refused:  # withdrawn (or no longer approved) since the page was opened
            return _endorsement_link_problem("withdrawn", coalition=refused.annex.declaration.coalition)
        if created:
            flash(_("Dziękujemy! Zapisaliśmy Twoje poparcie aneksu."), "success")
        else:
            flash(_("Poparcie już zapisane. Nie musisz nic więcej robić."), "success")
        return see_other(url_for("declarations.endorse", token=token))
    return render_template(
        "declarations/endorse.html",
        signature=signature,
        annex=annex,
        coalition=annex.declaration.coalition,
        endorsement=endorsement_by(signature, annex),
    )


def _endorsement_link_problem(problem, coalition=None):
    status = 400 if problem == "invalid" else 410
    return (
        render_template(
            "declarations/endorse_problem.html",
            problem=problem,
            coalition=coalition,
            max_age_days=ENDORSE_LINK_MAX_AGE_DAYS,
        ),
        status,
    )


@bp.get("/<slug>/logo")
def logo(slug):
    """An uploaded logo, from instance/logos (uploads never go into static/)."""
    coalition = public_coalition_or_404(slug)
    if not coalition.logo:
        abort(404)
    response = send_from_directory(current_app.config["LOGO_FOLDER"], coalition.logo, max_age=86400)
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response
