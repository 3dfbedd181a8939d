"""The app served for real, for tests that race or go through other processes.

`served_app(database_url, log_dir, …)` starts gunicorn with the production configuration
(koalicja/gunicorn_conf.py: gthread workers, preloaded app) on a free port of 127.0.0.1 and
yields its base URL; `Visitor` is one browser-like HTTP client (own cookies, CSRF token
from the page, no redirects followed unless asked); `at_once(n, task)` runs `task(i)` in n
threads released together by a barrier, so the requests really overlap.
"""
import contextlib
import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from koalicja import create_app
from koalicja.extensions import db

from .conftest import free_port

PROJECT = Path(__file__).resolve().parents[1]
SECRET_KEY = "served-test-secret-key-of-enough-length"


@contextlib.contextmanager
def served_app(database_url, log_dir, workers=2, threads=4, env=None, port=None):
    """gunicorn serving `app:app` on `database_url`; yields "http://127.0.0.1:PORT".

    The schema and data are the caller's (create them before). Rate limits and the bot trap
    are off unless `env` turns them on: these tests submit at machine speed.
    """
    port = port or free_port()
    log_path = Path(log_dir) / f"gunicorn-{port}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "KOALICJA_ENV": "production",
        "RATELIMIT_ENABLED": "false",
        "BOT_TRAP_ENABLED": "false",
        "MAIL_BACKEND": "file",
        "MAIL_OUTBOX_DIR": str(Path(log_dir) / "outbox"),
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        **(env or {}),
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:koalicja.gunicorn_conf", "app:app"],
            cwd=PROJECT, env=environment, stdout=log, stderr=log,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base_url, server, log_path)
            yield base_url
        finally:
            stop_process(server, timeout=30)


@contextlib.contextmanager
def served_race(request, directory, seed):
    """For a module of race tests: a fresh database on the engine of `request.param` ("sqlite" or
    "postgresql"), its tables, `seed()` run in an app context (it commits), and the app served by
    gunicorn (2 workers × 4 threads). Yields (app in this process, database URL, base URL); at
    the end the server stops and the database goes."""
    if request.param == "sqlite":
        url, cluster = f"sqlite:///{Path(directory) / 'races.sqlite'}", None
    else:
        cluster = request.getfixturevalue("postgresql")
        url = cluster.create_database()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_PROFILE": "CHEAPEST"}
    )
    with app.app_context():
        db.create_all()
        seed()
        db.session.remove()
    try:
        with served_app(url, directory, workers=2, threads=4) as base_url:
            yield app, url, base_url
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["koalicja.serving"].close()
        if cluster is not None:
            cluster.drop_database(url)


def stop_process(process, timeout=15):
    """Ask a server to stop (SIGTERM: gunicorn and nginx finish what they serve), kill it if it hangs."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_up(base_url, server, log_path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            urllib.request.urlopen(f"{base_url}/zdrowie", timeout=5).close()
            return
        except urllib.error.HTTPError:
            return  # it answers (503 is still an answer: the test decides)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start within {timeout} s:\n{log_path.read_text()}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def csrf_token(self):
        match = _CSRF.search(self.text)
        assert match, f"no CSRF token in the page ({self.status})"
        return match.group(1) or match.group(2)


class Visitor:
    """One person's browser: its own cookie jar; redirects are not followed (tests look at them)."""

    def __init__(self, base_url, follow_redirects=False):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.cookies)]
        if not follow_redirects:
            handlers.append(_NoRedirects())
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, method, path, data=None, headers=None, timeout=120):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, error.headers, error.read())

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, data, **kwargs):
        return self.request("POST", path, data=data, **kwargs)

    def post_form(self, form_path, data, action=None, **kwargs):
        """Load the form page for its CSRF token, then post the form to `action` (default: the same path)."""
        token = self.get(form_path).csrf_token
        return self.post(action or form_path, {"csrf_token": token, **data}, **kwargs)

    def login(self, email, password):
        response = self.post_form("/panel/logowanie", {"email": email, "password": password})
        assert response.status == 303, (response.status, response.text[:500])
        return response


def at_once(count, task, timeout=180):
    """Run task(0) … task(count-1) in threads started together; returns their results in order.

    A task that raises makes this raise too, after every thread has finished.
    """
    barrier = threading.Barrier(count, timeout=60)
    results = [None] * count
    errors = []

    def run(number):
        try:
            barrier.wait()
            results[number] = task(number)
        except BaseException as error:  # noqa: B036 (reported to the caller below)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    return results
