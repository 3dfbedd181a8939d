"""Sessions: fresh on login, ended on the server by logging out and everywhere by a password
change; an ended session sends the coordinator to log in and back to the page they were on."""
from urllib.parse import parse_qs, urlsplit

import pytest

from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.signatures.models import SignatureStatus

from ..conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, Auth, csrf_token_from
from ..panel.test_views import add_signature, status_of


def test_session_is_rotated_on_login(client, auth, coalition):
    client.get("/panel/logowanie")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def test_password_change_logs_out_other_sessions(app, client, auth, coalition):
    other_device = app.test_client()
    Auth(other_device).login()
    assert other_device.get("/panel/podpisy").status_code == 200

    auth.login()
    page = client.get("/panel/haslo")
    response = client.post(
        "/panel/haslo",
        data={
            "csrf_token": csrf_token_from(page),
            "current_password": COORDINATOR_PASSWORD,
            "new_password": "nowe-dlugie-haslo",
            "repeat_password": "nowe-dlugie-haslo",
        },
    )
    assert response.status_code == 303
    assert client.get("/panel/podpisy").status_code == 200  # this browser stays in
    assert other_device.get("/panel/podpisy").status_code == 302  # the other one is out
    assert Auth(app.test_client()).login(password="nowe-dlugie-haslo").status_code == 303


def test_password_change_needs_the_current_password(client, auth, coalition):
    auth.login()
    page = client.get("/panel/haslo")
    response = client.post(
        "/panel/haslo",
        data={"csrf_token": csrf_token_from(page), "current_password": "zgadywane", "new_password": "x" * 12, "repeat_password": "x" * 12},
    )
    assert response.status_code == 422
    assert "Obecne hasło jest nieprawidłowe." in response.get_data(as_text=True)


# ---- logout ends the session on the server (issue 13) -------------------------------------



