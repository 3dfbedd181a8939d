"""Defences that every page shares: response headers, bot traps, per-address rate-limit keys."""
import time
from urllib.parse import urlsplit

from flask import abort, current_app, request
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from .mail.addresses import mailbox_key

# No inline script or style anywhere: htmx is configured by a <meta> tag and its own
# indicator styles are off, so this policy needs no exceptions.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _has_nul(values):
    return any("\x00" in value for value in values)


def init_app(app):
    https = app.config["BASE_URL"].startswith("https://")

    @app.before_request
    def refuse_nul_bytes():
        # No text a person types contains NUL; PostgreSQL refuses it outright, so stop it here.
        if "\x00" in request.path or _has_nul(request.args.values()) or (
            request.method == "POST" and _has_nul(request.form.values())
        ):
            abort(400)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        # Links in e-mails carry tokens: never hand the full URL to another site.
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.blueprint in PANEL_BLUEPRINTS or request.endpoint in _TOKEN_PAGES:
            # Personal data and one-time links must not stay in shared caches or the back button.
            headers["Cache-Control"] = "no-store"
        return response


# Coordinators' pages: personal data, never kept by a browser or a proxy.
PANEL_BLUEPRINTS = frozenset(
    {"panel", "events_panel", "signatures_panel", "privacy", "admin", "coalitions_panel", "declarations_panel", "announcements"}
)
_TOKEN_PAGES = {
    "signatures.confirm", "signatures.withdraw", "events.confirm", "events.cancel", "events.confirmed",
    "declarations.endorse",  # names the signer, listed or not
}


def submitted_mailbox():
    """Rate-limit key: the mailbox typed into the form, so one address cannot be flooded from many IPs."""
    address = (request.form.get("email") or "").strip()
    return "mailbox:" + (mailbox_key(address) if "@" in address else address.lower())[:254]


def _clock():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="koalicja.form-clock")


class BotTrapMixin:
    """A honeypot field people never see and a signed start time: bots fill everything at once.

    Mixed into public forms. `is_bot` is set when the honeypot was filled (the view then
    pretends success and stores nothing); a form sent faster than MIN_FILL_SECONDS gets a
    polite error and keeps the person's answers.
    """

    MIN_FILL_SECONDS = 3

    website = StringField(_l("Zostaw to pole puste"))
    form_started = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted() or not self.form_started.data:
            self.form_started.data = _clock().dumps(time.time())

    @property
    def is_bot(self):
        return bool((self.website.data or "").strip())

    def validate_form_started(self, field):
        if not current_app.config.get("BOT_TRAP_ENABLED", True):
            return
        try:
            started = float(_clock().loads(field.data or ""))
        except (BadSignature, TypeError, ValueError):
            started = None
        if started is None or time.time() - started < self.MIN_FILL_SECONDS:
            field.data = _clock().dumps(time.time())
            raise ValidationError(_l("Formularz został wysłany bardzo szybko. Sprawdź dane i wyślij go jeszcze raz."))


def safe_local_path(target, default="/"):
    """`target` when it is a path on this site, else `default`: never `//host`, `/\\host` or a scheme."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 33 or ord(ch) == 127 for ch in target)  # browsers drop tabs and newlines
    ):
        return default
    return target


def local_page(url):
    """`url` (absolute or a path) as a path on this site that a GET opens, else None.

    For the `next` of the login page: the page a coordinator was on (htmx's `HX-Current-URL`,
    a form's Referer). Never another site (only this site's host or BASE_URL's), never a path
    `safe_local_path` refuses, and never a POST-only action, which would end on a 405.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        site_hosts = {request.host.lower(), urlsplit(current_app.config["BASE_URL"]).netloc.lower()}
        if parts.scheme not in {"http", "https"} or parts.netloc.lower() not in site_hosts:
            return None
    path = parts.path or "/"
    target = safe_local_path(f"{path}?{parts.query}" if parts.query else path, default=None)
    if target is None:
        return None
    try:
        current_app.create_url_adapter(request).match(path, method="GET")
    except RequestRedirect:
        pass  # a missing trailing slash: the GET still arrives
    except HTTPException:
        return None  # no such page, or one that only takes a POST
    return target
