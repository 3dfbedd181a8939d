"""Serving in production: cached pages, static files, compression, health check, access log.

- **Data version.** One row (`data_version`) counts writes. Every transaction that changes
  what a page can show (anything but the outbox and coordinator accounts) bumps it just
  before it commits, in the same transaction, so the new data and the new version become
  visible together. A request reads the version first and the data after it, so whatever
  it renders is at least as new as the version it is filed under.
- **Page cache.** Public pages (and a few coordinator pages, per coordinator) are rendered
  once per data version and kept in the worker's memory. Per-request values (the CSRF
  token, the bot trap's start time) are rendered as placeholders and filled in for each
  response. Pages that depend on the clock (events) are also keyed on a 30-second slot.
  A write makes every cached page unreachable at once: nothing withdrawn or rejected is
  ever served from the cache.
- **Conditional requests.** Public pages carry an ETag built from the data version, the
  page and the visitor's CSRF secret; a browser that sends it back gets 304 until the data
  changes.
- **Fast path** (`FastPath`, a WSGI layer in front of Flask). Most visitors of public pages
  have no session cookie. For them a cached public page is replayed before Flask routes the
  request: no session, Babel, Flask-Login or after-request hooks, only one read of the data
  version (about 80 µs instead of 450 µs per request in-process). The kept answer is exactly
  what Flask sent the first such visitor (security headers, Vary, ETag included), filed
  under everything the page can depend on: path, query, host, scheme, the whole Cookie
  header (the `lang` cookie), Accept-Language, Accept-Encoding and the htmx headers. It is
  kept only for a GET answered 200 from a page the page cache accepted, and replayed only
  while the data version is unchanged (and, for event pages, within the 30-second slot), so
  a withdrawal, rejection or any other write stops it at once. A page with a form (CSRF
  token, bot-trap clock) is replayed with this visitor's own values: a new session holding
  only a fresh CSRF secret, its signed token, the bot trap's signed start time and the ETag,
  made without a request context (`_FormSigning`): the same serializers, keys and cookie
  attributes as Flask's session interface, Flask-WTF and the bot trap, with each signing key
  derived once instead of per token (about 120 µs instead of 500 µs per visitor in-process;
  tests check the tokens are byte for byte those itsdangerous makes). An app whose session
  interface or signers are not the stock ones gets the same through Flask's request context.
  Anyone who sends a session cookie (a coordinator, a visitor with a flash message or a
  form in progress), and every other method, goes through Flask.
- **Compression.** Pages are gzipped when the client accepts it. Secrets in a page (the
  CSRF token) go out in stored (uncompressed) deflate blocks of their own, so the size of a
  response does not depend on them (BREACH); the rest of a cached page is compressed once.
  Coordinator pages are not compressed: they mix personal data with typed searches.
- **Static files** get a content hash in their URL (`?v=…`); with the current hash they
  are cacheable for a year, without it they must be revalidated. They are kept gzipped.
- **Health:** `/zdrowie` answers 200 `{"status": "ok"}` when the database answers, else 503.
- **Access log:** one JSON line per request on stderr (logger `koalicja.access`): method,
  path (one-time tokens replaced by their route pattern), endpoint, status, duration in ms,
  bytes, cache outcome. No query strings, addresses, cookies or user agents.
"""
import functools
import hashlib
import hmac
import json
import logging
import mimetypes
import os
import re
import secrets
import struct
import sys
import threading
import time
import weakref
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, g, has_app_context, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from flask_login import current_user
from itsdangerous import Signer, TimestampSigner
from itsdangerous.encoding import base64_encode, int_to_bytes, want_bytes
from itsdangerous.signer import HMACAlgorithm
from sqlalchemy import DDL, BigInteger, create_engine, event, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from ..extensions import db, limiter
from ..security import PANEL_BLUEPRINTS
from . import health

EXTENSION = "koalicja.serving"
access_log = logging.getLogger("koalicja.access")

# Tables whose changes no cached page shows: writing them leaves the data version alone.
UNVERSIONED_TABLES = frozenset({"data_version", "outbox_message", "coordinator", "alembic_version"})

# Pages cached per data version. "clock": also keyed on a 30-second slot (they show what is
# open or upcoming now). "per_user": coordinator pages, keyed on the signed-in coordinator.
CACHED_PAGES = {
    "declarations.home": {},
    "declarations.allies": {},
    "declarations.privacy": {},
    "declarations.printable": {},
    "declarations.versions": {},
    "declarations.version": {},
    "signatures.sign": {},
    "events.index": {"clock": True},
    "events.archive": {"clock": True},
    "events.detail": {"clock": True},
    "panel.queue": {"per_user": True},
    "events_panel.detail": {"per_user": True},
    "events_panel.check_in": {"per_user": True},
}
CLOCK_SLOT_SECONDS = 30
COMPRESSIBLE = frozenset(
    {"text/html", "text/css", "text/plain", "text/csv", "text/calendar", "application/json", "application/javascript",
     "text/javascript", "image/svg+xml"}
)
MIN_COMPRESS_BYTES = 500
PRIVATE_BLUEPRINTS = PANEL_BLUEPRINTS  # coordinators' pages: never compressed (BREACH)
STATIC_MAX_AGE = 365 * 86400


