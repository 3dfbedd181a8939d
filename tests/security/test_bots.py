"""Naive bots fill every field and submit at once; people do neither."""
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from koalicja.extensions import db
from koalicja.signatures.models import Signature

from ..conftest import VALID_PERSON, csrf_token_from


def signatures(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Signature.id)))


def form_fields(page):
    return {
        "csrf_token": csrf_token_from(page),
        "form_started": re.search(r'name="form_started" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1),
    }


def test_honeypot_looks_like_success_but_stores_nothing(app, client, coalition):
    app.config["BOT_TRAP_ENABLED"] = True
    page = client.get("/sasiedztwa/podpisz")
    response = client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **form_fields(page), "website": "http://spam.example"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/sprawdz-poczte")
    assert signatures(app) == 0


def test_too_fast_submission_is_asked_to_send_again_and_then_works(app, client, coalition, monkeypatch):
    import koalicja.security as security

    app.config["BOT_TRAP_ENABLED"] = True
    page = client.get("/sasiedztwa/podpisz")
    response = client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **form_fields(page)})
    assert response.status_code == 422
    assert "Formularz został wysłany bardzo szybko" in response.get_data(as_text=True)
    assert 'value="Zofia Łukasik"' in response.get_data(as_text=True)
    assert signatures(app) == 0

    clock = security.time.time()
    monkeypatch.setattr(security.time, "time", lambda: clock + 10)  # the person reads the message first
    again = client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **form_fields(response)})
    assert again.status_code == 303
    assert signatures(app) == 1


def test_forged_start_time_is_refused(app, client, coalition):
    app.config["BOT_TRAP_ENABLED"] = True
    page = client.get("/sasiedztwa/podpisz")
    data = {**VALID_PERSON, **form_fields(page), "form_started": "0"}
    assert client.post("/sasiedztwa/podpisz", data=data).status_code == 422
    assert signatures(app) == 0


def test_honeypot_is_hidden_from_people_and_screen_readers(client, coalition):
    page = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    assert re.search(r'<div class="hp" aria-hidden="true">', page)
    assert re.search(r'<input[^>]*id="website"[^>]*tabindex="-1"', page)


# ---- a start time is bound to its session and accepted once (issue 13) -------------------

TOO_FAST = "Formularz został wysłany bardzo szybko"


@pytest.fixture
def later(app, monkeypatch):
    """The bot trap on, and the clock moved on by ten seconds: the person took their time."""
    import koalicja.security as security

    app.config["BOT_TRAP_ENABLED"] = True
    real_time, offset = security.time.time, [0]

    def move_on():
        offset[0] += 10
        monkeypatch.setattr(security.time, "time", lambda: real_time() + offset[0])

    return move_on


def another_person(n):
    return {**VALID_PERSON, "full_name": f"Osoba {n}", "email": f"osoba{n}@example.org"}


def test_a_start_time_is_accepted_once_per_signing(app, client, coalition, later):
    page = client.get("/sasiedztwa/podpisz")
    fields = form_fields(page)
    later()
    first = client.post("/sasiedztwa/podpisz", data={**another_person(1), **fields})
    assert first.status_code == 303
    second = client.post("/sasiedztwa/podpisz", data={**another_person(2), **fields})
    assert second.status_code == 422
    html = second.get_data(as_text=True)
    assert TOO_FAST in html
    assert 'value="Osoba 2"' in html and 'value="osoba2@example.org"' in html  # the typed data is kept
    assert signatures(app) == 1

    # The form shown again carries a fresh start time: sent after a moment, it is accepted.
    later()
    third = client.post("/sasiedztwa/podpisz", data={**another_person(2), **form_fields(second)})
    assert third.status_code == 303
    assert signatures(app) == 2


def test_a_start_time_from_another_session_is_refused(app, client, coalition, later):
    fields = form_fields(client.get("/sasiedztwa/podpisz"))
    bot = app.test_client()
    bot_fields = form_fields(bot.get("/sasiedztwa/podpisz"))
    later()
    # The bot's own session and CSRF token, with a start time issued to someone else.
    response = bot.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **bot_fields, "form_started": fields["form_started"]})
    assert response.status_code == 422
    assert TOO_FAST in response.get_data(as_text=True)
    assert 'value="Zofia Łukasik"' in response.get_data(as_text=True)
    assert signatures(app) == 0
    assert client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **fields}).status_code == 303  # its own session: fine


def test_a_fresh_start_time_is_accepted(app, client, coalition, later):
    fields = form_fields(client.get("/sasiedztwa/podpisz"))
    later()
    assert client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **fields}).status_code == 303
    assert signatures(app) == 1


def test_inline_validation_does_not_spend_the_start_time(app, client, coalition, later):
    fields = form_fields(client.get("/sasiedztwa/podpisz"))
    later()
    assert client.post("/sasiedztwa/podpisz/pole/email", data={**VALID_PERSON, **fields}).status_code == 200
    assert client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **fields}).status_code == 303


def test_a_start_time_older_than_a_day_is_refused(app, client, coalition, monkeypatch):
    import koalicja.security as security

    app.config["BOT_TRAP_ENABLED"] = True
    fields = form_fields(client.get("/sasiedztwa/podpisz"))
    now = security.time.time()
    monkeypatch.setattr(security.time, "time", lambda: now + security.BotTrapMixin.MAX_FILL_SECONDS + 1)
    response = client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **fields})
    assert response.status_code == 422 and TOO_FAST in response.get_data(as_text=True)


def test_one_start_time_posted_ten_times_at_once_is_accepted_once(app, client, coalition, later):
    fields = form_fields(client.get("/sasiedztwa/podpisz"))
    cookie = client.get_cookie("session").value
    later()
    barrier = threading.Barrier(10)

    def post(n):
        browser = app.test_client()
        browser.set_cookie("session", cookie)
        barrier.wait()
        return browser.post("/sasiedztwa/podpisz", data={**another_person(n), **fields}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(post, range(10)))
    assert statuses == [303] + [422] * 9
    assert signatures(app) == 1


def test_purge_forgets_spent_start_times_once_they_are_too_old(app, runner, client, coalition, later):
    from datetime import timedelta

    from koalicja.security import SpentFormStart, forget_spent_form_starts
    from koalicja.timeutil import utcnow

    fields = form_fields(client.get("/sasiedztwa/podpisz"))
    later()
    client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, **fields})
    with app.app_context():
        assert forget_spent_form_starts() == 0  # still within a day: kept, so it stays refused
        assert forget_spent_form_starts(now=utcnow() + timedelta(days=1, minutes=1)) == 1
        assert db.session.scalar(select(func.count()).select_from(SpentFormStart)) == 0
    assert runner.invoke(args=["purge"]).exit_code == 0
