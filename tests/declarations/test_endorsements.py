"""Annexes: endorsed by signing after they are published, or later through an e-mailed link
(one button, once), and shown on the public list and to coordinators."""
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, insert, select

from koalicja.coalitions.models import DeclarationVersion, Endorsement
from koalicja.coordinators.audit import AuditEntry
from koalicja.declarations import operations as declaration_operations
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.mail.operations import deliver_due
from koalicja.signatures.models import Signature
from koalicja.signatures.notifications import CONFIRM_PURPOSE, endorsement_token
from koalicja.signatures.operations import withdraw_signature
from koalicja.text import search_key, sort_key
from koalicja.tokens import make_token

from ..conftest import VALID_ORGANISATION, VALID_PERSON, csrf_token_from, current_declaration, link_in, sign
from ..test_queries import statements_for
from .versioning import PANEL, approved_signer, other_client, publish_annex  # noqa: F401 (fixtures)

ENDORSE_LINK = r"http://koalicja\.test/poparcie/\S+"


def annex_id(app):
    with app.app_context():
        return db.session.scalar(select(DeclarationVersion.id).where(DeclarationVersion.kind == "annex"))


def endorsements(app):
    with app.app_context():
        return {
            (signature.full_name, endorsement.method)
            for endorsement, signature in db.session.execute(select(Endorsement, Signature).join(Signature)).all()
        }


def entry_on_the_list(page, name):
    blocks = {block.split("</span>")[0]: block.split("</li>")[0] for block in page.split('<span class="ally__name">')[1:]}
    return blocks[name]


@pytest.fixture
def signers(app, coalition, coordinator):
    """Approved signers before the annex, plus people who must not be invited."""
    with app.app_context():
        approved_signer(coordinator, full_name="Ala Polska", email="ala@example.org")
        ukrainian = approved_signer(coordinator, full_name="Оксана Коваль", email="oksana@example.org")
        ukrainian.language = "uk"
        withdrawn = approved_signer(coordinator, full_name="Wycofana Osoba", email="wycofana@example.org")
        withdraw_signature(withdrawn)
        waiting = approved_signer(coordinator, full_name="Czeka Na Decyzję", email="czeka@example.org")
        waiting.status = "confirmed"
        paper = approved_signer(coordinator, full_name="Papierowa Osoba", email="papier@example.org")
        paper.origin, paper.email, paper.email_key = "paper", "", f"paper:{paper.id}"  # a paper form with no address
        db.session.commit()


def invite(client):
    page = client.get(f"{PANEL}/aneks-1/zaproszenie")
    assert page.status_code == 200
    return page, client.post(f"{PANEL}/aneks-1/zaproszenie", data={"csrf_token": csrf_token_from(page)})


def test_signing_after_an_annex_is_published_endorses_it(app, client, auth, coalition):
    auth.login()
    publish_annex(client)
    form = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    assert "Aneks nr 1: Aneks o zespole sterującym" in form and "popierasz też powyższy aneks" in form
    home = client.get("/sasiedztwa/").get_data(as_text=True)
    assert "Aneks nr 1: Aneks o zespole sterującym" in home and "<strong>raz na kwartał</strong>" in home
    annex_page = client.get("/sasiedztwa/deklaracja/aneks-1").get_data(as_text=True)
    assert "To aneks do deklaracji" in annex_page and "Aneks nr 1" in annex_page

    sign(client, **VALID_PERSON)
    assert endorsements(app) == {(VALID_PERSON["full_name"], "signing")}
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.consents["annex_ids"] == [annex_id(app)]
        assert signature.consents["version_id"] == signature.version_id


