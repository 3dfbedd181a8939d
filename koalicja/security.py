"""Defences that every page shares: response headers, bot traps, per-address rate-limit keys."""
import hashlib
import re
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import abort, current_app, request, session
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import String, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from .extensions import db
from .mail.addresses import mailbox_key
from .timeutil import utcnow

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


def framing_policy(origins):
    """The policy of a page other sites may show in a frame: ours, with `frame-ancestors`
    naming this site and exactly the `origins` an administrator allowed (only this site's
    own preview when there are none)."""
    ancestors = " ".join(["'self'", *origins])
    return CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")


_ORIGIN = re.compile(r"^(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(\d{1,5}))?/?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginRefused(ValueError):
    """A line of the allowed sites that is not an origin; the message is for people."""


def frame_origins(text):
    """The sites allowed to frame a coalition's widgets, one origin a line, as
    `frame-ancestors` wants them: `https://host[:port]` in lower case, no default port, no
    path, each once. Raises OriginRefused naming the first line that is not such an origin."""
    origins = []
    for line in (text or "").splitlines():
        entry = line.strip()
        if not entry:
            continue
        match = _ORIGIN.match(entry.lower())
        port = int(match.group(3)) if match and match.group(3) else None
        if match is None or (port is not None and not 0 < port < 65536):
            raise OriginRefused(
                _l(
                    "„%(entry)s” to nie jest adres strony w postaci https://nazwa.domeny (może mieć port, "
                    "np. :8080, ale bez ścieżki, znaku ? ani #). Wpisz jeden adres w wierszu.",
                    entry=entry[:100],
                )
            )
        scheme, host = match.group(1), match.group(2)
        origin = f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")
        if origin not in origins:
            origins.append(origin)
    return origins


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
        policy = headers["Content-Security-Policy"]
        if "frame-ancestors 'none'" in policy or "frame-ancestors" not in policy:
            # A page that names who may frame it (framing_policy) must not also say DENY:
            # browsers would then obey the stricter one.
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
        if page_is_noindex():
            headers["X-Robots-Tag"] = "noindex"
        return response

    # base.html adds <meta name="robots" content="noindex"> for the same pages.
    app.jinja_env.globals["page_is_noindex"] = page_is_noindex


# Coordinators' pages: personal data, never kept by a browser or a proxy.
PANEL_BLUEPRINTS = frozenset(
    {
        "panel", "events_panel", "signatures_panel", "privacy", "admin", "coalitions_panel", "declarations_panel",
        "announcements", "events_print", "events_door", "reports", "profiles_panel",
        "events_kiosk",  # the signing kiosk: a signer's answers never stay on the tablet
    }
)
_TOKEN_PAGES = {
    "signatures.confirm", "signatures.withdraw", "events.confirm", "events.cancel", "events.confirmed",
    "declarations.endorse",  # names the signer, listed or not
}


# Pages no search engine should list (robots.txt disallows them too): one-time links, the
# requests for them and what they lead to. A view elsewhere says so with `@noindex`.
_NOINDEX_PAGES = _TOKEN_PAGES | {
    "signatures.check_inbox", "signatures.confirmed", "signatures.new_link", "signatures.new_link_sent",
    "signatures.withdraw_request", "signatures.withdrawn", "announcements.unsubscribe",
}


def noindex(view):
    """Mark a view's page as never indexed: `X-Robots-Tag: noindex` and the robots meta tag
    (for a confirmation, a ticket, anything reached through a link from an e-mail)."""
    view.noindex = True
    return view


def endpoint_is_noindex(endpoint):
    """True for the panel, one-time-link pages and views marked `@noindex` (robots.txt asks too)."""
    if endpoint is None:
        return False
    if endpoint.rpartition(".")[0] in PANEL_BLUEPRINTS or endpoint in _NOINDEX_PAGES:
        return True
    return bool(getattr(current_app.view_functions.get(endpoint), "noindex", False))


def page_is_noindex():
    return endpoint_is_noindex(request.endpoint)


def submitted_mailbox():
    """Rate-limit key: the mailbox typed into the form, so one address cannot be flooded from many IPs."""
    address = (request.form.get("email") or "").strip()
    return "mailbox:" + (mailbox_key(address) if "@" in address else address.lower())[:254]


def _clock():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="koalicja.form-clock")


