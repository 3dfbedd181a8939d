"""Findings of the security review of issue 4 (coalitions, roles, versions, paper, announcements),
each through real HTTP: what an attacker or a careless request could do before the fix."""
import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import Event, EventStatus, Registration
from koalicja.extensions import db
from koalicja.mail.addresses import mailbox_key
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.notifications import endorsement_token
from koalicja.signatures.operations import sign_declaration
from koalicja.timeutil import utcnow

from ..conftest import VALID_PERSON, csrf_token_from, current_declaration
from ..declarations.versioning import approved_signer, publish_annex

HUGE = "99999999999999999999"  # more than any database integer


def test_huge_ids_in_panel_urls_are_404_not_500(client, auth, coalition):
    """Every `<int:…>` in a URL is bounded: SQLite cannot even compare 10^20 to a column."""
    auth.login()
    token = auth.csrf()
    for path in (
        f"/panel/podpisy/{HUGE}/edycja",
        f"/panel/skany/{HUGE}",
        f"/panel/wydarzenia/{HUGE}",
        f"/panel/admin/koordynatorzy/{HUGE}",
        f"/sasiedztwa/deklaracja/wersja-{HUGE}",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/panel/podpisy/{HUGE}/decyzja",
        f"/panel/podpisy/{HUGE}/usun",
        f"/panel/wydarzenia/zapisy/{HUGE}/decyzja",
    ):
        assert client.post(path, data={"csrf_token": token, "decision": "approve", "confirm": "tak"}).status_code == 404, path


@pytest.mark.parametrize("ids", [HUGE, "²", "٣"])
def test_bulk_decision_ignores_ids_that_are_not_plain_numbers(app, client, auth, coalition, ids):
    with app.app_context():
        waiting = sign_declaration(current_declaration(), VALID_PERSON).signature
        waiting.status = SignatureStatus.CONFIRMED
        db.session.commit()
    auth.login()
    response = client.post("/panel/podpisy/decyzje", data={"csrf_token": auth.csrf(), "decision": "approve", "ids": ids})
    assert response.status_code == 303
    assert "Zaznacz co najmniej jeden wpis." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():  # nothing decided, nothing logged
        assert db.session.scalar(select(Signature.status)) == SignatureStatus.CONFIRMED
        assert db.session.scalars(select(AuditEntry.action)).all() == []


@pytest.mark.parametrize("query", ["strona=²", "strona=" + HUGE, "stan=approved&strona=¹"])
def test_queue_pages_with_odd_digits_are_answered(client, auth, coalition, query):
    auth.login()
    assert client.get(f"/panel/podpisy?{query}").status_code == 200


@pytest.fixture
def admin_client(app, client, coalition):
    from koalicja.panel.operations import create_coordinator

    from ..conftest import Auth

    with app.app_context():
        account = create_coordinator("admin@example.org", "Administratorka", "haslo-testowe-123")
        account.is_admin = True
        db.session.commit()
    Auth(client).login("admin@example.org", "haslo-testowe-123")
    return client


@pytest.mark.parametrize("query", ["strona=²", "kto=²", "kto=" + HUGE])
def test_audit_log_with_odd_digits_is_answered(admin_client, query):
    assert admin_client.get(f"/panel/admin/dziennik?{query}").status_code == 200


def test_queue_does_not_show_events_of_another_coalition(app, client, auth, coalition):
    """A signer of "sasiedztwa" also attended an event of another coalition: the sasiedztwa
    coordinator must not learn it (the events of a reintegration coalition say a lot about a person)."""
    with app.app_context():
        signature = sign_declaration(current_declaration(), {**VALID_PERSON, "full_name": "Zofia Łukasik"}).signature
        signature.status = SignatureStatus.CONFIRMED
        other = Coalition(slug="reintegracja", name="Koalicja na rzecz reintegracji", organiser="Fundacja")
        event = Event(coalition=other, slug="spotkanie", title="Spotkanie grupy wsparcia po wyjściu z zakładu karnego",
                      starts_at=utcnow(), ends_at=utcnow(), status=EventStatus.PUBLISHED)
        db.session.add_all([other, Declaration(coalition=other, title="Deklaracja", body="Tekst"), event])
        db.session.flush()
        db.session.add(Registration(
            event=event, full_name="Zofia Łukasik", email=VALID_PERSON["email"], email_key=mailbox_key(VALID_PERSON["email"]),
            status="confirmed", code="ABCDEF123456", attended_at=utcnow(),
        ))
        db.session.commit()
        signature_id = signature.id
    auth.login()
    queue = client.get("/panel/podpisy").get_data(as_text=True)
    assert "Zofia Łukasik" in queue
    assert "grupy wsparcia" not in queue
    row = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"csrf_token": auth.csrf(), "decision": "approve"},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "grupy wsparcia" not in row