def copy_of_session(app, client):
    """Another browser holding a copy of `client`'s session cookie (what an attacker would steal)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def approve(client, signature_id, csrf_token):
    return client.post(f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve", "csrf_token": csrf_token})


def test_a_copied_cookie_is_refused_after_logout(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    token = auth.csrf()
    thief = copy_of_session(app, client)
    assert thief.get("/panel/podpisy").status_code == 200  # the copy works while signed in

    assert client.post("/panel/wyloguj", data={"csrf_token": token}).status_code == 303
    response = approve(thief, signature_id, token)
    assert response.status_code == 303 and "/panel/logowanie" in response.headers["Location"]
    assert status_of(app, signature_id) == SignatureStatus.CONFIRMED  # no decision made
    assert thief.get("/panel/podpisy").status_code == 302
    assert auth.login().status_code == 303  # signing in again works


def test_set_password_link_signs_out_every_other_session(app, client, auth, coordinator):
    from koalicja.panel.operations import set_password_url

    signature_id = add_signature(app)
    auth.login()
    token = auth.csrf()
    with app.test_request_context():
        link = set_password_url(db.session.get(Coordinator, coordinator))
    other = app.test_client()
    page = other.get(link.removeprefix(app.config["BASE_URL"]))
    response = other.post(
        link.removeprefix(app.config["BASE_URL"]),
        data={"csrf_token": csrf_token_from(page), "new_password": "nowe-dlugie-haslo", "repeat_password": "nowe-dlugie-haslo"},
    )
    assert response.status_code == 303
    refused = approve(client, signature_id, token)
    assert refused.status_code == 303 and "/panel/logowanie" in refused.headers["Location"]
    assert status_of(app, signature_id) == SignatureStatus.CONFIRMED


# ---- an ended session under htmx and for plain POSTs (issue 13) ---------------------------


def next_of(location):
    return parse_qs(urlsplit(location).query).get("next", [None])[0]


def signed_out_elsewhere(app, client, auth):
    """A session that was signed in and has ended on the server (its token is no longer valid)."""
    auth.login()
    token = auth.csrf()
    with app.app_context():
        db.session.scalar(db.select(Coordinator)).session_token = "ended"
        db.session.commit()
    return token


def test_htmx_action_after_the_session_ended_redirects_the_whole_page(app, client, auth, coalition):
    signature_id = add_signature(app)
    token = signed_out_elsewhere(app, client, auth)
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve"},
        headers={
            "HX-Request": "true",
            "HX-Target": f"signature-{signature_id}",
            "HX-Current-URL": "http://localhost/panel/podpisy?stan=confirmed&q=Zofia",
            "X-CSRFToken": token,
        },
    )
    assert response.status_code == 401
    assert response.get_data() == b""  # nothing to swap into the row
    assert "HX-Request" in response.headers["Vary"]
    location = response.headers["HX-Redirect"]
    assert urlsplit(location).path == "/panel/logowanie"
    assert next_of(location) == "/panel/podpisy?stan=confirmed&q=Zofia"
    assert status_of(app, signature_id) == SignatureStatus.CONFIRMED

    # After logging in, the coordinator is back on the queue they were looking at.
    login_page = client.get(location)
    assert "Zaloguj się, aby zobaczyć tę stronę." in login_page.get_data(as_text=True)
    signed_in = client.post(
        location, data={"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD, "csrf_token": csrf_token_from(login_page)}
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/panel/podpisy?stan=confirmed&q=Zofia"
    assert client.get(signed_in.headers["Location"]).status_code == 200


@pytest.mark.parametrize(
    "current_url",
    [
        None,
        "https://evil.example/panel/podpisy",  # another site
        "http://localhost//evil.example/",
        "http://localhost/panel/podpisy/1/decyzja",  # a POST-only action
        "http://localhost/panel/wyloguj",
        "javascript:alert(1)",
    ],
)
def test_htmx_next_is_never_another_site_nor_a_post_only_url(app, client, auth, coalition, current_url):
    signature_id = add_signature(app)
    token = signed_out_elsewhere(app, client, auth)
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    if current_url:
        headers["HX-Current-URL"] = current_url
    response = client.post(f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve"}, headers=headers)
    assert response.status_code == 401
    assert next_of(response.headers["HX-Redirect"]) == "/panel/"


def test_plain_post_after_the_session_ended_returns_to_the_page_that_sent_it(app, client, auth, coalition):
    signature_id = add_signature(app)
    token = signed_out_elsewhere(app, client, auth)
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve", "csrf_token": token},
        headers={"Referer": "http://localhost/panel/podpisy?stan=confirmed"},
    )
    assert response.status_code == 303
    assert next_of(response.headers["Location"]) == "/panel/podpisy?stan=confirmed"

    without_referer = client.post(f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve", "csrf_token": token})
    assert next_of(without_referer.headers["Location"]) == "/panel/"  # never the POST-only action
    login_page = client.get(without_referer.headers["Location"])
    signed_in = client.post(
        without_referer.headers["Location"],
        data={"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD, "csrf_token": csrf_token_from(login_page)},
    )
    assert client.get(signed_in.headers["Location"], follow_redirects=True).status_code == 200  # no 405
    assert status_of(app, signature_id) == SignatureStatus.CONFIRMED


def test_a_page_opened_after_the_session_ended_comes_back_after_login(app, client, auth, coalition):
    signed_out_elsewhere(app, client, auth)
    response = client.get("/panel/podpisy?stan=approved")
    assert response.status_code == 302
    assert next_of(response.headers["Location"]) == "/panel/podpisy?stan=approved"


def test_htmx_action_without_any_session_cookie_also_goes_to_the_login_page(app, client, auth, coalition):
    """The browser dropped the cookie altogether: the CSRF check fails first, and the answer is the
    same redirect to the login page rather than a 400 that htmx would not show."""
    signature_id = add_signature(app)
    auth.login()
    token = auth.csrf()
    client.delete_cookie("session")
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/panel/podpisy", "X-CSRFToken": token},
    )
    assert response.status_code == 401
    assert next_of(response.headers["HX-Redirect"]) == "/panel/podpisy"
    assert status_of(app, signature_id) == SignatureStatus.CONFIRMED
