"""Signing through HTTP: bad input is explained in Polish and nothing is stored."""
import re

import pytest
from sqlalchemy import func, select

from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature

from ..conftest import VALID_ORGANISATION, VALID_PERSON, csrf_token_from, sign


def stored_counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Signature.id))),
            db.session.scalar(select(func.count(OutboxMessage.id))),
        )


def test_valid_person_signature_is_stored_unconfirmed_with_its_email_queued(app, client, coalition):
    response = sign(client, **VALID_PERSON)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/sasiedztwa/podpisz/sprawdz-poczte")
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.status == "unconfirmed"
        assert signature.full_name == "Zofia Łukasik"
        assert signature.consents["declaration_sha256"]
        assert signature.consents["public_name"] is True
        [mail] = db.session.scalars(select(OutboxMessage)).all()
        assert mail.recipient == "zofia@example.org"
        assert "/potwierdz/" in mail.body_text


def test_person_signature_drops_organisation_fields(app, client, coalition):
    sign(client, **{**VALID_PERSON, "organisation_name": "Ukryta Fundacja", "sector": "ngo"})
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.kind == "person" and signature.organisation_name == "" and signature.sector is None


LONG_NAME = "A" * 10_000


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "Wpisz imię i nazwisko."),
        ({"full_name": "   "}, "full_name", "Wpisz imię i nazwisko."),
        ({"email": ""}, "email", "Wpisz adres e-mail."),
        ({"email": "zofia.example.org"}, "email", "To nie wygląda na adres e-mail."),
        ({"email": "zofia@"}, "email", "To nie wygląda na adres e-mail."),
        ({"full_name": LONG_NAME}, "full_name", "Wpisz najwyżej 200 znaków."),
        ({"full_name": "<script>alert(1)</script>"}, "full_name", "Usuń znaki &lt; i &gt;."),
        ({"city": "<b>Kraków</b>"}, "city", "Usuń znaki &lt; i &gt;."),
        ({"full_name": "Zofia\nŁukasik"}, "full_name", "Usuń znaki specjalne"),
        ({"accept_declaration": None}, "accept_declaration", "Zaznacz to pole, aby podpisać deklarację."),
        ({"accept_privacy": None}, "accept_privacy", "Bez tej zgody nie możemy przyjąć podpisu."),
        ({"kind": "robot"}, "kind", "Nieprawidłowy wybór"),
    ],
)
def test_bad_input_re_renders_with_polish_message_and_stores_nothing(app, client, coalition, changes, field, message):
    data = {key: value for key, value in {**VALID_PERSON, **changes}.items() if value is not None}
    response = sign(client, **data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page
    assert message in page
    assert "Popraw zaznaczone pola" in page
    # The person's other answers are still in the form.
    if field != "full_name":
        assert 'value="Zofia Łukasik"' in page
    assert stored_counts(app) == (0, 0)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("organisation_name", "Wpisz nazwę organizacji lub instytucji."),
        ("role", "Wpisz swoją funkcję w organizacji."),
        ("sector", "Wybierz rodzaj organizacji."),
        ("authorised", "Potwierdź, że możesz podpisać w imieniu organizacji."),
    ],
)
def test_organisation_needs_its_details_and_authorisation(app, client, coalition, missing, message):
    data = {key: value for key, value in VALID_ORGANISATION.items() if key != missing}
    response = sign(client, **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored_counts(app) == (0, 0)


def test_unknown_sector_is_refused(app, client, coalition):
    response = sign(client, **{**VALID_ORGANISATION, "sector": "mafia"})
    assert "Wybierz rodzaj organizacji z listy." in response.get_data(as_text=True)
    assert stored_counts(app) == (0, 0)


@pytest.mark.parametrize("token", [None, "", "zly-token"])
def test_missing_or_bad_csrf_token_re_renders_the_form_and_stores_nothing(app, client, coalition, token):
    client.get("/sasiedztwa/podpisz")
    data = dict(VALID_PERSON)
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/sasiedztwa/podpisz", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Formularz wygasł" in page
    assert 'value="zofia@example.org"' in page
    assert stored_counts(app) == (0, 0)


def test_inline_validation_answers_with_the_field_fragment(client, coalition):
    response = client.post(
        "/sasiedztwa/podpisz/pole/email", data={"email": "nie-mail"}, headers={"HX-Request": "true"}
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div class="field field--error" id="field-email">')
    assert "To nie wygląda na adres e-mail" in fragment
    assert 'aria-invalid="true"' in fragment
    assert "<html" not in fragment
    assert "HX-Request" in response.headers["Vary"]


def test_inline_validation_of_a_good_value_shows_no_error(client, coalition):
    fragment = client.post("/sasiedztwa/podpisz/pole/email", data={"email": "ok@example.org"}).get_data(as_text=True)
    assert "field--error" not in fragment


def test_inline_validation_refuses_unknown_fields(client, coalition):
    assert client.post("/sasiedztwa/podpisz/pole/password", data={}).status_code == 404


def test_form_links_the_privacy_notice_and_it_names_the_controller(client, coalition):
    form = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    assert 'href="/sasiedztwa/prywatnosc"' in form
    notice = client.get("/sasiedztwa/prywatnosc").get_data(as_text=True)
    assert "Fundacja Testowa" in notice and "RODO" in notice


def test_unknown_coalition_is_a_polish_404(client, coalition):
    response = client.get("/nie-ma-takiej/podpisz")
    assert response.status_code == 404
    assert "Nie ma takiej strony" in response.get_data(as_text=True)


def test_sign_form_page_has_csrf_and_htmx_served_locally(client, coalition):
    page = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    assert csrf_token_from(client.get("/sasiedztwa/podpisz"))
    assert re.search(r'src="/static/[0-9a-f]{16}/js/htmx-2\.0\.11\.min\.js"', page)  # versioned (koalicja/serving/static.py)
    assert "https://" not in page.split("<body")[0]
