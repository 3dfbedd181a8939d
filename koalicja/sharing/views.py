"""The share image, /sitemap.xml and /robots.txt."""
import threading
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from markupsafe import Markup
from sqlalchemy import select

from ..coalitions.loading import all_coalitions, public_coalition_or_404
from ..declarations.operations import count_allies
from ..declarations.views import brand_colour
from ..events.models import Event, EventStatus
from ..extensions import db
from ..i18n import LANGUAGES, current_language
from ..links import external_url
from ..security import PANEL_BLUEPRINTS, endpoint_is_noindex
from ..serving import cached_page, data_version
from ..text import render_markdown
from ..uploads import private_folder, write_private_file
from .image import draw_share_image

bp = Blueprint("sharing", __name__)

# A year: the image's URL changes with the data version, so the bytes under one URL never do.
IMMUTABLE = "public, max-age=31536000, immutable"
DESCRIPTION_LENGTH = 200
_render_lock = threading.Lock()


# ---- share image ------------------------------------------------------------------------------


def _image_path(coalition, language, version):
    return Path(current_app.config["SHARE_IMAGE_FOLDER"]) / f"{coalition.id}-{language}-{version}.png"


def _render(coalition, language, path):
    """Draw the image into `path` (a temporary file first) and drop this coalition's older ones."""
    logo = Path(current_app.config["LOGO_FOLDER"]) / coalition.logo if coalition.logo else None
    count = count_allies(coalition)
    with force_locale(language):
        allies_line = ngettext("%(num)d sojusznik lub sojuszniczka", "%(num)d sojuszników i sojuszniczek", count)
    address = f"{urlsplit(current_app.config['BASE_URL']).netloc}/{coalition.slug}/"
    image = draw_share_image(coalition.name, allies_line, address, brand_colour(coalition), logo)
    write_private_file(path, lambda file: image.save(file, "PNG", optimize=True))
    for older in path.parent.glob(f"{coalition.id}-{language}-*.png"):
        if older != path:
            older.unlink(missing_ok=True)


def _image_bytes(coalition, language, version):
    """The PNG (some 30 KB) from disk, drawn first when no request has drawn it yet. One drawing
    per worker at a time; another worker's copy replaces it whole (os.replace), and a copy that a
    newer version's drawing just deleted is drawn again."""
    path = _image_path(coalition, language, version)
    for _attempt in range(2):
        if not path.is_file():
            with _render_lock:
                if not path.is_file():
                    private_folder(path.parent)
                    _render(coalition, language, path)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            continue
    abort(503)


@bp.get("/<slug>/obraz-<lang>-<int:version>.png")
def share_image(slug, lang, version):
    """The image for this data version, drawn by the first request that asks for it and then
    read from disk (SHARE_IMAGE_FOLDER); any other version is sent to the current one."""
    coalition = public_coalition_or_404(slug)
    if lang not in LANGUAGES:
        abort(404)
    current = data_version()
    if current is None:
        abort(503)
    if version != current:
        return redirect(url_for("sharing.share_image", slug=coalition.slug, lang=lang, version=current), 302)
    response = current_app.response_class(_image_bytes(coalition, lang, version), mimetype="image/png")
    response.add_etag()
    response.make_conditional(request)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def share_image_url(coalition):
    """The absolute URL of the coalition's share image as of the data version this page shows."""
    version = data_version()
    if version is None:
        return None
    return external_url("sharing.share_image", slug=coalition.slug, lang=current_language(), version=version)


def plain_summary(markdown_text, length=DESCRIPTION_LENGTH):
    """A Markdown text as one plain line of at most `length` characters, for a meta description."""
    text = " ".join(Markup(render_markdown(markdown_text or "")).striptags().split())
    if len(text) <= length:
        return text
    return text[: length - 1].rsplit(" ", 1)[0] + "…"


# ---- sitemap.xml and robots.txt -------------------------------------------------------------


def _sitemap_entries():
    """(absolute URL, last change or None) of every public page worth listing, per coalition."""
    coalitions = all_coalitions()
    if len(coalitions) > 1:
        yield external_url("declarations.index"), None
    events = db.session.scalars(
        select(Event).where(Event.status == EventStatus.PUBLISHED).order_by(Event.coalition_id, Event.starts_at)
    ).all()
    for coalition in coalitions:
        slug = coalition.slug
        yield external_url("declarations.home", slug=slug), None
        yield external_url("declarations.allies", slug=slug), None
        declaration = coalition.current_declaration
        if coalition.open_for_signing and declaration is not None and declaration.current_version is not None:
            yield external_url("declarations.versions", slug=slug), None
            for version in (*declaration.text_versions, *declaration.annexes):
                url = external_url("declarations.version", slug=slug, kind=version.kind, number=version.number)
                yield url, version.published_at
        yield external_url("events.index", slug=slug), None
        for event in events:
            if event.coalition_id == coalition.id:
                yield external_url("events.detail", slug=slug, event_slug=event.slug), None


@bp.get("/sitemap.xml")
@cached_page
def sitemap():
    response = make_response(render_template("sharing/sitemap.xml", entries=list(_sitemap_entries())))
    response.mimetype = "application/xml"
    return response


def _disallowed_paths():
    """robots.txt's Disallow lines, read from the URL map: every page that is never indexed
    (the panel, one-time links and what `@noindex` marks, koalicja/security.py), with `*` for
    a part of the address that varies (a coalition, a token)."""
    paths = set()
    for rule in current_app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if rule.rule.startswith("/panel/") and blueprint in PANEL_BLUEPRINTS:
            paths.add("/panel/")
            continue
        if not endpoint_is_noindex(rule.endpoint):
            continue
        pattern = "".join("*" if is_variable else text for is_variable, text in _rule_parts(rule.rule)).rstrip("*")
        if pattern.strip("/*"):  # never "/" or "/*": that would hide every page
            paths.add(pattern)
    # A path that starts with a listed one is covered by it already.
    return sorted(path for path in paths if not any(path != other and path.startswith(other) for other in paths))


def _rule_parts(rule):
    """(is a variable, text) for each piece of a werkzeug rule such as `/<slug>/dziekujemy`."""
    while rule:
        start = rule.find("<")
        if start == -1:
            yield False, rule
            return
        if start:
            yield False, rule[:start]
        end = rule.index(">", start)
        yield True, rule[start : end + 1]
        rule = rule[end + 1 :]


@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in _disallowed_paths()), "",
             f"Sitemap: {external_url('sharing.sitemap')}", ""]
    response = make_response("\n".join(lines))
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def init_app(app):
    app.config.setdefault("SHARE_IMAGE_FOLDER", str(Path(app.instance_path) / "share-images"))
    app.jinja_env.globals["share_image_url"] = share_image_url
    app.jinja_env.globals["public_url"] = external_url  # og:url: the address under BASE_URL
    app.jinja_env.filters["plain_summary"] = plain_summary
    app.register_blueprint(bp)
