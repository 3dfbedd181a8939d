"""Serving in production: every request goes through Flask, and HTTP says what may be kept.

One job per module:
- `version`: the data version, bumped in every writing transaction; keys the page cache and ETags.
- `pages`: `@cached_page` on a view, the per-worker page cache, ETag/304 and Cache-Control
  (public pages `public, max-age=N, stale-while-revalidate=M`; everything else `private, no-store`).
- `compression`: gzip, with a form's CSRF token in stored deflate blocks (BREACH); no
  compression of coordinators' pages.
- `static`: static files through WhiteNoise under a versioned, immutable URL.
- `health`: `/zdrowie` for load balancers and monitors.
- `access_log`: one JSON line per request (python-json-logger), without queries or tokens.

The nginx cache in front (deploy/) stores what is marked public, keyed as pages.py's docstring
and the README describe; the app never answers a request behind Flask's back.
"""
import hashlib

from ..extensions import db
from . import access_log, compression, health, pages, static, version
from .compression import gzip_parts
from .pages import EXTENSION, PageCache, cached_page, data_version, deploy_fingerprint, with_fragments
from .version import UNVERSIONED_TABLES, DataVersion

__all__ = ["DataVersion", "UNVERSIONED_TABLES", "cached_page", "data_version", "with_fragments", "gzip_parts", "init_app", "after_fork"]


class Serving:
    """Per-app state: the version reader, the page cache and the deploy's fingerprint."""

    def __init__(self, app):
        self.reader = version.init_app(app)
        self.pages = PageCache(int(app.config.get("PAGE_CACHE_MAX_BYTES", 4 * 1024 * 1024)))
        self.enabled = bool(app.config.get("PAGE_CACHE_ENABLED", True))
        self.deploy = deploy_fingerprint(app.root_path, app.template_folder, app.static_folder)

    def etag(self, data_version, key):
        """A weak validator (the page goes out gzipped or not) for this deploy, data version and page."""
        raw = f"{self.deploy}|{data_version}|{key!r}".encode()
        return hashlib.blake2b(raw, digest_size=12).hexdigest()

    def close(self):
        """Close the version reader's connections (tests that drop their database call this)."""
        self.reader.engine.dispose()


def after_fork(app):
    """In a new worker process (gunicorn post_fork): connections are never shared with the parent."""
    serving = getattr(app, "extensions", {}).get(EXTENSION)
    if serving is None:
        return  # not this app (e.g. the benchmark's bare Flask)
    with app.app_context():
        db.engine.dispose(close=False)
    serving.reader.engine.dispose(close=False)


def init_app(app):
    app.extensions[EXTENSION] = Serving(app)
    pages.init_app(app)
    health.init_app(app)
    static.init_app(app)
    access_log.init_app(app)  # before compression: its hook runs after it and logs the bytes sent
    app.after_request(compression.compress)
