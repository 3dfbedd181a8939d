"""Naive bots fill every field and submit at once; people do neither."""
import re

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
