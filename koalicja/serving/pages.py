"""`@cached_page`: pages rendered once per data version, and what HTTP is told about them.

A view marked `@cached_page` is the same for every visitor (the coalition home, the allies
list and its searches, events, versions, the printable page, the privacy notice, the
coalitions index). Every request still goes through Flask: routing, the session, Babel,
Flask-Login and every after-request hook run as for any page; only the view itself is
skipped when this worker already rendered the page for the current data version.

- Such a page carries no per-visitor value: base.html leaves out the CSRF header htmx would
  send (`page_is_public`), nothing touches the session, so no `Set-Cookie`.
- It goes out `Cache-Control: public, max-age=N, stale-while-revalidate=M`
  (PUBLIC_CACHE_MAX_AGE, PUBLIC_CACHE_STALE_WHILE_REVALIDATE) with a weak ETag made of the
  deploy, the data version and the page's key; `If-None-Match` with it gets 304. Its Vary
  names what changes it: the language (`Cookie` for `lang`, `Accept-Language`), htmx
  (`HX-Request`, `HX-Boosted`, `HX-History-Restore-Request`) and `Accept-Encoding`.
- A visitor with a flash message (kept in the session) gets the page rendered for them,
  `private, no-store`, never kept. So does any answer that would set a cookie or carries a
  CSRF token after all: a page is public only when it really is the same for everyone.
- `clock=True`: the page also shows what is open or upcoming now (events), so it is keyed
  on a 30-second slot as well.
- `per_user=True`: a coordinator's page (no-store, see koalicja/security.py), kept per
  coordinator and per session: it holds the CSRF token Flask-WTF made for that session,
  valid for that session only (WTF_CSRF_TIME_LIMIT is None; with a limit, nothing is kept).

Every other answer without a Cache-Control of its own is `private, no-store`.

A form page (the sign form, the event registration) is private and gets its CSRF token and
bot-trap clock from Flask-WTF on every request; marked `@with_fragments`, the parts of its
template that are the same for everyone (the declaration's text, the blank fields) are kept
per data version with `{% call cached_fragment(name, fresh=form.is_submitted()) %}`.
A write bumps the data version (koalicja/serving/version.py): every kept page and every
ETag is stale at once, so a withdrawal or a rejection is never served from this worker.
"""
import functools
import hashlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ..htmx import wants_fragment
from .compression import DONE, accepts_gzip, gzip_parts

EXTENSION = "koalicja.serving"
CLOCK_SLOT_SECONDS = 30
PUBLIC = "koalicja_public_page"  # on g: this request renders a page the same for every visitor
_ETAG = "koalicja_page_etag"
_VERSION = "koalicja_data_version"
OUTCOME = EXTENSION + ".cache"  # in the WSGI environ: hit, miss or 304 (for the access log)
PUBLIC_VARY = ("Accept-Encoding", "Accept-Language", "Cookie", "HX-Request", "HX-Boosted", "HX-History-Restore-Request")
# What a public page may be besides HTML: the read API, the counter badge, the feeds.
STORABLE_TYPES = frozenset({"text/html", "application/json", "image/svg+xml", "application/atom+xml"})
_DROPPED_HEADERS = frozenset({"content-length", "set-cookie", "vary", "etag", "cache-control"})


@dataclass
class StoredPage:
    status: int
    headers: list  # what the view set itself (Content-Type, …)
    body: bytes
    gzipped: bytes | None

    @property
    def size(self):
        return len(self.body) + len(self.gzipped or b"") + 200

    @classmethod
    def of(cls, response, compress):
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED_HEADERS]
        body = response.get_data()
        return cls(response.status_code, headers, body, gzip_parts([body]) if compress else None)

    def response(self):
        gzip = self.gzipped is not None and accepts_gzip()
        response = current_app.response_class(self.gzipped if gzip else self.body, status=self.status, headers=self.headers)
        if self.gzipped is not None:
            response.vary.add("Accept-Encoding")
        if gzip:
            response.headers["Content-Encoding"] = "gzip"
        g.setdefault(DONE, True)
        return response


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


