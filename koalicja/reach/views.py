"""The coalition beyond its own site: widgets other sites frame, a badge, a read API, feeds.

Every answer here is public and the same for everyone (`@cached_page`: ETag, 304, `public,
max-age, stale-while-revalidate`). The widgets (`/<slug>/osadz/…`) hold no form: their
buttons open our pages in a new tab, so nobody signs inside someone else's frame. Who may
frame them is the coalition's own list (`embed_origins`), sent as `frame-ancestors` on
every answer, a kept page's or a 304 too, since browsers and nginx keep the headers with
the page. The JSON documents and the feeds may be read from any origin (CORS `*`).
"""
from flask import Blueprint, jsonify, make_response, render_template, request, url_for
from flask_babel import ngettext
from sqlalchemy import select

from ..coalitions.loading import public_coalition_or_404
from ..coalitions.models import Coalition
from ..declarations.operations import ally_counts, list_allies
from ..declarations.views import brand_colour
from ..extensions import db
from ..security import framing_policy, noindex
from ..serving import cached_page
from . import feeds
from .operations import (
    API_ALLIES_PER_PAGE,
    EMBED_ALLIES_PER_PAGE,
    EMBED_EVENTS,
    allies_document,
    count_document,
    events_document,
    next_events,
    public_announcements,
)

bp = Blueprint("reach", __name__)

# The pages other sites may show in a frame, and the documents any site may read.
FRAMED = frozenset({"reach.embed_allies", "reach.embed_counter", "reach.embed_events"})
OPEN_TO_ALL_ORIGINS = frozenset(
    {"reach.count_json", "reach.allies_json", "reach.events_json", "reach.badge", "reach.announcements_feed", "reach.events_feed"}
)
ATOM = "application/atom+xml"


def framed(coalition, page):
    """A widget's page with the coalition's `frame-ancestors`. Kept with the page by this
    worker's cache: any change to the coalition is a new data version, so a kept page's
    list is the current one."""
    response = make_response(page)
    response.headers["Content-Security-Policy"] = framing_policy(coalition.embed_origins.split())
    return response


@bp.after_request
def reach_headers(response):
    if request.endpoint in FRAMED and response.status_code == 304:
        # A 304 comes without the view; the browser merges its headers into the copy it
        # keeps, so it must carry the same policy (one small query).
        origins = db.session.scalar(select(Coalition.embed_origins).where(Coalition.slug == request.view_args["slug"]))
        response.headers["Content-Security-Policy"] = framing_policy((origins or "").split())
    elif request.endpoint in OPEN_TO_ALL_ORIGINS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
    return response


def allies_label(count):
    return ngettext("%(num)d sojusznik lub sojuszniczka", "%(num)d sojuszników i sojuszniczek", count)


# ---- widgets -------------------------------------------------------------------------------


@bp.get("/<slug>/osadz/sojusznicy")
@noindex
@cached_page
def embed_allies(slug):
    coalition = public_coalition_or_404(slug)
    return framed(
        coalition,
        render_template(
            "reach/embed_allies.html",
            coalition=coalition,
            allies=list_allies(coalition, page=request.args.get("strona"), per_page=EMBED_ALLIES_PER_PAGE),
            counts=ally_counts(coalition),
        ),
    )


@bp.get("/<slug>/osadz/licznik")
@noindex
@cached_page
def embed_counter(slug):
    coalition = public_coalition_or_404(slug)
    return framed(coalition, render_template("reach/embed_counter.html", coalition=coalition, counts=ally_counts(coalition)))


@bp.get("/<slug>/osadz/wydarzenia")
@noindex
@cached_page(clock=True)
def embed_events(slug):
    coalition = public_coalition_or_404(slug)
    upcoming = next_events(coalition, EMBED_EVENTS)
    return framed(coalition, render_template("reach/embed_events.html", coalition=coalition, upcoming=upcoming))


# Width of the badge's text per character at 11 px (Verdana-like), generous for Polish letters.
BADGE_CHARACTER_WIDTH = 7


@bp.get("/<slug>/osadz/licznik.svg")
@cached_page
def badge(slug):
    """The count as an image, for sites that allow no frames: a link with this badge inside."""
    coalition = public_coalition_or_404(slug)
    label = allies_label(ally_counts(coalition).total)
    response = make_response(
        render_template(
            "reach/badge.svg",
            label=label,
            title=f"{label} · {coalition.name}",
            width=20 + BADGE_CHARACTER_WIDTH * len(label),
            colour=brand_colour(coalition),
        )
    )
    response.mimetype = "image/svg+xml"
    return response


# ---- the home page's live counter ------------------------------------------------------------


@bp.get("/<slug>/licznik")
@cached_page
def live_count(slug):
    """The home page's count, which it asks for again every minute while the tab is visible."""
    coalition = public_coalition_or_404(slug)
    return render_template("declarations/_allies_count.html", coalition=coalition, allies_count=ally_counts(coalition).total)


# ---- the read API ----------------------------------------------------------------------------


@bp.get("/<slug>/count.json")
@cached_page
def count_json(slug):
    coalition = public_coalition_or_404(slug)
    return jsonify(count_document(coalition, ally_counts(coalition)))


@bp.get("/<slug>/sojusznicy.json")
@cached_page
def allies_json(slug):
    """The published list as the public page shows it, newest first, `?strona=N` as there."""
    coalition = public_coalition_or_404(slug)
    page = list_allies(coalition, page=request.args.get("strona"), per_page=API_ALLIES_PER_PAGE)
    return jsonify(
        allies_document(coalition, page, lambda number: url_for("reach.allies_json", slug=slug, strona=number, _external=True))
    )


@bp.get("/<slug>/wydarzenia.json")
@cached_page(clock=True)
def events_json(slug):
    coalition = public_coalition_or_404(slug)
    return jsonify(
        events_document(
            coalition,
            next_events(coalition),
            lambda event, endpoint: url_for(endpoint, slug=slug, event_slug=event.slug, _external=True),
        )
    )


# ---- public announcements and the feeds ------------------------------------------------------


@bp.get("/<slug>/komunikaty")
@cached_page
def announcements(slug):
    coalition = public_coalition_or_404(slug)
    return render_template("reach/announcements.html", coalition=coalition, announcements=public_announcements(coalition))


@bp.get("/<slug>/komunikaty.atom")
@cached_page
def announcements_feed(slug):
    coalition = public_coalition_or_404(slug)
    response = make_response(feeds.announcements_feed(coalition, public_announcements(coalition)))
    response.mimetype = ATOM
    return response


@bp.get("/<slug>/wydarzenia.atom")
@cached_page(clock=True)
def events_feed(slug):
    coalition = public_coalition_or_404(slug)
    response = make_response(feeds.events_feed(coalition, next_events(coalition)))
    response.mimetype = ATOM
    return response
