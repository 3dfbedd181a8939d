"""Withdrawal: every signer e-mail carries the link; using it erases the person's data."""
from urllib.parse import urlsplit

from sqlalchemy import func, select

from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import REMAIL_INTERVAL
from koalicja.timeutil import utcnow

from ..conftest import VALID_ORGANISATION, csrf_token_from, sign, without_csrf_token
from ..declarations.test_allies import add_ally


def links_in_outbox(app, kind):
    with app.app_context():
        bodies = db.session.scalars(select(OutboxMessage.body_text).order_by(OutboxMessage.id)).all()
    return [urlsplit(word).path for body in bodies for word in body.split() if f"/{kind}/" in word]


def test_every_signer_email_carries_a_withdrawal_link(app, client, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator)  # confirmation e-mail and approval e-mail
        templates = db.session.scalars(select(OutboxMessage.template)).all()
        bodies = db.session.scalars(select(OutboxMessage.body_text)).all()
        html = db.session.scalars(select(OutboxMessage.body_html)).all()
    assert templates == ["signature_confirm_to_signer", "signature_approved_to_signer"]
    assert all("/wycofaj/" in body for body in bodies)
    assert all("/wycofaj/" in part for part in html)


def test_withdrawing_removes_from_the_list_and_erases_personal_data(app, client, coalition, coordinator):
    with app.app_context():
        ally = add_ally(coordinator, **{**VALID_ORGANISATION, "public_name": "y"})
        signature_id = ally.id
    assert "Sąsiedzi z Zabłocia" in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    [path, _second] = links_in_outbox(app, "wycofaj")

    page = client.get(path)
    assert "Wycofuję podpis" in page.get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    assert "Podpis został wycofany" in client.get(response.headers["Location"]).get_data(as_text=True)

    assert "Sąsiedzi z Zabłocia" not in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.status == "withdrawn" and signature.withdrawn_at
        stored = " ".join(str(getattr(signature, column)) for column in Signature.__table__.columns.keys())
        for personal in ("Anna", "Wiśniewska", "anna@", "Zabłocia", "prezeska"):
            assert personal not in stored
        # The anonymous count survives.
        assert db.session.scalar(select(func.count(Signature.id)).where(Signature.status == "withdrawn")) == 1
    assert "Ten podpis został już wycofany" in client.get(path).get_data(as_text=True)


def test_withdrawal_drops_mail_still_waiting_for_the_address(app, client, coalition):
    sign(client, email="czeka@example.org", full_name="Ktoś", kind="person", accept_declaration="y", accept_privacy="y")
    [path] = links_in_outbox(app, "wycofaj")
    client.post(path, data={"csrf_token": csrf_token_from(client.get(path))})
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_person_can_sign_again_after_withdrawing(app, client, coalition):
    fields = {"email": "znowu@example.org", "full_name": "Znowu", "kind": "person", "accept_declaration": "y", "accept_privacy": "y"}
    sign(client, **fields)
    [path] = links_in_outbox(app, "wycofaj")
    client.post(path, data={"csrf_token": csrf_token_from(client.get(path))})
    assert sign(client, **fields).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 2


def test_request_for_a_withdrawal_link_reveals_nothing(app, client, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, email="znana@example.org")
        db.session.execute(db.update(Signature).values(last_mailed_at=utcnow() - REMAIL_INTERVAL))
        db.session.commit()
    pages = []
    for address in ("znana@example.org", "obca@example.org"):
        response = client.post("/wycofaj", data={"email": address, "csrf_token": csrf_token_from(client.get("/wycofaj"))})
        assert response.status_code == 303
        pages.append(without_csrf_token(client.get(response.headers["Location"]).get_data(as_text=True).replace(address, "ADDRESS")))
    assert pages[0] == pages[1]
    with app.app_context():
        last = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert last.template == "signature_withdraw_link_to_signer" and last.recipient == "znana@example.org"


def test_a_confirmation_token_is_not_a_withdrawal_token(app, client, coalition):
    sign(client, email="t@example.org", full_name="T", kind="person", accept_declaration="y", accept_privacy="y")
    [confirm_path] = links_in_outbox(app, "potwierdz")
    token = confirm_path.rsplit("/", 1)[1]
    response = client.post(f"/wycofaj/{token}", data={"csrf_token": csrf_token_from(client.get("/wycofaj"))})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Signature.status)) == "unconfirmed"


def test_every_public_form_links_the_privacy_notice(app, client, coalition):
    from ..events.conftest import event_url, make_event

    make_event(app)
    for path in ("/sasiedztwa/podpisz", event_url(), "/nowy-link", "/wycofaj", "/potwierdz/zly"):
        assert 'href="/sasiedztwa/prywatnosc"' in client.get(path).get_data(as_text=True), path


def test_a_confirmation_link_of_a_withdrawn_entry_says_it_was_withdrawn(app, client, coalition):
    sign(client, email="rozmysla@example.org", full_name="Ktoś", kind="person", accept_declaration="y", accept_privacy="y")
    [confirm_path] = links_in_outbox(app, "potwierdz")
    [withdraw_path] = links_in_outbox(app, "wycofaj")
    client.post(withdraw_path, data={"csrf_token": csrf_token_from(client.get(withdraw_path))})
    page = client.get(confirm_path)
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "Ten wpis został już wycofany" in text and "jest już potwierdzony" not in text
    response = client.post(confirm_path, data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 400 and "Ten wpis został już wycofany" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Signature.status)) == "withdrawn"


def test_a_withdrawal_pressed_again_in_a_second_tab_says_it_is_done(app, client, coalition, monkeypatch):
    """The second press got past the link's check before the first one committed: the
    operation, reading the row under its lock, refuses, and the page says it is done already."""
    from koalicja.signatures import views

    sign(client, email="dwie-karty@example.org", full_name="Ktoś", kind="person", accept_declaration="y", accept_privacy="y")
    [path] = links_in_outbox(app, "wycofaj")
    token = csrf_token_from(client.get(path))
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    # The link's check as it was before the first press committed: it found the row.
    monkeypatch.setattr(views, "signature_for_withdrawal", lambda _token: db.session.scalar(select(Signature)))
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 200
    assert "Ten podpis został już wycofany" in response.get_data(as_text=True)
