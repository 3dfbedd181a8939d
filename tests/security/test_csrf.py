"""Every state-changing request needs the CSRF token, htmx ones included (in a header)."""
import pytest
from sqlalchemy import func, select

from koalicja.extensions import db
from koalicja.signatures.models import Signature

from ..conftest import VALID_PERSON

pytestmark = pytest.mark.one_engine


@pytest.mark.parametrize(
    "path",
    [
        "/panel/wyloguj",
        "/panel/podpisy/1/decyzja",
        "/panel/podpisy/decyzje",
        "/panel/wydarzenia/1/publikuj",
        "/panel/wydarzenia/1/odwolaj",
        "/panel/wydarzenia/zapisy/1/obecnosc",
        "/panel/haslo",
        "/panel/dane-osobowe/",
        "/panel/wydarzenia/nowe",
        "/potwierdz/x",
        "/wycofaj/x",
        "/wydarzenia/potwierdz/x",
        "/wydarzenia/rezygnacja/x",
    ],
)
def test_posts_without_token_are_refused_even_when_logged_in(client, auth, coalition, path):
    auth.login()
    for headers in ({}, {"HX-Request": "true"}, {"HX-Request": "true", "X-CSRFToken": "podrobiony"}):
        response = client.post(path, data={"decision": "approve", "ids": "1"}, headers=headers)
        assert response.status_code in (400, 422), (path, headers, response.status_code)
    assert client.get("/panel/podpisy").status_code == 200  # still logged in: logout needed the token


def test_token_from_another_session_does_not_work(app, client, coalition):
    from ..conftest import csrf_token_from

    stranger = app.test_client()
    foreign_token = csrf_token_from(stranger.get("/sasiedztwa/podpisz"))
    client.get("/sasiedztwa/podpisz")
    response = client.post("/sasiedztwa/podpisz", data={**VALID_PERSON, "csrf_token": foreign_token})
    assert response.status_code == 422
    assert "Formularz wygasł" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0
