"""Injection attempts through HTTP: markup, e-mail headers, open redirects, path traversal."""
import pytest
from sqlalchemy import select

from koalicja.events.operations import message_registrants, register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.mail.operations import compose
from koalicja.signatures.models import Signature

from ..conftest import VALID_ORGANISATION, csrf_token_from, sign
from ..events.conftest import event_url, load_event, make_event


def test_markup_in_event_description_and_accessibility_is_escaped(app, client, coalition):
    make_event(
        app,
        description="<img src=x onerror=alert(1)> [klik](javascript:alert(1)) **ok**",
        accessibility="<script>alert(2)</script>",
        summary="<b>x</b>",
    )
    page = client.get(event_url()).get_data(as_text=True)
    assert "<img src=x" not in page and "<script>alert(2)" not in page and "<b>x</b>" not in page
    assert 'href="javascript:' not in page
    assert "<strong>ok</strong>" in page


def test_markup_in_names_is_refused_at_the_door(app, client, coalition):
    response = sign(client, **{**VALID_ORGANISATION, "organisation_name": '"><svg onload=alert(1)>'})
    assert response.status_code == 422
    assert "<svg onload" not in response.get_data(as_text=True)


def test_search_parameter_is_escaped(client, coalition):
    page = client.get('/sasiedztwa/sojusznicy?q="><script>alert(1)</script>').get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&#34;&gt;&lt;script&gt;" in page or "&quot;&gt;&lt;script&gt;" in page


@pytest.mark.parametrize("name", ["Zofia\r\nBcc: ofiara@example.org", "Zofia\nSubject: spam"])
def test_newlines_cannot_reach_email_headers(app, client, coalition, name):
    response = sign(client, **{**VALID_ORGANISATION, "full_name": name})
    assert response.status_code == 422
    with app.app_context():  # nothing stored, nothing queued
        assert db.session.scalars(select(OutboxMessage.recipient)).all() == []
        assert db.session.scalars(select(Signature.id)).all() == []


def test_coordinator_subject_with_newlines_is_refused(app, client, auth, coalition):
    event_id = make_event(app)
    with app.app_context():
        register(load_event(event_id), {"full_name": "A", "email": "a@example.org"})
    auth.login()
    page = client.get(f"/panel/wydarzenia/{event_id}/wiadomosc")
    response = client.post(
        f"/panel/wydarzenia/{event_id}/wiadomosc",
        data={"csrf_token": csrf_token_from(page), "audience": "wszyscy", "subject": "Hej\r\nBcc: x@example.org", "body": "x"},
    )
    assert response.status_code == 422
    assert "Hej" in response.get_data(as_text=True)  # the form again, with the input
    with app.app_context():  # the registrant got the confirmation link, and no message
        assert db.session.scalars(select(OutboxMessage.template)).all() == ["registration_confirm_to_registrant"]


def test_outbox_refuses_to_compose_injected_headers(app, coalition):
    """A last line of defence: even a row written around the forms cannot smuggle a header."""
    event_id = make_event(app)
    with app.app_context():
        register(load_event(event_id), {"full_name": "A", "email": "a@example.org"})
        message_registrants(load_event(event_id), "Temat\r\nBcc: ofiara@example.org", "Treść", "wszyscy")
        row = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        with pytest.raises(ValueError):
            compose(row, app.config)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"])
def test_login_next_parameter_cannot_leave_the_site(client, auth, target):
    token = csrf_token_from(client.get("/panel/logowanie"))
    response = client.post(
        "/panel/logowanie", query_string={"next": target}, data={"email": "koordynatorka@example.org", "password": "bardzo-tajne-haslo", "csrf_token": token}
    )
    assert response.headers["Location"] == "/panel/podpisy"


@pytest.mark.parametrize(
    "path",
    ["/static/../koalicja/config.py", "/static/..%2fkoalicja%2fconfig.py", "/static/%2e%2e/instance/koalicja.sqlite", "/static//etc/passwd"],
)
def test_static_files_cannot_escape_their_folder(client, path):
    response = client.get(path, follow_redirects=True)  # werkzeug first merges double slashes
    assert response.status_code == 404
    assert b"SECRET_KEY" not in response.data and b"root:" not in response.data
