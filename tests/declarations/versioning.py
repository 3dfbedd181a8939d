"""Helpers for the tests of declaration versions, annexes and endorsements."""
import pytest

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import decide_signature, sign_declaration

from ..conftest import VALID_PERSON, Auth, csrf_token_from, current_declaration

PANEL = "/panel/koalicje/sasiedztwa/deklaracja"
OTHER_EMAIL = "reintegracja@example.org"
OTHER_PASSWORD = "haslo-testowe-123"


def approved_signer(coordinator_id, **changes):
    """A signature of "sasiedztwa" signed, confirmed and approved; must run in an app context."""
    signature = sign_declaration(current_declaration(), {**VALID_PERSON, **changes}).signature
    signature.status = SignatureStatus.CONFIRMED
    db.session.commit()
    decide_signature(signature, "approve", db.session.get(Coordinator, coordinator_id))
    return signature


def save_draft(client, form_path, title, body):
    """Open a draft form in the panel (new or edit) and post it like a browser."""
    token = csrf_token_from(client.get(form_path))
    return client.post(form_path, data={"csrf_token": token, "title": title, "body": body})


def publish(client, version_path):
    """The confirmation step, then its button."""
    page = client.get(f"{version_path}/publikacja")
    assert page.status_code == 200
    return client.post(f"{version_path}/publikacja", data={"csrf_token": csrf_token_from(page)})


def publish_new_text(client, title="Deklaracja współpracy (wersja 2)", body="Deklarujemy **współpracę** i wzajemną pomoc."):
    assert save_draft(client, f"{PANEL}/nowa-wersja", title, body).status_code == 303
    return publish(client, f"{PANEL}/wersja-2")


def publish_annex(client, title="Aneks o zespole sterującym", body="Zespół sterujący spotyka się **raz na kwartał**."):
    assert save_draft(client, f"{PANEL}/nowy-aneks", title, body).status_code == 303
    return publish(client, f"{PANEL}/aneks-1")


@pytest.fixture
def other_client(app, coalition):
    """A client logged in as a coordinator of another coalition ("reintegracja") only."""
    with app.app_context():
        other = Coalition(slug="reintegracja", name="Koalicja na rzecz reintegracji", organiser="Fundacja")
        db.session.add_all([other, Declaration(coalition=other, title="Deklaracja", body="Tekst")])
        account = create_coordinator(OTHER_EMAIL, "Koordynator Reintegracji", OTHER_PASSWORD)
        account.coalitions.append(other)
        db.session.commit()
    client = app.test_client()
    assert Auth(client).login(OTHER_EMAIL, OTHER_PASSWORD).status_code == 303
    return client
