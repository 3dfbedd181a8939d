"""Coordinators correct an entry or delete it; both are in the audit log, scoped per coalition."""
from sqlalchemy import select

from koalicja.coordinators.audit import AuditEntry
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import sign_declaration

from ..conftest import VALID_ORGANISATION, VALID_PERSON, Auth, csrf_token_from, current_declaration
from .test_roles import OTHER_EMAIL, PASSWORD, other_coordinator  # noqa: F401  (fixture)


def approved(app, data):
    with app.app_context():
        signature = sign_declaration(current_declaration(), data).signature
        signature.status = SignatureStatus.APPROVED
        db.session.commit()
        return signature.id


def test_a_coordinator_corrects_a_typo_and_the_list_shows_it(app, client, auth, coalition):
    signature_id = approved(app, {**VALID_ORGANISATION, "organisation_name": "Stowarzyszenie Sąsiedzi z Zabłoica"})
    auth.login()
    page = client.get(f"/panel/podpisy/{signature_id}/edycja")
    assert page.status_code == 200 and "zofia" not in page.get_data(as_text=True)
    data = {**VALID_ORGANISATION, "organisation_name": "Stowarzyszenie Sąsiedzi z Zabłocia", "csrf_token": csrf_token_from(page)}
    data.pop("email")
    response = client.post(f"/panel/podpisy/{signature_id}/edycja", data=data)
    assert response.status_code == 303
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.organisation_name == "Stowarzyszenie Sąsiedzi z Zabłocia"
        assert signature.email == VALID_ORGANISATION["email"]  # not on the form, not changed
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "edit"))
        assert entry.details == {"fields": ["organisation_name"]}
        assert entry.coordinator_name == "Koordynatorka Testowa"


def test_a_bad_correction_is_shown_again_with_the_input(app, client, auth, coalition):
    signature_id = approved(app, VALID_PERSON)
    auth.login()
    page = client.get(f"/panel/podpisy/{signature_id}/edycja")
    response = client.post(
        f"/panel/podpisy/{signature_id}/edycja",
        data={"kind": "person", "full_name": "<b>Zofia</b>", "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 422
    assert "Usuń znaki &lt; i &gt;" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Signature, signature_id).full_name == VALID_PERSON["full_name"]


def test_delete_needs_confirmation_removes_pending_mail_and_is_logged_without_the_name(app, client, auth, coalition):
    with app.app_context():
        signature_id = sign_declaration(current_declaration(), {**VALID_PERSON, "full_name": "Spamer Spamowski"}).signature.id
    auth.login()
    token = auth.csrf()
    client.post(f"/panel/podpisy/{signature_id}/usun", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Signature, signature_id) is not None
    assert client.post(f"/panel/podpisy/{signature_id}/usun", data={"csrf_token": token, "confirm": "tak"}).status_code == 303
    with app.app_context():
        assert db.session.get(Signature, signature_id) is None
        assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == VALID_PERSON["email"])) is None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delete"))
        assert "Spamer" not in entry.summary and str(signature_id) in entry.summary


def test_another_coalitions_coordinator_can_neither_edit_nor_delete(app, client, coalition, other_coordinator):  # noqa: F811
    signature_id = approved(app, VALID_PERSON)
    auth = Auth(client)
    auth.login(OTHER_EMAIL, PASSWORD)
    token = auth.csrf()
    assert client.get(f"/panel/podpisy/{signature_id}/edycja").status_code == 404
    assert client.post(f"/panel/podpisy/{signature_id}/edycja", data={"csrf_token": token, "kind": "person", "full_name": "X"}).status_code == 404
    assert client.post(f"/panel/podpisy/{signature_id}/usun", data={"csrf_token": token, "confirm": "tak"}).status_code == 404
    with app.app_context():
        assert db.session.get(Signature, signature_id).full_name == VALID_PERSON["full_name"]
