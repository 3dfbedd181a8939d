import re

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from ..htmx import render_page_or_fragment
from ..text import contrast_with_white, render_markdown
from .operations import (
    ORDER_CHOICES,
    ORDER_NEWEST,
    WHO_CHOICES,
    all_coalitions,
    coalition_by_slug,
    count_allies,
    list_allies,
    privacy_notice_text,
)

bp = Blueprint("declarations", __name__)


def _coalition_or_404(slug):
    coalition = coalition_by_slug(slug)
    if coalition is None:
        abort(404)
    return coalition


@bp.get("/")
def index():
    coalitions = all_coalitions()
    if len(coalitions) == 1:
        return redirect(url_for("declarations.home", slug=coalitions[0].slug))
    return render_template("declarations/index.html", coalitions=coalitions)


@bp.get("/<slug>/")
def home(slug):
    coalition = _coalition_or_404(slug)
    declaration = coalition.current_declaration
    return render_template(
        "declarations/home.html",
        coalition=coalition,
        declaration=declaration,
        declaration_html=render_markdown(declaration.body if declaration else ""),
        description_html=render_markdown(coalition.description),
        allies_count=count_allies(coalition),
    )


def _page_number(raw):
    return int(raw) if raw and raw.isdigit() and len(raw) < 7 else 1


@bp.get("/<slug>/sojusznicy")
def allies(slug):
    coalition = _coalition_or_404(slug)
    query = request.args.get("q", "")[:100]
    who = request.args.get("kto", "")
    if who not in dict(WHO_CHOICES):
        who = ""
    order = request.args.get("kolejnosc", ORDER_NEWEST)
    if order not in dict(ORDER_CHOICES):
        order = ORDER_NEWEST
    page = list_allies(
        coalition, query=query, who=who, order=order, page=_page_number(request.args.get("strona"))
    )
    return render_page_or_fragment(
        "declarations/allies.html",
        "declarations/_allies_results.html",
        coalition=coalition,
        allies=page,
        query=query,
        who=who,
        order=order,
        who_choices=WHO_CHOICES,
        order_choices=ORDER_CHOICES,
        allies_count=count_allies(coalition),
    )


@bp.get("/<slug>/prywatnosc")
def privacy(slug):
    coalition = _coalition_or_404(slug)
    return render_template(
        "declarations/privacy.html", coalition=coalition, notice_html=render_markdown(privacy_notice_text(coalition))
    )


DEFAULT_BRAND_COLOUR = "#1d5c4d"
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def brand_colour(coalition):
    """The coalition's colour when white text on it passes WCAG AA (4.5:1), else the default."""
    colour = coalition.brand_colour or ""
    if _HEX_COLOUR.match(colour) and contrast_with_white(colour) >= 4.5:
        return colour.lower()
    return DEFAULT_BRAND_COLOUR


@bp.get("/<slug>/kolory.css")
def colours(slug):
    """The coalition's colours as a stylesheet: the CSP allows no inline styles."""
    coalition = _coalition_or_404(slug)
    response = make_response(f":root {{ --brand: {brand_colour(coalition)}; --brand-dark: {brand_colour(coalition)}; }}\n")
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
