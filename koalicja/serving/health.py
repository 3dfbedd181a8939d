"""`/zdrowie`: whether this app server can answer (for load balancers and monitors).

Healthy means the database answers a query *and* takes a write (a statement that would
write and changes nothing, rolled back: a read-only database, a PostgreSQL standby or
`default_transaction_read_only` fail it), and every folder the app writes into (scans,
logos, the SQLite database) has at least HEALTH_MIN_FREE_BYTES free. Otherwise 503, with
what failed: `database` is `unavailable` or `read-only`, `disk` is `nearly-full`.
"""
import os
import shutil
from pathlib import Path

from flask import current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, limiter

# 100 MiB: room for ten scans of the largest size (SCAN_MAX_BYTES, 10 MB), the SQLite write-ahead
# log's growth and a night's backup; below it, new uploads and writes may fail any minute.
HEALTH_MIN_FREE_BYTES = 100 * 1024 * 1024


def database_state():
    """"ok", "unavailable" (no answer to a query) or "read-only" (answers, refuses writes)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return "unavailable"
    try:
        # A write that matches no row: the engine still checks that it may write (SQLite takes
        # its write lock, PostgreSQL refuses it in a read-only transaction); then rolled back.
        db.session.execute(text("DELETE FROM data_version WHERE id < 0"))
    except SQLAlchemyError:
        return "read-only"
    finally:
        db.session.rollback()
    return "ok"


def written_folders():
    """The folders the app writes files into (the nearest existing one, for one not made yet)."""
    config = current_app.config
    folders = [config.get("SCAN_FOLDER"), config.get("LOGO_FOLDER")]
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folders.append(str(Path(url.database.removeprefix("file:").split("?")[0]).parent))
    existing = []
    for folder in filter(None, folders):
        path = Path(folder).absolute()
        while not path.exists() and path != path.parent:
            path = path.parent
        existing.append(path)
    return existing


def disk_state():
    """"ok", or "nearly-full" when a folder the app writes into has less than HEALTH_MIN_FREE_BYTES free."""
    minimum = int(current_app.config.get("HEALTH_MIN_FREE_BYTES", HEALTH_MIN_FREE_BYTES))
    for folder in written_folders():
        try:
            if shutil.disk_usage(folder).free < minimum:
                return "nearly-full"
        except OSError:
            return "nearly-full"  # a folder we cannot even look at cannot take a file either
    return "ok"


def health():
    """200 when the database answers and takes writes and the disk has room, else 503."""
    database = database_state()
    disk = disk_state()
    body = {"status": "ok" if database == disk == "ok" else "error", "database": database}
    if disk != "ok":
        body["disk"] = disk
    response = jsonify(body)
    response.status_code = 200 if body["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.config.setdefault("HEALTH_MIN_FREE_BYTES", int(os.environ.get("HEALTH_MIN_FREE_BYTES", HEALTH_MIN_FREE_BYTES)))
    app.add_url_rule("/zdrowie", endpoint="serving.health", view_func=limiter.exempt(health))