def test_a_coordinator_cannot_publish_a_name_the_signer_chose_to_hide(app, client, auth, coalition):
    """The public list shows what the signer agreed to; a correction may hide more, never show more."""
    with app.app_context():
        signature = sign_declaration(current_declaration(), {**VALID_PERSON, "public_name": False}).signature
        signature.status = SignatureStatus.APPROVED
        db.session.commit()
        signature_id = signature.id
    auth.login()
    page = client.get(f"/panel/podpisy/{signature_id}/edycja")
    data = {key: value for key, value in VALID_PERSON.items() if key != "email"}
    response = client.post(
        f"/panel/podpisy/{signature_id}/edycja", data={**data, "public_name": "y", "csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 303
    assert VALID_PERSON["full_name"] not in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert not signature.public_name and not signature.listed


def test_a_coordinator_may_hide_a_name_on_request(app, client, auth, coalition):
    with app.app_context():
        signature = sign_declaration(current_declaration(), {**VALID_PERSON, "public_name": True}).signature
        signature.status = SignatureStatus.APPROVED
        db.session.commit()
        signature_id = signature.id
    auth.login()
    page = client.get(f"/panel/podpisy/{signature_id}/edycja")
    data = {key: value for key, value in VALID_PERSON.items() if key not in ("email", "public_name")}
    response = client.post(f"/panel/podpisy/{signature_id}/edycja", data={**data, "csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    with app.app_context():
        assert not db.session.get(Signature, signature_id).listed


def test_personal_data_export_leaves_no_address_in_the_audit_log(app, client, auth, coalition):
    """The audit log outlives a withdrawal, which must erase the person's address."""
    with app.app_context():
        sign_declaration(current_declaration(), VALID_PERSON)
    auth.login()
    page = client.get("/panel/dane-osobowe/")
    response = client.post("/panel/dane-osobowe/", data={"csrf_token": csrf_token_from(page), "email": VALID_PERSON["email"]})
    assert response.status_code == 200
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
        assert entry is not None
        assert VALID_PERSON["email"] not in repr(entry.details) + entry.summary


def test_endorsement_page_reached_by_token_is_not_stored(app, client, auth, coalition, coordinator):
    """It names the signer (even one who is not on the public list): never in a shared cache."""
    with app.app_context():
        signer = approved_signer(coordinator, full_name="Ukryta Sygnatariuszka", public_name=False)
        signer_id = signer.id
    auth.login()
    publish_annex(client)
    client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})
    with app.app_context():
        signer = db.session.get(Signature, signer_id)
        annex = current_declaration().annexes[0]
        token = endorsement_token(signer, annex)
    page = client.get(f"/poparcie/{token}")
    assert page.status_code == 200 and "Ukryta Sygnatariuszka" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_an_old_endorsement_link_does_not_open_someone_else_s_signature(app, client, auth, coalition, coordinator):
    """SQLite gives the id of a deleted last row to the next row: the link of a deleted
    (duplicate) entry must not show, endorse or unsubscribe whoever gets that id next."""
    from koalicja.announcements.operations import unsubscribe_url

    with app.app_context():
        duplicate = approved_signer(coordinator, full_name="Pierwsza Osoba", email="pierwsza@example.org")
        duplicate_id = duplicate.id
    auth.login()
    publish_annex(client)
    with app.app_context():
        duplicate = db.session.get(Signature, duplicate_id)
        old_endorse = endorsement_token(duplicate, current_declaration().annexes[0])
        old_unsubscribe = unsubscribe_url(duplicate, 1).rsplit("/", 1)[1]
        duplicate_signed_at = duplicate.created_at
    deleted = client.post(f"/panel/podpisy/{duplicate_id}/usun", data={"csrf_token": auth.csrf(), "confirm": "tak"})
    assert deleted.status_code == 303
    with app.app_context():
        newcomer = approved_signer(
            coordinator, full_name="Druga Niepubliczna", email="druga@example.org", public_name=False, contact_allowed=True
        )
        # on a fast machine both people sign within the same second
        newcomer.created_at = duplicate_signed_at.replace(microsecond=(duplicate_signed_at.microsecond + 1) % 1_000_000)
        db.session.commit()
        assert newcomer.id == duplicate_id or app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        newcomer_id = newcomer.id
    client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})

    page = client.get(f"/poparcie/{old_endorse}")
    assert "Druga Niepubliczna" not in page.get_data(as_text=True)
    assert page.status_code == 400
    client.post(f"/wypisz/{old_unsubscribe}", data={"List-Unsubscribe": "One-Click"})
    with app.app_context():
        newcomer = db.session.get(Signature, newcomer_id)
        assert newcomer.contact_allowed
        assert [e.method for e in newcomer.endorsements] == ["signing"]  # by signing after the annex, not by the old link
