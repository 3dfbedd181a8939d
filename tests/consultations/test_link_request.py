""""Nie mam linku": the personal link again, by e-mail, to an address on a running consultation's
roll; the answer never tells whether the address is on it; limited like the other link forms."""
import pytest
from sqlalchemy import select

from koalicja.extensions import db, limiter
from koalicja.mail.models import OutboxMessage

from ..conftest import SLUG, csrf_token_from, without_csrf_token
from .conftest import open_now

FORM = f"/{SLUG}/konsultacje/nie-mam-linku"
INVITATION = "consultation_invitation_to_member"


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True}


@pytest.fixture(autouse=True)
def fresh_limits(app):
    limiter.reset()


def outbox_ids():
    return set(db.session.scalars(select(OutboxMessage.id)))


def ask(client, email, address="10.2.0.1"):
    token = csrf_token_from(client.get(FORM))
    return client.post(FORM, data={"email": email, "csrf_token": token}, environ_base={"REMOTE_ADDR": address})


def test_the_answer_is_the_same_whether_the_address_is_on_the_roll_or_not(app, client, allies, coordinator):
    with app.app_context():
        open_now(coordinator)
        before = outbox_ids()
    pages = []
    for address in ("zofia@example.org", "obca@example.org"):
        response = ask(client, address)
        assert response.status_code == 303 and response.headers["Location"] == f"{FORM}/wyslano"
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert address in page
        pages.append(without_csrf_token(page.replace(address, "ADDRESS")))
    assert pages[0] == pages[1]
    with app.app_context():
        sent = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.not_in(before))).all()
        assert [(m.template, m.recipient) for m in sent] == [(INVITATION, "zofia@example.org")]


@pytest.mark.one_engine
def test_a_mistyped_address_is_shown_again_with_the_error(app, client, coalition):
    response = ask(client, "zofia.example.org")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "To nie wygląda na adres e-mail." in page and 'value="zofia.example.org"' in page
    assert response.headers["X-Robots-Tag"] == "noindex"
    with app.app_context():
        assert outbox_ids() == set()


def test_requests_are_limited_per_mailbox(app, client, allies, coordinator):
    with app.app_context():
        open_now(coordinator)
        before = outbox_ids()
    codes = [ask(client, "zofia@example.org", address=f"10.3.0.{number}").status_code for number in range(4)]
    assert codes == [303, 303, 303, 429]
    with app.app_context():
        assert len(outbox_ids() - before) == 3
