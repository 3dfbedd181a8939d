"""200 people press "Zapisz się" at the same moment for 50 places, against a real server process."""
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

from sqlalchemy import func, select

from koalicja import create_app
from koalicja.declarations.models import Coalition, Declaration
from koalicja.events.models import HOLDING_PLACE, Event, Registration, RegistrationStatus
from koalicja.extensions import db
from koalicja.timeutil import utcnow

from ..conftest import free_port

PROJECT = Path(__file__).resolve().parents[2]
PEOPLE = 200
CAPACITY = 50


def _start_server(database_url, port, log):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "concurrency-test",
        "RATELIMIT_ENABLED": "false",
        "BOT_TRAP_ENABLED": "false",  # the 200 people here submit at machine speed
        "KOALICJA_ENV": "production",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "8", "--bind", f"127.0.0.1:{port}", "app:app"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
            return server
        except OSError:  # refused while starting, or slow on a busy machine
            time.sleep(0.2)
    server.kill()
    server.wait()
    raise RuntimeError(f"gunicorn did not start; see {log.name}")


def test_capacity_holds_under_200_simultaneous_registrations(tmp_path, database_url):
    """On SQLite and on PostgreSQL (the `database_url` fixture: a fresh, empty database on each)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "concurrency-test", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.create_all()
        coalition = Coalition(slug="sasiedztwa", name="Koalicja")
        start = utcnow() + __import__("datetime").timedelta(days=5)
        db.session.add_all(
            [
                coalition,
                Declaration(coalition=coalition, title="Deklaracja", body="Tekst"),
                Event(coalition=coalition, slug="gala", title="Gala", starts_at=start, ends_at=start, capacity=CAPACITY, status="published"),
            ]
        )
        db.session.commit()

    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    try:
        server = _start_server(database_url, port, log)
    except RuntimeError:
        log.close()
        raise
    url = f"http://127.0.0.1:{port}/sasiedztwa/wydarzenia/gala"
    barrier = threading.Barrier(PEOPLE, timeout=60)
    statuses = [None] * PEOPLE

    def person(number):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(url + "/zapisz", timeout=60).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"csrf_token": token, "full_name": f"Osoba {number}", "email": f"osoba{number}@example.org", "accept_privacy": "y"}
        ).encode()
        barrier.wait()
        try:
            response = opener.open(url, data=data, timeout=120)
            statuses[number] = response.status  # the 303 was followed to the "check your inbox" page
            response.close()
        except urllib.error.HTTPError as error:
            statuses[number] = error.code

    try:
        threads = [threading.Thread(target=person, args=(n,)) for n in range(PEOPLE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    assert statuses == [200] * PEOPLE, {code: statuses.count(code) for code in set(statuses)}
    with app.app_context():
        held = db.session.scalar(
            select(func.sum(1 + Registration.companions)).where(Registration.status.in_(HOLDING_PLACE))
        )
        waiting = db.session.scalar(select(func.count(Registration.id)).where(Registration.status == RegistrationStatus.WAITING))
        total = db.session.scalar(select(func.count(Registration.id)))
        emails = db.session.scalar(select(func.count(func.distinct(Registration.email))))
        db.session.remove()
        db.engine.dispose()
    assert (held, waiting, total, emails) == (CAPACITY, PEOPLE - CAPACITY, PEOPLE, PEOPLE)
