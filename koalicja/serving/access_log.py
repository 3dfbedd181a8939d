"""The access log: one JSON line per request on stderr (logger `koalicja.access`).

Fields: time (UTC), method, path (one-time tokens replaced by their route pattern),
endpoint, status, duration in ms, bytes, cache (hit, miss or 304 for cached pages). No query
strings, addresses, cookies or user agents. Lines are written by python-json-logger; a
successful health check is not logged. Static files are answered by WhiteNoise before
Flask and so are not in it (nginx serves them in production and logs them itself).
"""
import logging
import sys
import time

from flask import request
from pythonjsonlogger.json import JsonFormatter

from .pages import OUTCOME

access_log = logging.getLogger("koalicja.access")
_STARTED = "koalicja.serving.started"


def formatter():
    return JsonFormatter([], timestamp="time", json_ensure_ascii=False)


def _start_clock():
    request.environ[_STARTED] = time.perf_counter()


def _logged_path():
    rule = request.url_rule
    if rule is not None and "token" in rule.arguments:
        return rule.rule  # one-time links: the pattern, never the token
    return request.path


def _log_request(response):
    started = request.environ.get(_STARTED)
    if started is None or (request.endpoint == "serving.health" and response.status_code == 200):
        return response
    access_log.info("request", extra={
        "method": request.method,
        "path": _logged_path(),
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "bytes": response.calculate_content_length(),
        "cache": request.environ.get(OUTCOME),
    })
    return response


def init_app(app):
    """On unless ACCESS_LOG is false (off in tests unless asked for)."""
    if not app.config.get("ACCESS_LOG", not app.testing):
        return False
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter())
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    app.before_request_funcs.setdefault(None, []).insert(0, _start_clock)
    app.after_request(_log_request)
    return True