@functools.lru_cache(maxsize=8)
def deploy_fingerprint(*folders):
    """Changes when the code, templates, translations or static files change (by content, so
    every app server of one release agrees): old ETags stop matching after a deploy. Read once
    per process (a deploy restarts the workers)."""
    digest = hashlib.blake2b(digest_size=8)
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _data_version(serving):
    """The data version as this request first read it (None: unreadable, nothing is kept)."""
    if _VERSION not in g:
        setattr(g, _VERSION, serving.reader.read())
    return g.get(_VERSION)


def data_version():
    """The data version this request's page is rendered at (read once per request; None when
    it cannot be read): for a URL that must change whenever the data does (the share image)."""
    serving = current_app.extensions.get(EXTENSION)
    return _data_version(serving) if serving is not None else None


def _csrf_field():
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _page_key(clock):
    key = (request.endpoint, request.path, request.query_string, str(get_locale()), wants_fragment())
    if clock:
        key += (int(time.time() // CLOCK_SLOT_SECONDS),)
    return key


def _storable(response):
    """A page fit to keep: an ordinary 200 page that no visitor's value went into."""
    return (
        response.status_code == 200
        and response.mimetype in STORABLE_TYPES
        and not response.direct_passthrough
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
    )


def _render(view, kwargs):
    return current_app.make_response(view(**kwargs))


def _not_modified():
    response = current_app.response_class(status=304)
    response.vary.add("Accept-Encoding")
    g.setdefault(DONE, True)
    request.environ[OUTCOME] = "304"
    return response


def _public_page(view, kwargs, clock):
    setattr(g, PUBLIC, True)
    serving = current_app.extensions.get(EXTENSION)
    if serving is None or request.method not in ("GET", "HEAD") or "_flashes" in session:
        return view(**kwargs)  # a flash message is this visitor's own: rendered for them, private
    version = _data_version(serving)
    if version is None:
        return view(**kwargs)  # the version cannot be read: no validator, nothing kept
    key = _page_key(clock)
    etag = serving.etag(version, key)
    setattr(g, _ETAG, etag)
    if request.if_none_match.contains_weak(etag):
        return _not_modified()
    page = serving.pages.get(version, key) if serving.enabled else None
    outcome = "hit"
    if page is None:
        outcome = "miss"
        response = _render(view, kwargs)
        if not _storable(response) or session.modified or g.get(_csrf_field()):
            return response  # the after-request hook makes it private
        page = StoredPage.of(response, compress=True)
        if serving.enabled:
            serving.pages.put(version, key, page)
    request.environ[OUTCOME] = outcome
    return page.response()


def _coordinator_page(view, kwargs, clock):
    serving = current_app.extensions.get(EXTENSION)
    secret = None
    if current_user.is_authenticated:
        generate_csrf()  # what the page's forms will show; makes the session's secret if it has none yet
        secret = session.get(_csrf_field())
    if (
        serving is None
        or not serving.enabled
        or request.method != "GET"
        or not secret  # also: not signed in (the view sends the visitor to the login page)
        or "_flashes" in session
        or current_app.config.get("WTF_CSRF_TIME_LIMIT") is not None  # a kept token would expire
    ):
        return view(**kwargs)
    version = _data_version(serving)
    if version is None:
        return view(**kwargs)
    # An administrator sees every coalition: losing the role must not serve the old page. The
    # page holds this session's CSRF token: it is kept for this session only.
    session_key = hashlib.blake2b(str(secret).encode(), digest_size=12).digest()
    key = _page_key(clock) + (current_user.get_id(), current_user.is_admin, session_key)
    page = serving.pages.get(version, key)
    outcome = "hit"
    if page is None:
        outcome = "miss"
        response = _render(view, kwargs)
        if not _storable(response):
            return response
        page = StoredPage.of(response, compress=False)
        serving.pages.put(version, key, page)
    request.environ[OUTCOME] = outcome
    return page.response()


def cached_page(view=None, *, clock=False, per_user=False):
    """Mark a view's page as rendered once per data version (see the module's docstring).

    `@cached_page` for a page the same for every visitor; `clock=True` when it also shows
    what is open or upcoming now; `per_user=True` for a coordinator's page.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**kwargs):
            if per_user:
                return _coordinator_page(view, kwargs, clock)
            return _public_page(view, kwargs, clock)

        wrapper.cached_page = {"clock": clock, "per_user": per_user}
        return wrapper

    return decorate(view) if view is not None else decorate


@dataclass
class StoredFragment:
    markup: Markup

    @property
    def size(self):
        return len(self.markup) + 100


def with_fragments(view):
    """For a form page (private, never kept whole) whose template keeps parts with
    `cached_fragment`: reads the data version before the view loads anything."""

    @functools.wraps(view)
    def wrapper(**kwargs):
        serving = current_app.extensions.get(EXTENSION)
        if serving is not None and serving.enabled and request.method == "GET":
            _data_version(serving)
        return view(**kwargs)

    return wrapper


def cached_fragment(name, fresh=False, caller=None):
    """A part of a form page that is the same for every visitor, rendered once per data version.

    `{% call cached_fragment("signer-fields", fresh=form.is_submitted()) %}…{% endcall %}`:
    the form's blank fields (the expensive part of the page) are kept; what is this visitor's
    (the CSRF token, the bot trap's clock, a sent form's answers and errors) stays outside
    the call, or makes it `fresh`, and is rendered by Flask-WTF and WTForms as always.
    """
    serving = current_app.extensions.get(EXTENSION)
    # Kept only when the version was read before the view loaded anything (@with_fragments):
    # then the fragment is at least as new as the version it is filed under.
    version = g.get(_VERSION) if serving is not None and serving.enabled and not fresh else None
    if version is None:
        return caller()
    key = ("fragment", name, request.path, request.query_string, str(get_locale()))
    fragment = serving.pages.get(version, key)
    if fragment is None:
        fragment = StoredFragment(Markup(caller()))
        serving.pages.put(version, key, fragment)
    return fragment.markup


def cache_headers(response):
    """after_request, run last: what HTTP caches may do with this answer.

    A page marked public that went out the same for everyone: `public` with its ETag.
    One that would set a cookie, carries a CSRF token or shows a flash message after all:
    `private, no-store`, like every other answer that has no Cache-Control of its own.
    """
    public = (
        g.get(PUBLIC)
        and response.status_code in (200, 304)
        and not session.modified  # a flash shown (and so taken out), a new CSRF secret, a login
        and "Set-Cookie" not in response.headers
        and not g.get(_csrf_field())
    )
    if public:
        config = current_app.config
        response.headers["Cache-Control"] = (
            f"public, max-age={int(config['PUBLIC_CACHE_MAX_AGE'])}, "
            f"stale-while-revalidate={int(config['PUBLIC_CACHE_STALE_WHILE_REVALIDATE'])}"
        )
        etag = g.get(_ETAG)
        if etag:
            response.headers["ETag"] = f'W/"{etag}"'
        response.vary.update(PUBLIC_VARY)
    elif g.get(PUBLIC) or "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers.pop("ETag", None)
    return response


def init_app(app):
    app.config.setdefault("PUBLIC_CACHE_MAX_AGE", int(os.environ.get("PUBLIC_CACHE_MAX_AGE", "5")))
    app.config.setdefault(
        "PUBLIC_CACHE_STALE_WHILE_REVALIDATE", int(os.environ.get("PUBLIC_CACHE_STALE_WHILE_REVALIDATE", "30"))
    )

    app.jinja_env.globals["cached_fragment"] = cached_fragment

    @app.context_processor
    def page_is_public():
        # base.html sends the CSRF header for htmx only on pages that have something to POST.
        return {"page_is_public": bool(g.get(PUBLIC))}

    # Run after every other after-request hook (they run last registered first): it must see
    # whatever they did to the session and the headers.
    app.after_request_funcs.setdefault(None, []).insert(0, cache_headers)