def test_invitations_go_once_to_each_approved_signer_with_an_address(app, client, auth, signers, smtp_server):
    auth.login()
    publish_annex(client)
    sign(client, **{**VALID_ORGANISATION, "email": "nowa@example.org"})  # signed with the annex: endorsed already
    with app.app_context():
        newcomer = db.session.scalar(select(Signature).where(Signature.email == "nowa@example.org"))
        newcomer.status = "confirmed"
        db.session.commit()
        newcomer_id = newcomer.id
    client.post(f"/panel/podpisy/{newcomer_id}/decyzja", data={"decision": "approve", "csrf_token": auth.csrf()})
    with app.app_context():
        deliver_due()  # the confirmation and approval e-mails
    smtp_server.messages.clear()

    page, response = invite(client)
    assert "Liczba osób, które dostaną zaproszenie: 2." in page.get_data(as_text=True)
    assert response.status_code == 303
    assert "Zaproszenia czekają w kolejce do wysłania: 2." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert deliver_due().sent == 2
    recipients = sorted(message["To"].addresses[0].addr_spec for message in smtp_server.messages)
    assert recipients == ["ala@example.org", "oksana@example.org"]
    for message in smtp_server.messages:
        assert "/wycofaj/" in message.get_body(("plain",)).get_content()  # every signer e-mail can withdraw
        link_in(message, ENDORSE_LINK)
    polish = next(m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == "ala@example.org")
    assert "Popieram aneks" in polish.get_body(("plain",)).get_content()
    ukrainian = next(m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == "oksana@example.org")
    assert '<html lang="uk">' in ukrainian.get_body(("html",)).get_content()
    assert "Popieram aneks" not in ukrainian.get_body(("plain",)).get_content()  # in the signer's language

    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "endorsement_invite"))
        assert entry.details == {"count": 2} and entry.coordinator_name == "Koordynatorka Testowa"


def test_the_link_shows_a_button_and_one_press_records_the_endorsement(app, client, auth, signers, smtp_server):
    auth.login()
    publish_annex(client)
    invite(client)
    with app.app_context():
        deliver_due()
    message = next(m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == "ala@example.org" and "aneksu" in m["Subject"])
    path = urlsplit(link_in(message, ENDORSE_LINK)).path

    visitor = app.test_client()
    for _ in range(3):  # mail scanners open links: opening changes nothing
        page = visitor.get(path)
        assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Popieram aneks" in text and "<strong>raz na kwartał</strong>" in text and "Ala Polska" in text
    assert endorsements(app) == set()

    assert visitor.post(path).status_code == 400  # no CSRF token: nothing recorded
    assert endorsements(app) == set()
    response = visitor.post(path, data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    after = visitor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dziękujemy! Zapisaliśmy Twoje poparcie aneksu." in after and "Popieram aneks</button>" not in after
    assert endorsements(app) == {("Ala Polska", "email")}

    again = visitor.post(path, data={"csrf_token": csrf_token_from(page)})
    assert "Poparcie już zapisane" in visitor.get(again.headers["Location"]).get_data(as_text=True)
    assert endorsements(app) == {("Ala Polska", "email")}

    allies = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert "poparcie aneksu 1" in entry_on_the_list(allies, "Ala Polska")
    assert "poparcie aneksu" not in entry_on_the_list(allies, "Оксана Коваль")

    panel = client.get(f"{PANEL}/aneks-1").get_data(as_text=True)
    assert "Kto popiera aneks" in panel and "Ala Polska" in panel and "przez link w e-mailu" in panel
    assert "poparcia: 1 z 3 zatwierdzonych podpisów" in panel  # Ala; Oksana; the paper entry
    # Invited once more, only those who have not endorsed yet.
    assert "Liczba osób, które dostaną zaproszenie: 1." in client.get(f"{PANEL}/aneks-1/zaproszenie").get_data(as_text=True)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"),
        lambda token: token.split(".")[0],
        lambda token: make_token(CONFIRM_PURPOSE, {"s": 1, "a": 1}),  # a token made for something else
        lambda token: "nie-ma-takiego-linku<script>",
    ],
)
def test_a_damaged_link_gets_a_friendly_page(app, client, auth, signers, tamper):
    auth.login()
    publish_annex(client)
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.email == "ala@example.org"))
        damaged = tamper(endorsement_token(signature, db.session.get(DeclarationVersion, annex_id(app))))
    response = client.get(f"/poparcie/{damaged}")
    assert response.status_code == 400
    assert "Ten link jest niepełny lub nieprawidłowy" in response.get_data(as_text=True)
    response = client.post(f"/poparcie/{damaged}", data={"csrf_token": auth.csrf()})
    assert response.status_code == 400
    assert endorsements(app) == set()


def test_an_expired_link_says_so(app, client, auth, signers, monkeypatch):
    auth.login()
    publish_annex(client)
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.email == "ala@example.org"))
        token = endorsement_token(signature, db.session.get(DeclarationVersion, annex_id(app)))
    monkeypatch.setattr(declaration_operations, "ENDORSE_LINK_MAX_AGE", -1)
    response = client.get(f"/poparcie/{token}")
    assert response.status_code == 410 and "Link wygasł" in response.get_data(as_text=True)


