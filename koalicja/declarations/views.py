from flask import Blueprint, abort, redirect, render_template, request, url_for

from ..htmx import render_page_or_fragment
from ..text import render_markdown
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
