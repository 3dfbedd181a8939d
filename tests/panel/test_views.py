"""Coordinators log in, review the queue and decide, one by one or in bulk."""
import pytest
from sqlalchemy import select

from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.panel.models import Coordinator
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import DecisionNotAllowed, decide_signature, sign_declaration

from ..conftest import COORDINATOR_EMAIL, VALID_ORGANISATION, VALID_PERSON, current_declaration


def add_signature(app, status=SignatureStatus.CONFIRMED, **changes):
    with app.app_context():
        result = sign_declaration(current_declaration(), {**VALID_PERSON, **changes})
        result.signature.status = status
        db.session.commit()
        return result.signature.id


def status_of(app, signature_id):
    with app.app_context():
        return db.session.get(Signature, signature_id).status


def test_queue_needs_login(client, coalition):
    response = client.get("/panel/podpisy")
    assert response.status_code == 302
    assert "/panel/logowanie" in response.headers["Location"]


def test_wrong_password_and_unknown_email_get_the_same_answer(client, auth):
    wrong_password = auth.login(password="zle-haslo-123")
    unknown = auth.login(email="nikt@example.org")
    for response in (wrong_password, unknown):
        assert response.status_code == 422
        assert "Nieprawidłowy e-mail lub hasło." in response.get_data(as_text=True)
    assert client.get("/panel/podpisy").status_code == 302


def test_password_is_stored_as_argon2id(app, coordinator):
    with app.app_context():
        assert db.session.get(Coordinator, coordinator).password_hash.startswith("$argon2id$")


def test_outside_tests_passwords_are_hashed_with_64_mib_and_3_passes(app, coordinator):
    from koalicja import create_app
    from koalicja.panel.operations import authenticate, set_password

    production_default = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["PASSWORD_HASH_PROFILE"]
    app.config["PASSWORD_HASH_PROFILE"] = production_default
    with app.app_context():
        coordinator_row = db.session.get(Coordinator, coordinator)
        set_password(coordinator_row, "inne-dobre-haslo")
        db.session.commit()
        assert coordinator_row.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert authenticate(coordinator_row.email, "inne-dobre-haslo") is not None


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client, auth, target):
    from ..conftest import csrf_token_from

    token = csrf_token_from(client.get("/panel/logowanie"))
    response = client.post(
        f"/panel/logowanie?next={target}",
        data={"email": COORDINATOR_EMAIL, "password": "bardzo-tajne-haslo", "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/panel/podpisy"


def test_queue_lists_confirmed_entries_and_approve_swaps_the_row(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    queue = client.get("/panel/podpisy").get_data(as_text=True)
    assert f'id="signature-{signature_id}"' in queue and "zofia@example.org" in queue

    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve"},
        headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()},
    )
    row = response.get_data(as_text=True)
    assert response.status_code == 200
    assert row.lstrip().startswith(f'<tr id="signature-{signature_id}"')
    assert "Zatwierdzony" in row and "Koordynatorka Testowa" in row
    assert "queueChanged" in response.headers["HX-Trigger"]
    assert "HX-Request" in response.headers["Vary"]
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.status == "approved" and signature.decided_by_id is not None and signature.decided_at
        mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert mail.template == "signature_approved_to_signer"


def test_htmx_decision_without_csrf_header_is_refused(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert status_of(app, signature_id) == "confirmed"


def test_unconfirmed_entries_are_visible_but_cannot_be_approved(app, client, auth, coalition):
    signature_id = add_signature(app, status=SignatureStatus.UNCONFIRMED)
    auth.login()
    page = client.get("/panel/podpisy?stan=unconfirmed").get_data(as_text=True)
    assert "zofia@example.org" in page
    assert '"decision": "approve"' not in page
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve"},
        headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()},
    )
    assert "nie potwierdziła jeszcze podpisu" in response.get_data(as_text=True)
    assert status_of(app, signature_id) == "unconfirmed"


def test_decision_rules_in_the_domain(app, coordinator, coalition):
    signature_id = add_signature(app, status=SignatureStatus.UNCONFIRMED)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        decider = db.session.get(Coordinator, coordinator)
        with pytest.raises(DecisionNotAllowed):
            decide_signature(signature, "approve", decider)
        decide_signature(signature, "reject", decider)
        assert signature.status == "rejected" and not signature.listed


def test_bulk_approve_counts_and_skips_unconfirmed(app, client, auth, coalition):
    ids = [
        add_signature(app, email="a@example.org"),
        add_signature(app, email="b@example.org"),
        add_signature(app, email="c@example.org", status=SignatureStatus.UNCONFIRMED),
    ]
    auth.login()
    response = client.post(
        "/panel/podpisy/decyzje",
        data={"decision": "approve", "ids": [str(i) for i in ids], "csrf_token": auth.csrf()},
        headers={"Referer": "http://localhost/panel/podpisy"},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zatwierdzone wpisy: 2." in page
    assert "Pominięte wpisy: 1 (jeszcze niepotwierdzone e-mailem: 1)." in page
    assert [status_of(app, i) for i in ids] == ["approved", "approved", "unconfirmed"]


def test_bulk_reject_without_selection_explains(client, auth, coalition):
    auth.login()
    response = client.post("/panel/podpisy/decyzje", data={"decision": "reject", "csrf_token": auth.csrf()})
    assert "Zaznacz co najmniej jeden wpis." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_unknown_decision_is_a_bad_request(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "delete", "csrf_token": auth.csrf()}
    )
    assert response.status_code == 400
    assert status_of(app, signature_id) == "confirmed"


def test_logout_ends_the_session(client, auth, coalition):
    auth.login()
    assert client.get("/panel/podpisy").status_code == 200
    response = client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})
    assert response.status_code == 303
    assert client.get("/panel/podpisy").status_code == 302


def test_create_coordinator_command(runner, app):
    result = runner.invoke(args=["create-coordinator", "nowa@example.org", "--name", "Nowa"], input="dlugie-haslo-1\ndlugie-haslo-1\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Coordinator.name).where(Coordinator.email == "nowa@example.org")) == "Nowa"
    short = runner.invoke(args=["create-coordinator", "inna@example.org", "--name", "X"], input="krotkie\nkrotkie\n")
    assert short.exit_code != 0 and "co najmniej 10 znaków" in short.output


def test_organisation_row_shows_what_the_coordinator_needs(app, client, auth, coalition):
    add_signature(app, **VALID_ORGANISATION)
    auth.login()
    page = client.get("/panel/podpisy").get_data(as_text=True)
    assert "prezeska, Stowarzyszenie Sąsiedzi z Zabłocia" in page
    assert "Organizacja pozarządowa" in page


def test_queue_search_and_pages(app, client, auth, coalition):
    from koalicja.panel.views import QUEUE_PAGE_SIZE

    for number in range(QUEUE_PAGE_SIZE + 5):
        add_signature(app, email=f"osoba{number:03d}@example.org", full_name=f"Osoba {number:03d}")
    add_signature(app, email="zofia.szukana@example.org", full_name="Zofia Szukana")
    auth.login()
    first = client.get("/panel/podpisy").get_data(as_text=True)
    assert first.count('id="signature-') == QUEUE_PAGE_SIZE and "Strona 1 z 2" in first
    second = client.get("/panel/podpisy?strona=2").get_data(as_text=True)
    assert second.count('id="signature-') == 6 and "Zofia Szukana" in second
    found = client.get("/panel/podpisy?q=SZUKANA", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert found.count('id="signature-') == 1 and "Znalezione wpisy: 1." in found and "<html" not in found
    assert client.get("/panel/podpisy?q=100%25").status_code == 200