# ---- the data version -------------------------------------------------------------------


class DataVersion(db.Model):
    """A single row counting writes; cached pages and ETags are keyed on it."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


# create_all (tests, new SQLite files) gets the row too; the migration inserts it likewise.
event.listen(DataVersion.__table__, "after_create", DDL("INSERT INTO data_version (id, version) VALUES (1, 0)"))

_BUMP = update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
_FLAG = "koalicja.data_changed"


def _note_flushed_writes(session, _flush_context):
    if session.info.get(_FLAG):
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        if getattr(instance, "__tablename__", None) not in UNVERSIONED_TABLES:
            session.info[_FLAG] = True
            return


def _note_statement_writes(state):
    """Bulk UPDATE/DELETE/INSERT statements (e.g. the event lock) bypass the unit of work."""
    if not (state.is_update or state.is_delete or state.is_insert) or state.session.info.get(_FLAG):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in UNVERSIONED_TABLES:
        state.session.info[_FLAG] = True


def _bump_before_commit(session):
    session.flush()  # pending changes are noted by the flush hook
    if session.info.pop(_FLAG, False):
        session.execute(_BUMP)


def _forget_writes(session, *_args):
    session.info.pop(_FLAG, None)


def _forget_rolled_back_writes(session, previous_transaction):
    if not previous_transaction.nested:  # a savepoint's rollback keeps the outer transaction's writes
        session.info.pop(_FLAG, None)


def _listen_once():
    from flask_sqlalchemy.session import Session

    if event.contains(Session, "before_commit", _bump_before_commit):
        return
    event.listen(Session, "after_flush", _note_flushed_writes)
    event.listen(Session, "do_orm_execute", _note_statement_writes)
    event.listen(Session, "before_commit", _bump_before_commit)
    event.listen(Session, "after_commit", _forget_writes)
    event.listen(Session, "after_soft_rollback", _forget_rolled_back_writes)


class VersionReader:
    """Reads the data version over its own autocommit connections: one round trip, no ORM."""

    def __init__(self, app):
        with app.app_context():
            url = db.engine.url
        options = {"pool_pre_ping": False, "pool_reset_on_return": None}
        if url.get_backend_name() != "sqlite":
            options.update(isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=32)
        self.engine = create_engine(url, **options)
        # Closes the connections when the app goes away (tests create many apps).
        weakref.finalize(app, self.engine.dispose)

    def read(self):
        """The current version, or None when it cannot be read (then nothing is cached)."""
        try:
            connection = self.engine.raw_connection()
        except SQLAlchemyError:
            return None
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT version FROM data_version WHERE id = 1")
            row = cursor.fetchone()
            cursor.close()
        except Exception:  # noqa: BLE001  (any driver error: broken connection, missing table)
            connection.invalidate()
            return None
        finally:
            connection.close()
        return row[0] if row else None


# ---- compression ----------------------------------------------------------------------

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflate_block(data, final, level=6):
    """Raw deflate for one part of a response, starting and ending on a block boundary."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def _stored_block(data, final):
    """Deflate "stored" blocks: the bytes as they are, each block up to 65 535 of them."""
    blocks = []
    for start in range(0, max(len(data), 1), 65535):
        chunk = data[start : start + 65535]
        last = final and start + 65535 >= len(data)
        blocks.append(bytes([1 if last else 0]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(blocks)


def gzip_parts(parts, secret_indexes=(), level=6, deflated=None):
    """Gzip `parts` (bytes) as one stream in which no part refers back to another.

    Each part is compressed on its own (a full flush between them); secret parts are not
    compressed at all (stored blocks), so their size on the wire is their length, whatever
    surrounds them. `deflated` may hold parts compressed earlier (None where a part must
    be compressed now).
    """
    crc, size, blocks = 0, 0, [_GZIP_HEADER]
    last = len(parts) - 1
    for index, part in enumerate(parts):
        crc = zlib.crc32(part, crc)
        size += len(part)
        ready = deflated[index] if deflated is not None else None
        if ready is None:
            if index in secret_indexes:
                ready = _stored_block(part, index == last)
            else:
                ready = _deflate_block(part, index == last, level)
        blocks.append(ready)
    blocks.append(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(blocks)


def accepts_gzip():
    header = request.environ.get("HTTP_ACCEPT_ENCODING", "")
    if "gzip" not in header:
        return False
    if "q=" not in header:
        return True
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


# ---- cached pages -----------------------------------------------------------------------


@dataclass
class CachedPage:
    status: int
    headers: list
    parts: list  # bytes of the page, split where a per-request value goes
    slots: list  # between parts: which value goes there
    deflated: list = field(default_factory=list)  # the parts compressed once (None for slots)
    size: int = 0

    @property
    def static(self):
        """No per-request values: the same bytes for everyone."""
        return not self.slots

    @classmethod
    def build(cls, response, body, placeholders):
        pattern = re.compile("|".join(re.escape(p) for p in placeholders.values()))
        names = {placeholder: name for name, placeholder in placeholders.items()}
        parts, slots, position = [], [], 0
        for match in pattern.finditer(body):
            parts.append(body[position : match.start()].encode())
            slots.append(names[match.group(0)])
            position = match.end()
        parts.append(body[position:].encode())
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "set-cookie", "vary")]
        page = cls(status=response.status_code, headers=headers, parts=parts, slots=slots)
        last = len(parts) - 1
        page.deflated = [_deflate_block(part, index == last) for index, part in enumerate(parts)]
        if page.static:
            page.deflated = [gzip_parts(parts, deflated=page.deflated)]  # the whole gzip response, ready
        page.size = sum(len(p) for p in parts) + sum(len(d) for d in page.deflated) + 200
        return page

    def body(self, values, gzip):
        """The page with this request's values filled in; gzipped with the values isolated."""
        if self.static:
            return self.deflated[0] if gzip else self.parts[0]
        encoded = {name: value.encode() for name, value in values.items()}
        if not gzip and len(encoded) == 1:
            return next(iter(encoded.values())).join(self.parts)  # one value in every slot (the CSRF token)
        pieces = [b""] * (len(self.parts) + len(self.slots))
        pieces[::2] = self.parts
        pieces[1::2] = [encoded[name] for name in self.slots]
        if not gzip:
            return b"".join(pieces)
        deflated = [None] * len(pieces)
        deflated[::2] = self.deflated
        return gzip_parts(pieces, range(1, len(pieces), 2), deflated=deflated)


class PageCache:
    """Rendered pages of one worker process for one data version, least recently used out."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.version = None
        self.pages = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    def get(self, version, key):
        with self.lock:
            if version != self.version:
                return None
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    def put(self, version, key, page):
        if page.size > self.max_bytes // 4:
            return
        with self.lock:
            if version != self.version:
                if self.version is not None and version < self.version:
                    return  # rendered against an older version than the cache has moved to
                self.version, self.pages, self.bytes = version, OrderedDict(), 0
            old = self.pages.pop(key, None)
            if old is not None:
                self.bytes -= old.size
            self.pages[key] = page
            self.bytes += page.size
            while self.bytes > self.max_bytes and self.pages:
                _key, evicted = self.pages.popitem(last=False)
                self.bytes -= evicted.size


class Serving:
    """Per-app state: version reader, page cache, placeholders, static files."""

    def __init__(self, app):
        self.app = app
        self.reader = VersionReader(app)
        self.pages = PageCache(int(app.config.get("PAGE_CACHE_MAX_BYTES", 4 * 1024 * 1024)))
        self.enabled = bool(app.config.get("PAGE_CACHE_ENABLED", True))
        marker = secrets.token_hex(8)
        self.placeholders = {"csrf": f"koalicja-slot-csrf-{marker}", "form_started": f"koalicja-slot-started-{marker}"}
        self.deploy = _deploy_fingerprint(app)
        self.static = StaticFiles(app)
        self.form_clock = None
        self._signing = None

    def form_signing(self):
        """The signers for per-visitor values (CSRF token, new session, bot-trap clock), made once
        (again when the keys change); None when the app's sessions or CSRF are not the stock ones
        whose tokens `_FormSigning` reproduces."""
        app, config = self.app, self.app.config
        state = (app.secret_key, tuple(config.get("SECRET_KEY_FALLBACKS") or ()), config.get("WTF_CSRF_SECRET_KEY"),
                 config.get("WTF_CSRF_FIELD_NAME"), type(app.session_interface))
        signing = self._signing
        if signing is None or signing.state != state:
            if has_app_context() and current_app._get_current_object() is app:
                signing = _FormSigning.make(app, state)
            else:  # the fast path, before Flask: _clock() reads the config through current_app
                with app.app_context():
                    signing = _FormSigning.make(app, state)
            self._signing = signing
        return signing or None

    def close(self):
        """Close the version reader's connections (tests that drop their database call this)."""
        self.reader.engine.dispose()


def _deploy_fingerprint(app):
    """Changes when templates or static files change, so old ETags stop matching after a deploy."""
    digest = hashlib.blake2b(digest_size=8)
    for folder in (app.template_folder, app.static_folder):
        for path in sorted(Path(app.root_path, folder).rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


_FORM_STARTED = re.compile(r'(<input\b[^>]*\bname="form_started"[^>]*\bvalue=")([^"]*)(")')
# Anything on a page that can send a POST (and so needs the CSRF token).
_POSTS = re.compile(r'method=["\']?post|hx-(post|put|patch|delete)\b', re.IGNORECASE)


def _fresh_form_started():
    """The bot trap's signed start time, as its form would write it now (koalicja.security)."""
    serving = current_app.extensions[EXTENSION]
    if serving.form_clock is None:
        from ..security import _clock

        serving.form_clock = _clock()  # the same serializer the form uses, built once
    return serving.form_clock.dumps(time.time())


def _csrf_field():
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _cache_key(endpoint, options):
    environ = request.environ
    key = [endpoint, request.path, request.query_string, str(get_locale())]  # one page per language
    for header in ("HTTP_HX_REQUEST", "HTTP_HX_BOOSTED", "HTTP_HX_HISTORY_RESTORE_REQUEST"):
        key.append(environ.get(header, ""))
    if options.get("clock"):
        key.append(int(time.time() // CLOCK_SLOT_SECONDS))
    if options.get("per_user"):
        # An administrator sees every coalition: losing the role must not serve the old page.
        key += [current_user.get_id(), current_user.is_admin]
    return tuple(key)


def _etag(serving, version, key, secret=""):
    """A weak validator (the same page may go out gzipped or not) for this data version and page.

    A page with a CSRF token differs per visitor, so its ETag also covers the visitor's CSRF
    secret: a 304 never hands one visitor's token to another.
    """
    raw = f"{serving.deploy}|{version}|{key!r}|{secret}".encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def _render_for_cache(serving, view, kwargs):
    """Run the view with placeholders for per-request values; (page or None, response)."""
    field_name = _csrf_field()
    # What the view itself does to the session (Flask-Login may have touched it already).
    session_before, modified_before = dict(session), session.modified
    setattr(g, field_name, serving.placeholders["csrf"])
    try:
        response = current_app.make_response(view(**kwargs))
    finally:
        g.pop(field_name, None)
    body = response.get_data(as_text=True) if not response.direct_passthrough else ""
    storable = (
        response.status_code == 200
        and response.mimetype == "text/html"
        and not response.direct_passthrough
        and dict(session) == session_before
        and (modified_before or not session.modified)
        and "Set-Cookie" not in response.headers
    )
    if not _POSTS.search(body) and "POST" not in request.url_rule.methods:
        # Nothing here posts (and the page's own address takes no POST), so it needs no CSRF
        # token, hence no session: the same bytes for every visitor, served without a cookie.
        body = body.replace(serving.placeholders["csrf"], "")
    if _FORM_STARTED.search(body):
        try:
            _fresh_form_started()
        except (ImportError, AttributeError):
            storable = False  # the bot trap changed: its field cannot be refreshed, so never cache it
        else:
            body = _FORM_STARTED.sub(lambda m: m.group(1) + serving.placeholders["form_started"] + m.group(3), body)
    return CachedPage.build(response, body, serving.placeholders), storable


def _csrf_token(serving):
    """Flask-WTF's generate_csrf: this request's signed token for the session's CSRF secret (made
    if the session has none). The same token; signed with the key derived once when the session
    already holds the secret, as a signed-in coordinator's does."""
    signing = serving.form_signing()
    if signing is not None:
        token = g.get(signing.field_name)
        if token is not None:
            return token
        secret = session.get(signing.field_name)
        if isinstance(secret, str) and secret:
            token = signing.csrf.dumps(secret)
            setattr(g, signing.field_name, token)
            return token
    from flask_wtf.csrf import generate_csrf

    return generate_csrf()


def _not_modified(etag, cache_control):
    response = current_app.response_class(status=304)
    response.headers["ETag"] = f'W/"{etag}"'
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = "Accept-Encoding"
    g.koalicja_compressed = True
    return response


def _respond(serving, page, version, key, public, clock=False, replayable=False):
    """The cached page for this request: 304, or its bytes with this visitor's values filled in."""
    field_name = _csrf_field()
    if page.static:
        cache_control = "public, no-cache"  # the same bytes for everyone: any cache may keep them
        etag = _etag(serving, version, key) if public else None
    else:
        cache_control = "private, no-cache"
        secret = session.get(field_name)
        etag = _etag(serving, version, key, secret) if public and secret else None
    if etag and "HTTP_IF_NONE_MATCH" in request.environ and request.if_none_match.contains_weak(etag):
        request.environ[EXTENSION + ".cache"] = "304"
        return _not_modified(etag, cache_control)
    values = {}
    if "csrf" in page.slots:
        values["csrf"] = _csrf_token(serving)
        if public:  # the secret may have been created just now
            etag = _etag(serving, version, key, session.get(field_name))
    if "form_started" in page.slots:
        values["form_started"] = _fresh_form_started()
    gzip = accepts_gzip() and request.blueprint not in PRIVATE_BLUEPRINTS
    headers = list(page.headers)
    headers.append(("Vary", "Accept-Encoding"))
    if gzip:
        headers.append(("Content-Encoding", "gzip"))
    if etag:
        headers += [("ETag", f'W/"{etag}"'), ("Cache-Control", cache_control)]
    g.koalicja_compressed = True
    if replayable and etag and FAST_KEY in request.environ and set(session) <= {field_name}:
        # The next visitor without a session may get this answer from the fast path: as it is
        # (a page without per-visitor values) or with their own values filled in (a form).
        # Only a page fit for the page cache, and only when the session holds nothing but the
        # CSRF secret the fast path makes afresh for each visitor.
        expires = (int(time.time() // CLOCK_SLOT_SECONDS) + 1) * CLOCK_SLOT_SECONDS if clock else 0
        form = None if page.static else page
        request.environ[FAST_ANSWER] = FastAnswer(version, "", [], b"", etag, expires, request.endpoint, form, key)
    return current_app.response_class(page.body(values, gzip), status=page.status, headers=headers)


def cached_view(view, endpoint, options):
    """Wrap a view: answer from the page cache (or 304) when the data has not changed."""
    per_user = bool(options.get("per_user"))
    clock = bool(options.get("clock"))

    @functools.wraps(view)
    def wrapper(**kwargs):
        serving = current_app.extensions.get(EXTENSION)
        if serving is None or not serving.enabled or request.method != "GET" or "_flashes" in session:
            return view(**kwargs)
        if per_user and not current_user.is_authenticated:
            return view(**kwargs)  # the view sends the visitor to the login page
        version = serving.reader.read()
        if version is None:
            return view(**kwargs)
        key = _cache_key(endpoint, options)
        page = serving.pages.get(version, key)
        outcome, storable = "hit", True
        if page is None:
            page, storable = _render_for_cache(serving, view, kwargs)
            outcome = "miss"
            if storable:
                serving.pages.put(version, key, page)
        request.environ[EXTENSION + ".cache"] = outcome
        public = not per_user and page.status == 200
        return _respond(serving, page, version, key, public=public, clock=clock, replayable=public and storable)

    return wrapper


# ---- the fast path: cached public pages for visitors without a session -------------------

FAST_KEY = EXTENSION + ".fast_key"
FAST_ANSWER = EXTENSION + ".fast_answer"
_NOT_MODIFIED_HEADERS = ("etag", "cache-control", "vary")


@dataclass
class FastAnswer:
    version: int
    status: str
    headers: list
    body: bytes
    etag: str | None
    expires: float  # 0: only a write makes it stale
    endpoint: str
    form: CachedPage | None = None  # a page with per-visitor values (a form): filled in for each visitor
    page_key: tuple = ()  # the page's key in the page cache (for the per-visitor ETag)
    gzip: bool = False  # a form's page goes out gzipped


class _PresignedSerializer:
    """An itsdangerous serializer's `dumps` with its signing key derived once.

    The same payload encoding (the serializer's own `dump_payload`), key, digest, separator and
    timestamp as `serializer.dumps`, so the same tokens, which its `loads` accepts; itsdangerous
    derives the key and builds a signer anew for every token, which is most of its cost. Only
    for the stock signers, whose signing this reproduces."""

    def __init__(self, serializer):
        signer = serializer.make_signer()
        if type(signer) not in (Signer, TimestampSigner) or not serializer.is_text_serializer:
            raise TypeError(f"not a stock signer: {type(signer).__name__}")
        self.serializer = serializer
        self.key = signer.derive_key()
        self.algorithm = signer.algorithm
        self.sign = functools.partial(self.algorithm.get_signature, self.key)
        if type(self.algorithm) is HMACAlgorithm:  # the one-shot HMAC of the same digest: the same bytes
            self.sign = functools.partial(hmac.digest, self.key, digest=self.algorithm.digest_method().name)
        self.sep = signer.sep
        self.timed = type(signer) is TimestampSigner

    def dumps(self, obj):
        value = want_bytes(self.serializer.dump_payload(obj))
        if self.timed:
            value += self.sep + base64_encode(int_to_bytes(int(time.time())))
        return (value + self.sep + base64_encode(self.sign(value))).decode()


@dataclass
class _FormSigning:
    """What a new visitor's form needs, made as Flask's session interface and Flask-WTF make it:
    a CSRF secret in a new (not permanent) session cookie, its signed token, the bot-trap clock."""

    state: tuple
    field_name: str
    csrf: _PresignedSerializer
    session: _PresignedSerializer
    cookie_prefix: str
    cookie_suffix: str
    clock: _PresignedSerializer

    @classmethod
    def make(cls, app, state):
        """Needs an app context; False when the app's sessions or CSRF are not the stock ones."""
        from itsdangerous import URLSafeTimedSerializer
        from werkzeug.http import dump_cookie

        from ..security import _clock

        interface = app.session_interface
        field_name = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        csrf_key = app.config.get("WTF_CSRF_SECRET_KEY", app.secret_key)
        if (not isinstance(interface, SecureCookieSessionInterface)
                or type(interface).save_session is not SecureCookieSessionInterface.save_session
                or type(interface).session_class is not SecureCookieSessionInterface.session_class
                or not field_name or not csrf_key):
            return False
        try:
            sessions = _PresignedSerializer(interface.get_signing_serializer(app))
            csrf = _PresignedSerializer(URLSafeTimedSerializer(csrf_key, salt="wtf-csrf-token"))
            clock = _PresignedSerializer(_clock())
        except (TypeError, AttributeError):
            return False
        marker = "koalicja-cookie-" + secrets.token_hex(8)
        cookie = dump_cookie(
            interface.get_cookie_name(app), marker, expires=None, path=interface.get_cookie_path(app),
            domain=interface.get_cookie_domain(app), secure=interface.get_cookie_secure(app),
            httponly=interface.get_cookie_httponly(app), samesite=interface.get_cookie_samesite(app),
            partitioned=interface.get_cookie_partitioned(app),
        )
        prefix, _, suffix = cookie.partition(marker)
        return cls(state, field_name, csrf, sessions, prefix, suffix, clock)

    def new_csrf(self):
        """(secret, signed token, Set-Cookie value) for a new visitor, as generate_csrf and save_session make them."""
        secret = hashlib.sha1(os.urandom(64)).hexdigest()
        cookie = self.cookie_prefix + self.session.dumps({self.field_name: secret}) + self.cookie_suffix
        return secret, self.csrf.dumps(secret), cookie


class FastPath:
    """WSGI layer in front of Flask: public pages for visitors without a session cookie.

    Such a page is the same bytes for everyone who sends the same request line, language
    choice and encodings. Once Flask has produced it (through `cached_view`, with every
    after-request hook applied: security headers, Vary, ETag), the exact answer is kept
    with its data version and replayed without routing the request, as long as the data
    version has not moved. A session cookie, another method or a new version: Flask answers.
    """

    def __init__(self, app, wsgi_app, serving, session_cookie, max_bytes, log):
        self.app = app
        self.wsgi_app = wsgi_app
        self.serving = serving
        self.session_cookie = session_cookie + "="
        self.max_bytes = max_bytes
        self.log = log
        self.answers = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    @staticmethod
    def key(environ):
        return tuple(environ.get(name, "") for name in (
            "PATH_INFO", "QUERY_STRING", "HTTP_HOST", "wsgi.url_scheme", "HTTP_COOKIE", "HTTP_ACCEPT_LANGUAGE",
            "HTTP_ACCEPT_ENCODING", "HTTP_HX_REQUEST", "HTTP_HX_BOOSTED", "HTTP_HX_HISTORY_RESTORE_REQUEST",
        ))

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or self.session_cookie in environ.get("HTTP_COOKIE", ""):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        key = self.key(environ)
        answer = self.answers.get(key)
        if answer is not None:
            version = self.serving.reader.read()
            if version == answer.version and (not answer.expires or time.time() < answer.expires):
                if answer.form is not None:
                    return self.replay_form(answer, environ, start_response, started)
                return self.replay(answer, environ, start_response, started)
            self.forget(key)
        environ[FAST_KEY] = key
        return self.capture(key, environ, start_response)

    def replay(self, answer, environ, start_response, started):
        if answer.etag and f'"{answer.etag}"' in environ.get("HTTP_IF_NONE_MATCH", ""):
            start_response("304 Not Modified", [(k, v) for k, v in answer.headers if k.lower() in _NOT_MODIFIED_HEADERS])
            body, status = b"", 304
        else:
            start_response(answer.status, answer.headers)
            body, status = answer.body, int(answer.status[:3])
        if self.log:
            _write_access_log("GET", environ.get("PATH_INFO", ""), answer.endpoint, status, started, len(body), "hit")
        return [body]

    def replay_form(self, answer, environ, start_response, started):
        """A form for a new visitor: a new session holding only a fresh CSRF secret, its signed token
        and the bot trap's signed start time, spliced into the kept page. Routing and the
        before/after-request hooks are skipped: their headers were kept with the answer."""
        signing = self.serving.form_signing()
        if signing is None:
            return self.replay_form_through_flask(answer, environ, start_response, started)
        slots = answer.form.slots
        values, secret, headers = {}, None, list(answer.headers)
        if "csrf" in slots:
            secret, values["csrf"], cookie = signing.new_csrf()
            headers.append(("Set-Cookie", cookie))
        if "form_started" in slots:
            values["form_started"] = signing.clock.dumps(time.time())
        body = answer.form.body(values, answer.gzip)
        etag = _etag(self.serving, answer.version, answer.page_key, secret)
        headers += [("ETag", f'W/"{etag}"'), ("Content-Length", str(len(body)))]
        start_response(answer.status, headers)
        if self.log:
            _write_access_log("GET", environ.get("PATH_INFO", ""), answer.endpoint, 200, started, len(body), "hit")
        return [body]

    def replay_form_through_flask(self, answer, environ, start_response, started):
        """The same as replay_form, with Flask's request context, session interface and Flask-WTF."""
        from flask_wtf.csrf import generate_csrf

        with self.app.request_context(environ):
            values = {}
            if "csrf" in answer.form.slots:
                values["csrf"] = generate_csrf()
            if "form_started" in answer.form.slots:
                values["form_started"] = _fresh_form_started()
            response = self.app.response_class(answer.form.body(values, answer.gzip), status=answer.status,
                                               headers=answer.headers)
            response.set_etag(_etag(self.serving, answer.version, answer.page_key, session.get(_csrf_field())), weak=True)
            self.app.session_interface.save_session(self.app, session, response)
            if self.log:
                _write_access_log("GET", environ.get("PATH_INFO", ""), answer.endpoint, 200, started,
                                  response.calculate_content_length(), "hit")
            return response(environ, start_response)

    def capture(self, key, environ, start_response):
        captured = {}

        def remember(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        app_iter = self.wsgi_app(environ, remember)
        answer = environ.get(FAST_ANSWER)
        if answer is None:
            return app_iter
        try:
            body = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        headers = captured.get("headers", [])
        if answer.form is not None:  # the visitor's own cookie, token and validator are made afresh each time
            answer.status = captured.get("status", "")
            answer.headers = [(k, v) for k, v in headers if k.lower() not in ("set-cookie", "etag", "content-length")]
            answer.gzip = any(k.lower() == "content-encoding" and v == "gzip" for k, v in answer.headers)
            if answer.status.startswith("200"):
                self.remember(key, answer)
        elif captured.get("status", "").startswith("200") and not any(k.lower() == "set-cookie" for k, _v in headers):
            answer.status, answer.headers, answer.body = captured["status"], list(headers), body
            self.remember(key, answer)
        return [body]

    def remember(self, key, answer):
        with self.lock:
            old = self.answers.pop(key, None)
            if old is not None:
                self.bytes -= self._size(old)
            self.answers[key] = answer
            self.bytes += self._size(answer)
            while self.bytes > self.max_bytes and self.answers:
                _key, evicted = self.answers.popitem(last=False)
                self.bytes -= self._size(evicted)

    @staticmethod
    def _size(answer):
        return len(answer.body) + (answer.form.size if answer.form is not None else 0)

    def forget(self, key):
        with self.lock:
            old = self.answers.pop(key, None)
            if old is not None:
                self.bytes -= self._size(old)


class ReusedSerializerSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per set of keys
    instead of twice per request (same cookies, same keys and fallbacks)."""

    def __init__(self):
        self._serializers = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer


# ---- static files ------------------------------------------------------------------------


@dataclass
class StaticAsset:
    digest: str
    mimetype: str
    raw: bytes
    gzipped: bytes | None
    mtime_ns: int


class StaticFiles:
    """The files under static/, read once, hashed and gzipped; reloaded when a file changes."""

    def __init__(self, app):
        self.folder = app.static_folder
        self.assets = {}
        self.lock = threading.Lock()

    def get(self, filename):
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if not os.path.isfile(path):
            return None
        asset = self.assets.get(filename)
        if asset is None or asset.mtime_ns != stat.st_mtime_ns:
            with open(path, "rb") as handle:
                raw = handle.read()
            mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            if mimetype.startswith("text/") or mimetype in COMPRESSIBLE:
                gzipped = gzip_parts([raw], level=9)
                if mimetype.startswith("text/") or mimetype == "application/javascript":
                    mimetype += "; charset=utf-8"
            else:
                gzipped = None
            digest = hashlib.blake2b(raw, digest_size=6).hexdigest()
            asset = StaticAsset(digest, mimetype, raw, gzipped, stat.st_mtime_ns)
            with self.lock:
                self.assets[filename] = asset
        return asset

    def digest(self, filename):
        asset = self.get(filename)
        return asset.digest if asset else None


def _static_view(filename):
    serving = current_app.extensions[EXTENSION]
    asset = serving.static.get(filename)
    if asset is None:
        raise NotFound()
    if request.args.get("v") == asset.digest:
        cache_control = f"public, max-age={STATIC_MAX_AGE}, immutable"
    else:
        cache_control = "no-cache"  # an old or missing fingerprint: revalidate every time
    etag = f'"{asset.digest}"'
    response = current_app.response_class(mimetype=asset.mimetype)
    response.headers["Cache-Control"] = cache_control
    response.headers["ETag"] = etag
    response.vary.add("Accept-Encoding")
    if request.if_none_match.contains(asset.digest):
        response.status_code = 304
        return response
    if asset.gzipped is not None and accepts_gzip():
        response.set_data(asset.gzipped)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response.set_data(asset.raw)
    g.koalicja_compressed = True
    return response


def _fingerprint_static_urls(endpoint, values):
    if endpoint == "static" and "v" not in values and "filename" in values:
        digest = current_app.extensions[EXTENSION].static.digest(values["filename"])
        if digest:
            values["v"] = digest


# ---- responses not served from the cache ----------------------------------------------


def _compress(response):
    """Gzip other text answers (error pages, fragments, JSON), the CSRF token in blocks of its own."""
    if (
        g.get("koalicja_compressed")
        or response.direct_passthrough
        or response.is_streamed
        or response.status_code < 200
        or response.status_code in (204, 304)
        or "Content-Encoding" in response.headers
        or response.mimetype not in COMPRESSIBLE
        or request.blueprint in PRIVATE_BLUEPRINTS
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    body = response.get_data()
    if len(body) < MIN_COMPRESS_BYTES:
        return response
    parts, secret = [body], set()
    token = g.get(_csrf_field())
    if token:
        pieces = body.split(token.encode())
        parts = []
        for index, piece in enumerate(pieces):
            if index:
                secret.add(len(parts))
                parts.append(token.encode())
            parts.append(piece)
    response.set_data(gzip_parts(parts, secret))
    response.headers["Content-Encoding"] = "gzip"
    return response


# ---- health and access log ---------------------------------------------------------------


class _JsonLines(logging.Formatter):
    def format(self, record):
        return record.getMessage()


def _start_clock():
    request.environ[EXTENSION + ".started"] = time.perf_counter()


def _logged_path():
    rule = request.url_rule
    if rule is not None and "token" in rule.arguments:
        return rule.rule  # one-time links: the pattern, never the token
    return request.path


def _write_access_log(method, path, endpoint, status, started, size, cache):
    now = time.time()
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
        "method": method,
        "path": path,
        "endpoint": endpoint,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "bytes": size,
        "cache": cache,
    }
    access_log.info(json.dumps(entry, ensure_ascii=False))


def _log_request(response):
    started = request.environ.get(EXTENSION + ".started")
    if started is None or (request.endpoint == "serving.health" and response.status_code == 200):
        return response
    _write_access_log(request.method, _logged_path(), request.endpoint, response.status_code, started,
                      response.calculate_content_length(), request.environ.get(EXTENSION + ".cache"))
    return response


def _init_access_log(app):
    if not app.config.get("ACCESS_LOG", not app.testing):
        return False
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonLines())
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    app.before_request_funcs.setdefault(None, []).insert(0, _start_clock)
    app.after_request(_log_request)
    return True


def after_fork(app):
    """In a new worker process (gunicorn post_fork): connections are never shared with the parent."""
    serving = getattr(app, "extensions", {}).get(EXTENSION)
    if serving is None:
        return  # not this app (e.g. the benchmark's bare Flask)
    with app.app_context():
        db.engine.dispose(close=False)
    serving.reader.engine.dispose(close=False)


def init_app(app):
    _listen_once()
    app.extensions[EXTENSION] = Serving(app)
    app.view_functions["static"] = _static_view
    app.url_defaults(_fingerprint_static_urls)
    health.init_app(app)
    for endpoint, options in CACHED_PAGES.items():
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = cached_view(app.view_functions[endpoint], endpoint, options)
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = ReusedSerializerSessions()
    logging_on = _init_access_log(app)
    app.after_request(_compress)
    serving = app.extensions[EXTENSION]
    if serving.enabled and app.config.get("FAST_PATH_ENABLED", True):
        cookie = app.config["SESSION_COOKIE_NAME"]
        app.wsgi_app = FastPath(app, app.wsgi_app, serving, cookie, serving.pages.max_bytes, logging_on)
