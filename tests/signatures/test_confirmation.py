"""Confirmation links: purpose-bound, expiring, single use; duplicates create nothing new."""
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import REMAIL_INTERVAL, SignOutcome, sign_declaration
from koalicja.timeutil import utcnow
from koalicja.tokens import make_token

from ..conftest import VALID_PERSON, csrf_token_from, current_declaration, sign, without_csrf_token


def confirmation_path(app, index=-1):
    with app.app_context():
        mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        link = next(word for word in mails[index].body_text.split() if "/potwierdz/" in word)
    return urlsplit(link).path


def signature_status(app):
    with app.app_context():
        return db.session.scalar(select(Signature.status))


def press_confirm(client, path):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token_from(page)})


def test_get_on_the_link_confirms_nothing(app, client, coalition):
    sign(client, **VALID_PERSON)
    path = confirmation_path(app)
    for _ in range(3):  # a mail scanner may open it several times
        assert client.get(path).status_code == 200
    assert signature_status(app) == "unconfirmed"


def test_confirm_button_needs_csrf(app, client, coalition):
    sign(client, **VALID_PERSON)
    response = client.post(confirmation_path(app))
    assert response.status_code == 400
    assert signature_status(app) == "unconfirmed"


def test_link_works_once(app, client, coalition):
    sign(client, **VALID_PERSON)
    path = confirmation_path(app)
    assert press_confirm(client, path).status_code == 303
    assert signature_status(app) == "confirmed"
    again = client.get(path)
    assert again.status_code == 400
    page = again.get_data(as_text=True)
    assert "Ten link został już użyty" in page
    assert 'action="/nowy-link"' in page


def test_tampered_link_gets_a_friendly_page(app, client, coalition):
    sign(client, **VALID_PERSON)
    path = confirmation_path(app)
    response = client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert response.status_code == 400
    assert "nieprawidłowy" in response.get_data(as_text=True)
    assert "Wyślij nowy link" in response.get_data(as_text=True)
    assert signature_status(app) == "unconfirmed"


def test_expired_link_offers_a_new_one(app, client, coalition):
    app.config["CONFIRM_TOKEN_MAX_AGE_DAYS"] = 1 / 86400  # one second
    sign(client, **VALID_PERSON)
    path = confirmation_path(app)
    time.sleep(2.1)
    response = client.get(path)
    assert response.status_code == 410
    assert "Link wygasł" in response.get_data(as_text=True)
    press = client.post(path, data={"csrf_token": csrf_token_from(response)})
    assert press.status_code == 410
    assert signature_status(app) == "unconfirmed"


def test_token_for_another_purpose_is_refused(app, client, coalition):
    sign(client, **VALID_PERSON)
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        foreign = make_token("signature-withdraw", {"s": signature.id, "n": signature.confirm_nonce})
    assert client.get(f"/potwierdz/{foreign}").status_code == 400
    assert signature_status(app) == "unconfirmed"


def test_new_link_request_does_not_reveal_whether_the_address_signed(app, client, coalition):
    sign(client, **VALID_PERSON)
    with app.app_context():
        db.session.execute(db.update(Signature).values(last_mailed_at=utcnow() - REMAIL_INTERVAL))
        db.session.commit()
    pages = []
    for address in ("zofia@example.org", "nieznana@example.org"):
        token = csrf_token_from(client.get("/nowy-link"))
        response = client.post("/nowy-link", data={"email": address, "csrf_token": token})
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True).replace(address, "ADDRESS")
        pages.append(without_csrf_token(page))
    assert pages[0] == pages[1]
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2
    # The new link works.
    assert press_confirm(client, confirmation_path(app)).status_code == 303
    assert signature_status(app) == "confirmed"


def test_the_original_link_still_works_after_a_resend(app, client, coalition):
    sign(client, **VALID_PERSON)
    first = confirmation_path(app)
    with app.app_context():
        db.session.execute(db.update(Signature).values(last_mailed_at=utcnow() - REMAIL_INTERVAL))
        db.session.commit()
    sign(client, **VALID_PERSON)
    assert press_confirm(client, first).status_code == 303
    assert signature_status(app) == "confirmed"


@pytest.mark.parametrize(
    "same_mailbox",
    ["zofia@example.org", "Zofia@Example.ORG", " zofia@example.org "],
)
def test_signing_again_creates_no_duplicate(app, client, coalition, same_mailbox):
    sign(client, **VALID_PERSON)
    sign(client, **{**VALID_PERSON, "email": same_mailbox, "full_name": "Ktoś Inny"})
    with app.app_context():
        [signature] = db.session.scalars(select(Signature)).all()
        assert signature.full_name == "Zofia Łukasik"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("jan.kowalski@gmail.com", "JanKowalski+deklaracja@gmail.com"),
        ("jan.kowalski@gmail.com", "j.a.n.kowalski@googlemail.com"),
    ],
)
def test_gmail_dots_and_tags_are_the_same_mailbox(ctx, coalition, first, second):
    declaration = current_declaration()
    data = {**VALID_PERSON, "email": first}
    assert sign_declaration(declaration, data).outcome == SignOutcome.NEW
    db.session.execute(db.update(Signature).values(last_mailed_at=utcnow() - REMAIL_INTERVAL))
    db.session.commit()
    assert sign_declaration(declaration, {**data, "email": second}).outcome == SignOutcome.LINK_RESENT
    assert db.session.scalar(select(func.count(Signature.id))) == 1


def test_dots_matter_outside_gmail(ctx, coalition):
    declaration = current_declaration()
    sign_declaration(declaration, {**VALID_PERSON, "email": "jan.kowalski@example.org"})
    result = sign_declaration(declaration, {**VALID_PERSON, "email": "jankowalski@example.org"})
    assert result.outcome == SignOutcome.NEW


def test_confirmed_signer_signing_again_is_told_by_email_not_on_the_page(app, client, coalition):
    sign(client, **VALID_PERSON)
    press_confirm(client, confirmation_path(app))
    with app.app_context():
        db.session.execute(db.update(Signature).values(last_mailed_at=utcnow() - REMAIL_INTERVAL))
        db.session.commit()
    stranger = app.test_client()
    response = sign(stranger, **VALID_PERSON)
    assert response.status_code == 303
    page = stranger.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sprawdź pocztę" in page
    assert "Zofia" not in page  # nothing about the existing entry is shown to whoever typed the address
    with app.app_context():
        last = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert last.template == "signature_already_signed_to_signer"
        assert "już u nas zapisany" in last.body_text


def test_repeated_signing_does_not_flood_the_mailbox(app, client, coalition):
    for _ in range(5):
        sign(client, **VALID_PERSON)
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1
