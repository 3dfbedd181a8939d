"""Rate limits and the login lock-out shared through Redis by several workers and app servers.

Each test serves the app with gunicorn (tests/served.py: production configuration, 2 workers)
and a real `redis-server` on loopback (tests/redis_server.py). The limits do not depend on
the database, so these run on SQLite only (a file shared by every process).
"""
from collections import Counter

import pytest
from sqlalchemy import func, select

from koalicja import create_app
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Signature

from ..conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, VALID_PERSON
from ..redis_server import redis_server  # noqa: F401 (fixture)
from ..served import Visitor, at_once, served_app

SIGNING_PER_ADDRESS = 30  # koalicja/signatures/views.py: "30 per 10 minutes" for one IP address
LOGIN_FAILURES = 5  # koalicja/panel/views.py: "5 per 15 minutes" failed attempts for one mailbox


@pytest.fixture
def site(tmp_path):
    """A coalition with a declaration and one coordinator, in an SQLite file every process opens."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_PROFILE": "CHEAPEST"})
    with app.app_context():
        db.create_all()
        coalition = Coalition(slug="sasiedztwa", name="Koalicja na rzecz sąsiedztw")
        db.session.add_all([coalition, Declaration(coalition=coalition, title="Deklaracja", body="Tekst")])
        db.session.commit()
        coordinator = create_coordinator(COORDINATOR_EMAIL, "Koordynatorka", COORDINATOR_PASSWORD)
        coordinator.coalitions.append(coalition)
        db.session.commit()
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()
    return url


def limits_in(storage_uri, **env):
    return {"RATELIMIT_ENABLED": "true", "RATELIMIT_STORAGE_URI": storage_uri, **env}


def sign_as(base_url, number):
    """One person (own browser, own address) signs; returns the status of the POST."""
    visitor = Visitor(base_url)
    person = {**VALID_PERSON, "email": f"osoba{number}@example.org", "full_name": f"Osoba {number}"}
    return visitor.post_form("/sasiedztwa/podpisz", person).status


def signatures_in(url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        count = db.session.scalar(select(func.count(Signature.id)))
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()
    return count


def test_the_signing_limit_holds_across_two_workers(site, tmp_path, redis_server):  # noqa: F811
    # Counted in each worker's memory (what production now refuses): the workers let through
    # more than the limit between them. This also shows the requests reach both workers.
    development = limits_in("memory://", KOALICJA_ENV="development")
    with served_app(site, tmp_path, workers=2, env=development) as base_url:
        alone = at_once(100, lambda number: sign_as(base_url, number))
    assert set(alone) <= {303, 429}, Counter(alone)
    assert alone.count(303) > SIGNING_PER_ADDRESS, alone.count(303)

    with served_app(site, tmp_path, workers=2, env=limits_in(redis_server.url)) as base_url:
        shared = at_once(100, lambda number: sign_as(base_url, 1000 + number))
    assert (shared.count(303), shared.count(429)) == (SIGNING_PER_ADDRESS, 100 - SIGNING_PER_ADDRESS), Counter(shared)
    assert signatures_in(site) == alone.count(303) + SIGNING_PER_ADDRESS


def test_the_signing_limit_holds_across_two_app_servers_sharing_one_redis(site, tmp_path, redis_server):  # noqa: F811
    env = limits_in(redis_server.url)
    with served_app(site, tmp_path, workers=2, env=env) as first, served_app(site, tmp_path, workers=2, env=env) as second:
        servers = (first, second)
        results = at_once(100, lambda number: (number % 2, sign_as(servers[number % 2], number)))
    statuses = Counter(results)  # (server, status): how many
    assert sorted(status for _, status in results) == [303] * SIGNING_PER_ADDRESS + [429] * (100 - SIGNING_PER_ADDRESS), statuses
    assert statuses[0, 303] and statuses[1, 303], statuses  # each server took some of them


def test_the_login_lock_out_holds_across_workers_and_app_servers(site, tmp_path, redis_server):  # noqa: F811
    env = limits_in(redis_server.url)
    with served_app(site, tmp_path, workers=2, env=env) as first, served_app(site, tmp_path, workers=2, env=env) as second:
        codes = []
        for attempt in range(8):  # one guess after another, each on a new connection, alternating servers
            visitor = Visitor((first, second)[attempt % 2])
            guess = {"email": COORDINATOR_EMAIL, "password": f"zgaduje-{attempt}"}
            codes.append(visitor.post_form("/panel/logowanie", guess).status)
        assert codes == [422] * LOGIN_FAILURES + [429] * (8 - LOGIN_FAILURES)
        # The right password waits out the lock on every worker of every server.
        for base_url in (first, second, first, second):
            right = {"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD}
            assert Visitor(base_url).post_form("/panel/logowanie", right).status == 429


LOGIN_ATTEMPTS = 10  # koalicja/panel/views.py: "10 per 15 minutes" attempts of any kind for one mailbox


def test_guesses_sent_at_the_same_moment_from_many_addresses_are_bounded(site, tmp_path, redis_server):  # noqa: F811
    """30 wrong passwords for one mailbox at once, each from another (forwarded) IP address.

    The failures' limit counts a guess only once it has failed, so a burst passes it; the
    attempts' limit counts before the password is checked (atomically, in Redis).
    """
    env = limits_in(redis_server.url, TRUSTED_PROXIES="1")
    with served_app(site, tmp_path, workers=2, threads=8, env=env) as base_url:
        visitors = [Visitor(base_url) for _ in range(30)]
        tokens = [visitor.get("/panel/logowanie").csrf_token for visitor in visitors]

        def guess(number):
            data = {"csrf_token": tokens[number], "email": COORDINATOR_EMAIL, "password": f"zgaduje-{number}"}
            return visitors[number].post("/panel/logowanie", data, headers={"X-Forwarded-For": f"198.51.100.{number + 1}"}).status

        codes = Counter(at_once(30, guess))
        assert codes[422] <= LOGIN_ATTEMPTS and codes[422] + codes[429] == 30, codes
        right = {"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD}
        assert Visitor(base_url).post_form("/panel/logowanie", right).status == 429


def test_with_redis_down_signing_goes_on_and_each_process_still_counts(site, tmp_path, redis_server):  # noqa: F811
    """The decision (koalicja/config.py): Redis down means each process counts in its own memory.

    Nobody is refused a signing because Redis is gone, and the limits still apply, per worker,
    until Redis answers again.
    """
    with served_app(site, tmp_path, workers=1, env=limits_in(redis_server.url)) as base_url:
        assert sign_as(base_url, 0) == 303
        redis_server.stop()
        statuses = [sign_as(base_url, number) for number in range(1, SIGNING_PER_ADDRESS + 5)]
        assert statuses == [303] * SIGNING_PER_ADDRESS + [429] * 4  # the fallback counts from zero
        # A coordinator can still log in.
        login = Visitor(base_url).post_form("/panel/logowanie", {"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD})
        assert login.status == 303
        log = (tmp_path / f"gunicorn-{base_url.rsplit(':', 1)[1]}.log").read_text()
    assert "falling back to in-memory storage" in log
    assert signatures_in(site) == 1 + SIGNING_PER_ADDRESS


def test_production_refuses_per_worker_limits_with_two_workers(site, tmp_path):
    for preload in ("true", "false"):
        with pytest.raises(RuntimeError) as refused:
            with served_app(site, tmp_path, workers=2, env=limits_in("memory://", GUNICORN_PRELOAD=preload)):
                pass
        assert "RATELIMIT_STORAGE_URI is memory:// but gunicorn runs 2 workers" in str(refused.value), preload
    # One worker counts everything itself: that may run.
    with served_app(site, tmp_path, workers=1, env=limits_in("memory://")) as base_url:
        assert sign_as(base_url, 0) == 303