class SpentFormStart(db.Model):
    """A bot trap's start time that a form has been accepted with: accepted once, never again.

    In the database, not in a process or in Redis: every worker and every app server sees it
    at once, on the one store each installation has (SQLite or PostgreSQL, Redis is optional),
    and it survives a restart of either. One short row per accepted form; `purge` deletes the
    rows older than a start time can be (FORM_MAX_AGE), after which the time itself is refused.
    """

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def _csrf_secret():
    """The session's CSRF secret, made now if the session has none yet (Flask-WTF's own)."""
    field_name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field_name not in session:
        generate_csrf()
    return str(session.get(field_name, ""))


def _form_binding(csrf_secret):
    """A digest of the CSRF secret: ties a start time to its session without showing the secret
    (the signed value is readable by whoever holds the page)."""
    return hashlib.blake2b(csrf_secret.encode(), digest_size=16, person=b"koalicja.form").hexdigest()


def issue_form_start():
    """The bot trap's signed start time for a form shown now in this session: when, a nonce
    (so it is accepted once) and the digest of the session's CSRF secret (so only here)."""
    payload = {"t": time.time(), "n": secrets.token_hex(16), "f": _form_binding(_csrf_secret())}
    return _clock().dumps(payload)


def read_form_start(value):
    """(started, nonce) of a start time issued for this session, or None: forged, garbled, or
    issued for another session (a start time fetched once and posted from elsewhere)."""
    try:
        payload = _clock().loads(value or "")
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("n"), str) or not isinstance(payload.get("t"), float | int):
        return None
    if not secrets.compare_digest(str(payload.get("f", "")), _form_binding(_csrf_secret())):
        return None
    return float(payload["t"]), payload["n"]


def spend_form_start(nonce):
    """True the first time a form is accepted with this nonce, False ever after (also when two
    requests race: the primary key lets one insert win on both engines).

    Its own short transaction, before the operation the form leads to: whatever that operation
    then does (commit, refuse, roll back), the start time is never accepted twice.
    """
    try:
        db.session.execute(insert(SpentFormStart).values(nonce=nonce, used_at=utcnow()))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def forget_spent_form_starts(now=None):
    """`purge`: the nonces of start times too old to be accepted anyway. Returns how many."""
    cutoff = (now or utcnow()) - timedelta(seconds=BotTrapMixin.MAX_FILL_SECONDS)
    deleted = db.session.execute(delete(SpentFormStart).where(SpentFormStart.used_at < cutoff)).rowcount
    db.session.commit()
    return deleted


class BotTrapMixin:
    """A honeypot field people never see and a signed start time: bots fill everything at once.

    Mixed into public forms. `is_bot` is set when the honeypot was filled (the view then
    pretends success and stores nothing). The start time is refused, with a polite error that
    keeps the person's answers and a fresh start time to send them with, when the form comes
    back faster than MIN_FILL_SECONDS, later than MAX_FILL_SECONDS, from another session than
    the one it was shown in (its CSRF secret), or a second time: `validate_on_submit` spends it.
    `validate` alone (inline validation of one field) only checks it.
    """

    MIN_FILL_SECONDS = 3
    MAX_FILL_SECONDS = 24 * 3600

    website = StringField(_l("Zostaw to pole puste"))
    form_started = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._form_start_nonce = None
        if not self.is_submitted() or not self.form_started.data:
            self.form_started.data = issue_form_start()

    @property
    def is_bot(self):
        return bool((self.website.data or "").strip())

    @staticmethod
    def _trap_enabled():
        return current_app.config.get("BOT_TRAP_ENABLED", True)

    def _refuse_start(self):
        self.form_started.data = issue_form_start()
        return _l("Formularz został wysłany bardzo szybko. Sprawdź dane i wyślij go jeszcze raz.")

    def validate_form_started(self, field):
        if not self._trap_enabled():
            return
        start = read_form_start(field.data)
        age = time.time() - start[0] if start else None
        if age is None or not self.MIN_FILL_SECONDS <= age <= self.MAX_FILL_SECONDS:
            raise ValidationError(self._refuse_start())
        self._form_start_nonce = start[1]

    def validate_on_submit(self, extra_validators=None):
        """Valid, and the first time this start time is used: the form is accepted."""
        if not super().validate_on_submit(extra_validators):
            return False
        if not self._trap_enabled() or self._form_start_nonce is None:
            return True
        if not spend_form_start(self._form_start_nonce):
            self.form_started.errors.append(self._refuse_start())
            return False
        self.form_started.data = issue_form_start()  # a form shown again (the operation refused) is sent anew
        return True


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
