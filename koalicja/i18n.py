"""Languages: Polish (the source), English and Ukrainian.

The language is the `lang` cookie set by the switcher in every page's header, else the
best match in the browser's Accept-Language, else Polish. E-mails go out in the language
stored with each signature or registration (`flask_babel.force_locale`).
Catalogues: koalicja/translations/ (see README, "Languages and accessibility").
"""
from flask import Blueprint, current_app, has_request_context, redirect, request
from flask_babel import get_locale

from .security import safe_local_path

LANGUAGES = {"pl": "Polski", "en": "English", "uk": "Українська"}
DEFAULT_LANGUAGE = "pl"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 86400

bp = Blueprint("i18n", __name__)


def select_locale():
    if not has_request_context():
        return None  # commands and the mail sender: Polish unless force_locale says otherwise
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language():
    return str(get_locale() or DEFAULT_LANGUAGE)


@bp.get("/jezyk/<code>")
def switch_language(code):
    """Remember the language in a cookie and go back to the page the visitor was on (303)."""
    response = redirect(safe_local_path(request.args.get("next")), code=303)
    if code in LANGUAGES:
        response.set_cookie(
            COOKIE,
            code,
            max_age=COOKIE_MAX_AGE,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            httponly=True,
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def page_path():
    """This page's path and query, for the switcher's `next`."""
    path = request.full_path
    return path[:-1] if path.endswith("?") else path


def init_app(app):
    app.register_blueprint(bp)
    app.jinja_env.globals.update(languages=LANGUAGES, current_language=current_language, page_path=page_path)

    @app.after_request
    def vary_on_language(response):
        # A page's language follows the cookie or Accept-Language: caches must keep them apart.
        if response.mimetype == "text/html":
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response
