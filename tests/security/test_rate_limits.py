"""Flask-Limiter: per IP and per mailbox, on every form that sends mail or checks a password."""
import pytest

from koalicja.extensions import limiter

from ..conftest import VALID_PERSON, csrf_token_from


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True}


@pytest.fixture(autouse=True)
def fresh_limits(app):
    limiter.reset()


def test_signing_is_limited_per_mailbox(app, client, coalition):
    codes = []
    for number in range(7):
        visitor = app.test_client()  # fresh session each time, as from different browsers
        token = csrf_token_from(visitor.get("/sasiedztwa/podpisz"))
        data = {**VALID_PERSON, "csrf_token": token}
        codes.append(visitor.post("/sasiedztwa/podpisz", data=data, environ_base={"REMOTE_ADDR": f"10.0.0.{number}"}).status_code)
    assert codes[:5] == [303] * 5
    assert codes[5:] == [429, 429]
    page = visitor.post("/sasiedztwa/podpisz", data=data).get_data(as_text=True)
    assert "Za dużo prób" in page


def test_login_locks_out_after_five_failures_for_any_address(app, client, auth):
    for email in ("koordynatorka@example.org", "nikt@example.org"):
        codes = [auth.login(email=email, password="zle-haslo-000").status_code for _ in range(6)]
        assert codes == [422] * 5 + [429], email
    # Even the right password waits out the lock: the attacker cannot tell it was right.
    assert auth.login().status_code == 429


def test_withdrawal_requests_are_limited_per_mailbox(app, client, coalition):
    codes = []
    for number in range(4):
        token = csrf_token_from(client.get("/wycofaj"))
        codes.append(
            client.post("/wycofaj", data={"email": "ofiara@example.org", "csrf_token": token}, environ_base={"REMOTE_ADDR": f"10.1.0.{number}"}).status_code
        )
    assert codes == [303, 303, 303, 429]
