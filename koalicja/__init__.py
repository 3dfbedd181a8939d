"""Koalicja: sign a coalition's declaration online, confirm by e-mail, approve, list allies."""
import os
from pathlib import Path

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.routing import IntegerConverter

from . import cli, i18n, profiles, proxies, security, serving, sharing
from . import htmx as htmx_helpers
from .config import load_config
from .extensions import babel, csrf, db, htmx, limiter, login_manager
from .text import render_markdown
from .uploads import megabytes

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DatabaseIntegerConverter(IntegerConverter):
    """`<int:…>` in every URL, bounded by what a database integer holds: SQLite raises on a
    larger number instead of finding nothing, so `/panel/podpisy/99999999999999999999/…` is a
    404 like any id that does not exist, never a 500."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(test_config=None):
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.url_map.converters["int"] = DatabaseIntegerConverter  # before any rule is added
    load_config(app, test_config)

    db.init_app(app)
    _tune_sqlite(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    htmx.init_app(app)
    limiter.init_app(app)
    _init_migrations(app)
    _init_login(app)

    from . import models  # noqa: F401  (every table known before the first query)
    from .announcements.views import bp as announcements_bp
    from .consultations.meeting_decisions import bp as consultations_meetings_bp
    from .consultations.panel import bp as consultations_panel_bp
    from .consultations.views import bp as consultations_bp
    from .declarations.panel import bp as declarations_panel_bp
    from .declarations.views import bp as declarations_bp
    from .events.panel import bp as events_panel_bp
    from .events.door import bp as events_door_bp
    from .events.kiosk import bp as events_kiosk_bp
    from .events.printouts import bp as events_print_bp
    from .events.views import bp as events_bp
    from .panel.admin import bp as admin_bp
    from .panel.coalitions import bp as coalitions_panel_bp
    from .panel.people import bp as people_bp
    from .panel.views import bp as panel_bp
    from .privacy.views import bp as privacy_bp
    from .reports.views import bp as reports_bp
    from .reach.views import bp as reach_bp
    from .signatures.panel import bp as signatures_panel_bp
    from .signatures.views import bp as signatures_bp

    # The panel's fixed prefix must win over the coalition slug routes.
    i18n.init_app(app)  # /jezyk/<code> before the coalition slug routes
    app.register_blueprint(panel_bp)
    app.register_blueprint(coalitions_panel_bp)
    app.register_blueprint(declarations_panel_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(events_panel_bp)
    app.register_blueprint(consultations_panel_bp)
    app.register_blueprint(consultations_meetings_bp)  # decisions taken at members' meetings
    app.register_blueprint(events_print_bp)
    app.register_blueprint(events_door_bp)
    app.register_blueprint(events_kiosk_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(signatures_panel_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(consultations_bp)  # the members' side: list, pages, the ballot by personal link
    app.register_blueprint(announcements_bp)
    app.register_blueprint(reach_bp)  # widgets, the read API and the feeds (koalicja/reach/)
    app.register_blueprint(signatures_bp)
    app.register_blueprint(declarations_bp)
    sharing.init_app(app)  # the share image, /sitemap.xml, /robots.txt (koalicja/sharing/)
    profiles.init_app(app)  # organisation profiles: the link, the form, the logo, the moderation list

    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["site_coalition"] = _only_coalition
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["datetime"] = lambda value: format_datetime(value, "d MMMM y, HH:mm") if value else ""
    app.jinja_env.filters["date"] = lambda value: format_date(value, "d MMMM y") if value else ""
    app.jinja_env.filters["time_range"] = time_range
    _register_error_pages(app)
    htmx_helpers.init_app(app)
    security.init_app(app)
    serving.init_app(app)  # cached pages and their HTTP caching, static files, gzip, /zdrowie, access log (koalicja/serving/)
    cli.init_app(app)
    proxies.init_app(app)  # last: the outermost layer (TRUSTED_PROXIES, koalicja/proxies.py)
    return app


def _only_coalition():
    from .coalitions.loading import all_coalitions

    coalitions = all_coalitions()
    return coalitions[0] if len(coalitions) == 1 else None


def _former_address_redirect():
    """A page under a coalition's former address, found at its current one.

    302, not 301: browsers keep a 301 for good, and a coalition may take its old address
    back, which would then send them round in a circle.
    """
    from .declarations.settings import current_path

    if request.method not in {"GET", "HEAD"}:
        return None
    try:
        path = current_path(request.path)
    except SQLAlchemyError:
        db.session.rollback()
        return None
    if path is None:
        return None
    query = request.query_string.decode("latin-1")
    return redirect(f"{path}?{query}" if query else path, 302)


def time_range(start, end):
    """'12 grudnia 2026, 11:00–15:00', or both dates when the event spans days (Warsaw time)."""
    if format_date(start) == format_date(end):
        return f"{format_datetime(start, 'd MMMM y, HH:mm')}–{format_datetime(end, 'HH:mm')}"
    return f"{format_datetime(start, 'd MMMM y, HH:mm')} – {format_datetime(end, 'd MMMM y, HH:mm')}"


def _tune_sqlite(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    busy_timeout = int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000))

    def pragmas(connection, _record):
        cursor = connection.cursor()
        # WAL lets pages be read while a registration is written; writers wait for each other
        # (busy_timeout) instead of failing, which the event-capacity lock relies on.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is still safe against corruption; it skips the fsync of each commit
        # (done at checkpoints instead), so a power cut can lose the last commits, never the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    with app.app_context():
        sqlalchemy_event.listen(db.engine, "connect", pragmas)


def _init_migrations(app):
    """Flask-Migrate for `flask db …`, `init-db` and the tests. It brings Alembic, Mako and
    Pygments (about 10 MB per process), which a web worker never uses: under gunicorn
    (koalicja/gunicorn_conf.py sets KOALICJA_WEB_SERVER=1) it is left out."""
    if os.environ.get("KOALICJA_WEB_SERVER") == "1":
        return
    from flask_migrate import Migrate

    Migrate(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)


def _init_login(app):
    from flask_login import user_logged_out

    from .panel.operations import end_sessions_on_logout, load_coordinator

    login_manager.init_app(app)
    login_manager.login_view = "panel.login"
    login_manager.login_message = _l("Zaloguj się, aby zobaczyć tę stronę.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_coordinator)
    login_manager.unauthorized_handler(_login_needed)
    user_logged_out.connect(end_sessions_on_logout, app)  # `Wyloguj` ends the session on the server


def _login_needed():
    """A panel page without a signed-in coordinator (never signed in, logged out, or signed out
    by a password change elsewhere): to the login page, and afterwards back to a page a GET opens.

    An htmx request gets `HX-Redirect` (a 302 would be followed by the XHR and the login page
    swapped into a table row); its `next` is the page it was sent from (`HX-Current-URL`), not
    the action's URL. A plain POST goes back to the page that sent the form (Referer), never to
    the POST-only action, which would answer 405 after logging in.
    """
    flash(str(login_manager.login_message), login_manager.login_message_category)
    if htmx:
        back = security.local_page(htmx_helpers.current_url())
    elif request.method in {"GET", "HEAD"}:
        back = security.local_page(request.full_path.rstrip("?"))
    else:
        back = security.local_page(request.referrer)
    login = url_for(login_manager.login_view, next=back or url_for("panel.index"))
    if htmx:
        return htmx_helpers.client_redirect(login, 401)
    return redirect(login, 302 if request.method in {"GET", "HEAD"} else 303)


def _register_error_pages(app):
    def error_page(status, title, message):
        return render_template("errors/error.html", title=title, message=message), status

    @app.errorhandler(400)
    def bad_request(error):
        return error_page(400, _l("Nieprawidłowe żądanie"), _l("Nie udało się przetworzyć tego żądania."))

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        if htmx and request.blueprint in security.PANEL_BLUEPRINTS and not current_user.is_authenticated:
            return login_manager.unauthorized()  # the session is gone altogether: log in, not a silent 400
        return error_page(
            400,
            _l("Formularz wygasł"),
            _l("Ze względów bezpieczeństwa formularz ważny jest tylko przez pewien czas. Wróć, odśwież stronę i spróbuj ponownie."),
        )

    @app.errorhandler(404)
    def not_found(error):
        moved_to = _former_address_redirect()
        if moved_to:
            return moved_to
        return error_page(404, _l("Nie ma takiej strony"), _l("Sprawdź adres albo wróć na stronę główną."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        return error_page(405, _l("Nieprawidłowe żądanie"), _l("Tej strony nie można otworzyć w ten sposób."))

    @app.errorhandler(413)
    def too_large(error):
        return error_page(
            413,
            _l("Plik jest za duży"),
            _l(
                "Wysłany plik jest za duży: całe zgłoszenie może mieć najwyżej %(limit)s MB. Nic nie zostało zapisane. "
                "Wróć, wybierz mniejszy plik (np. skan w niższej rozdzielczości) i wyślij formularz jeszcze raz.",
                limit=megabytes(app.config["MAX_CONTENT_LENGTH"]),
            ),
        )

    @app.errorhandler(429)
    def too_many_requests(error):
        return error_page(429, _l("Za dużo prób"), _l("Wysłano zbyt wiele zgłoszeń w krótkim czasie. Odczekaj kilka minut i spróbuj ponownie."))

    @app.errorhandler(OperationalError)
    def database_busy(error):
        db.session.rollback()
        app.logger.exception("database unavailable")
        return error_page(503, _l("Chwilowa przerwa"), _l("Baza danych jest chwilowo zajęta. Nic nie zostało utracone: spróbuj ponownie za chwilę."))

    @app.errorhandler(OSError)
    def storage_unavailable(error):
        # A file that could not be written (a full disk, no permission): uploads.write_private_file
        # has removed its temporary file, and the rollback drops what the request had changed.
        db.session.rollback()
        app.logger.exception("file could not be written")
        return error_page(
            503,
            _l("Chwilowa przerwa"),
            _l(
                "Serwer nie mógł teraz zapisać pliku (np. zabrakło miejsca na dysku). Nic nie zostało zapisane. "
                "Spróbuj ponownie później, a jeśli to się powtarza, napisz do osoby, która prowadzi serwis."
            ),
        )

    @app.errorhandler(500)
    def server_error(error):
        return error_page(500, _l("Coś poszło nie tak"), _l("Przepraszamy, wystąpił błąd. Spróbuj ponownie za chwilę."))