def test_a_withdrawn_signature_cannot_endorse(app, client, auth, signers):
    auth.login()
    publish_annex(client)
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.email == "ala@example.org"))
        token = endorsement_token(signature, db.session.get(DeclarationVersion, annex_id(app)))
        withdraw_signature(signature)
    page = client.get(f"/poparcie/{token}")
    assert page.status_code == 410
    assert "Tym linkiem nie można już poprzeć aneksu" in page.get_data(as_text=True)
    assert client.post(f"/poparcie/{token}", data={"csrf_token": auth.csrf()}).status_code == 410
    assert endorsements(app) == set()


def test_a_draft_annex_cannot_be_endorsed_or_invited(app, client, auth, signers):
    auth.login()
    client.post(f"{PANEL}/nowy-aneks", data={"csrf_token": auth.csrf(), "title": "Szkic aneksu", "body": "Szkic."})
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.email == "ala@example.org"))
        token = endorsement_token(signature, db.session.get(DeclarationVersion, annex_id(app)))
    assert client.get(f"/poparcie/{token}").status_code == 400
    assert client.get(f"{PANEL}/aneks-1/zaproszenie").status_code == 404
    assert client.post(f"{PANEL}/aneks-1/zaproszenie", data={"csrf_token": auth.csrf()}).status_code == 404
    assert client.get(f"{PANEL}/wersja-1/zaproszenie").status_code == 404  # a text is signed, not endorsed
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.template.like("annex%"))) == 0


def test_a_coordinator_of_another_coalition_cannot_invite(app, client, auth, signers, other_client):  # noqa: F811
    auth.login()
    publish_annex(client)
    token = csrf_token_from(other_client.get("/panel/koalicje/reintegracja/deklaracja"))
    assert other_client.get(f"{PANEL}/aneks-1/zaproszenie").status_code == 404
    assert other_client.post(f"{PANEL}/aneks-1/zaproszenie", data={"csrf_token": token}).status_code == 404
    assert other_client.get(f"{PANEL}/aneks-1").status_code == 404  # the endorsers' names
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.template.like("annex%"))) == 0
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "endorsement_invite")) is None


def _add_endorsed_allies(count, annex_ids, version_id):
    """Bulk-insert approved, listed signatures under `version_id`, each endorsing every annex."""
    declaration_id = current_declaration().id
    start = db.session.scalar(select(func.count(Signature.id)))
    rows = [
        {"declaration_id": declaration_id, "version_id": version_id, "kind": "person", "full_name": f"Osoba {n}",
         "email": f"o{n}@example.org", "email_key": f"o{n}@example.org", "public_name": True, "consents": {},
         "status": "approved", "listed": True, "list_sort_key": sort_key(f"Osoba {n}"),
         "list_search_key": search_key(f"Osoba {n}")}
        for n in range(start, start + count)
    ]
    db.session.execute(insert(Signature), rows)
    ids = db.session.scalars(select(Signature.id).where(Signature.id.not_in(select(Endorsement.signature_id)))).all()
    endorsed = [{"annex_id": annex, "signature_id": signature, "method": "email"} for signature in ids for annex in annex_ids]
    db.session.execute(insert(Endorsement), endorsed)
    db.session.commit()


def test_the_list_loads_versions_and_endorsements_without_a_query_per_row(app, client, auth, coalition):
    auth.login()
    publish_annex(client)
    client.post(f"{PANEL}/nowy-aneks", data={"csrf_token": auth.csrf(), "title": "Drugi", "body": "Drugi aneks."})
    client.post(f"{PANEL}/aneks-2/publikacja", data={"csrf_token": auth.csrf()})
    with app.app_context():
        annexes = db.session.scalars(select(DeclarationVersion.id).where(DeclarationVersion.kind == "annex")).all()
        old_version = current_declaration().current_version.id
        _add_endorsed_allies(5, annexes, old_version)
    client.post(f"{PANEL}/nowa-wersja", data={"csrf_token": auth.csrf(), "title": "Nowa", "body": "Nowy tekst."})
    client.post(f"{PANEL}/wersja-2/publikacja", data={"csrf_token": auth.csrf()})
    few = statements_for(app, client, "/sasiedztwa/sojusznicy")
    with app.app_context():
        _add_endorsed_allies(45, annexes, old_version)
    assert statements_for(app, client, "/sasiedztwa/sojusznicy") == few
    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert len(re.findall(r"podpis pod wersją 1</span>", page)) == 50
    assert len(re.findall(r"poparcie aneksu 2</span>", page)) == 50
