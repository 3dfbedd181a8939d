"""Declaration versions: drafted in the panel, published for good, each readable at its own address;
every signature keeps the version it was signed under, and the public list says so."""
import pytest
from sqlalchemy import select

from koalicja.coalitions.models import DeclarationVersion
from koalicja.coordinators.audit import AuditEntry
from koalicja.extensions import db
from koalicja.signatures.models import Signature

from ..conftest import VALID_ORGANISATION, VALID_PERSON, csrf_token_from, current_declaration, sign
from .versioning import PANEL, approved_signer, other_client, publish, publish_annex, publish_new_text, save_draft  # noqa: F401 (fixtures)


def test_the_coalition_page_links_to_the_declaration_panel(client, auth, coalition):
    auth.login()
    page = client.get("/panel/koalicje/sasiedztwa/").get_data(as_text=True)
    assert f'href="{PANEL}"' in page
    listing = client.get(PANEL).get_data(as_text=True)
    assert "Wersja 1" in listing and "Aktualna wersja" in listing and "zatwierdzone podpisy: 0" in listing


def test_a_new_version_starts_from_the_current_text_and_stays_a_draft_until_published(app, client, auth, coalition):
    auth.login()
    form = client.get(f"{PANEL}/nowa-wersja").get_data(as_text=True)
    assert "Deklaracja współpracy" in form and "Deklarujemy **współpracę**." in form  # prefilled, raw Markdown

    response = save_draft(client, f"{PANEL}/nowa-wersja", "Deklaracja współpracy 2026", "Nowy **tekst** deklaracji.")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{PANEL}/wersja-2")
    preview = client.get(f"{PANEL}/wersja-2").get_data(as_text=True)
    assert "Szkic (niewidoczny publicznie)" in preview and "Nowy <strong>tekst</strong> deklaracji." in preview

    assert client.get("/sasiedztwa/deklaracja/wersja-2").status_code == 404
    home = client.get("/sasiedztwa/").get_data(as_text=True)
    assert "Nowy <strong>tekst</strong>" not in home and "Deklaracja współpracy 2026" not in home
    history = client.get("/sasiedztwa/deklaracja/wersje").get_data(as_text=True)
    assert "wersja-2" not in history

    # Editing the draft is fine; a second "new version" goes back to the same draft.
    assert save_draft(client, f"{PANEL}/wersja-2/edycja", "Deklaracja współpracy 2026", "Poprawiony tekst.").status_code == 303
    again = client.get(f"{PANEL}/nowa-wersja")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"{PANEL}/wersja-2/edycja")
    with app.app_context():
        draft = db.session.scalar(select(DeclarationVersion).where(DeclarationVersion.number == 2))
        assert draft.body == "Poprawiony tekst." and draft.published_at is None


def test_publishing_a_new_version_keeps_the_old_one_and_every_signature_keeps_its_version(app, client, auth, coordinator):
    with app.app_context():
        earlier = approved_signer(coordinator, full_name="Wczesna Sygnatariuszka", email="wczesna@example.org")
        first_version_id = earlier.version_id
    auth.login()
    save_draft(client, f"{PANEL}/nowa-wersja", "Deklaracja współpracy (wersja 2)", "Deklarujemy współpracę i **pomoc**.")
    confirmation = client.get(f"{PANEL}/wersja-2/publikacja").get_data(as_text=True)
    assert "Wcześniejsze podpisy zostają przy wersji" in confirmation
    assert publish(client, f"{PANEL}/wersja-2").status_code == 303

    old = client.get("/sasiedztwa/deklaracja/wersja-1")
    assert old.status_code == 200
    old_page = old.get_data(as_text=True)
    assert "To nie jest aktualna wersja deklaracji." in old_page and 'href="/sasiedztwa/deklaracja/wersja-2"' in old_page
    assert "Deklarujemy <strong>współpracę</strong>." in old_page
    current = client.get("/sasiedztwa/deklaracja/wersja-2").get_data(as_text=True)
    assert "To nie jest aktualna wersja" not in current and "Deklarujemy współpracę i <strong>pomoc</strong>." in current
    assert "Podpisz deklarację" in current
    home = client.get("/sasiedztwa/").get_data(as_text=True)
    assert "Deklarujemy współpracę i <strong>pomoc</strong>." in home and 'href="/sasiedztwa/deklaracja/wersje"' in home
    history = client.get("/sasiedztwa/deklaracja/wersje").get_data(as_text=True)
    assert "Wersja 1: Deklaracja współpracy" in history and "Wersja 2: Deklaracja współpracy (wersja 2)" in history

    assert sign(client, **VALID_ORGANISATION).status_code == 303
    with app.app_context():
        newer = db.session.scalar(select(Signature).where(Signature.email == VALID_ORGANISATION["email"]))
        second_version_id = newer.version_id
        assert second_version_id != first_version_id
        assert newer.version.number == 2 and newer.consents["version_id"] == second_version_id
        assert db.session.get(Signature, earlier.id).version_id == first_version_id
        newer.status = "confirmed"
        db.session.commit()
        newer_id = newer.id
    decision = client.post(f"/panel/podpisy/{newer_id}/decyzja", data={"decision": "approve", "csrf_token": auth.csrf()})
    assert decision.status_code == 303

    allies = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    entries = {block.split("</span>")[0]: block for block in allies.split('<span class="ally__name">')[1:]}
    assert "podpis pod wersją 1" in entries["Wczesna Sygnatariuszka"]
    assert "podpis pod wersją" not in entries[VALID_ORGANISATION["organisation_name"]]

    listing = client.get(PANEL).get_data(as_text=True)
    assert listing.count("zatwierdzone podpisy: 1") == 2  # one under each version


def test_a_published_version_cannot_be_changed(app, client, auth, coalition):
    auth.login()
    publish_new_text(client)
    token = csrf_token_from(client.get(PANEL))
    for path in (f"{PANEL}/wersja-1/edycja", f"{PANEL}/wersja-2/edycja"):
        assert client.get(path).status_code == 303
        response = client.post(path, data={"csrf_token": token, "title": "Podmiana", "body": "Podmiana"})
        assert response.status_code == 303
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Opublikowanej treści nie można zmienić" in followed
    again = client.post(f"{PANEL}/wersja-2/publikacja", data={"csrf_token": token})
    assert again.status_code == 303
    with app.app_context():
        titles = db.session.scalars(select(DeclarationVersion.title)).all()
        assert "Podmiana" not in titles
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.summary.like("Opublikowano%"))).all()) == 1


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("", "Treść", "Wpisz tytuł."),
        ("Tytuł", "   ", "Wpisz treść."),
        ("<b>Tytuł</b>", "Treść", "Usuń znaki &lt; i &gt;"),
        ("T" * 301, "Treść", "Wpisz najwyżej 300 znaków."),
    ],
)
def test_a_draft_with_mistakes_is_shown_again_with_the_input_kept(app, client, auth, coalition, title, body, message):
    auth.login()
    response = save_draft(client, f"{PANEL}/nowy-aneks", title, body)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and "Popraw zaznaczone pola" in page
    assert (body.strip() or title) in page
    with app.app_context():
        assert db.session.scalar(select(DeclarationVersion).where(DeclarationVersion.kind == "annex")) is None


def test_drafts_and_unknown_versions_are_not_public(client, auth, coalition):
    auth.login()
    save_draft(client, f"{PANEL}/nowy-aneks", "Aneks roboczy", "Jeszcze nie gotowy.")
    for path in ("/sasiedztwa/deklaracja/aneks-1", "/sasiedztwa/deklaracja/wersja-9", "/sasiedztwa/deklaracja/aneks-0",
                 "/nie-ma/deklaracja/wersja-1", "/sasiedztwa/deklaracja/wersja-x"):
        assert client.get(path).status_code == 404, path
    for path in ("/sasiedztwa/", "/sasiedztwa/podpisz", "/sasiedztwa/deklaracja/wersje"):
        assert "Aneks roboczy" not in client.get(path).get_data(as_text=True), path


def test_every_change_is_in_the_audit_log(app, client, auth, coalition):
    auth.login()
    save_draft(client, f"{PANEL}/nowa-wersja", "Wersja druga", "Tekst.")
    save_draft(client, f"{PANEL}/wersja-2/edycja", "Wersja druga", "Tekst poprawiony.")
    publish(client, f"{PANEL}/wersja-2")
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "version").order_by(AuditEntry.id)).all()
        assert [entry.summary for entry in entries] == [
            "Nowy szkic: wersja 2 „Wersja druga”",
            "Zmieniony szkic: wersja 2 „Wersja druga”",
            "Opublikowano: wersja 2 „Wersja druga”",
        ]
        assert {entry.coordinator_name for entry in entries} == {"Koordynatorka Testowa"}
        assert entries[0].coalition_id == current_declaration().coalition_id


def test_panel_urls_of_a_coalition_answer_404_to_a_coordinator_of_another(app, client, auth, coalition, other_client):  # noqa: F811
    auth.login()
    save_draft(client, f"{PANEL}/nowa-wersja", "Szkic", "Szkic.")
    publish_annex(client)
    token = csrf_token_from(other_client.get("/panel/koalicje/reintegracja/deklaracja"))
    pages = [PANEL, f"{PANEL}/nowa-wersja", f"{PANEL}/nowy-aneks", f"{PANEL}/wersja-1", f"{PANEL}/wersja-2",
             f"{PANEL}/wersja-2/edycja", f"{PANEL}/wersja-2/publikacja", f"{PANEL}/aneks-1", f"{PANEL}/aneks-1/zaproszenie"]
    for path in pages:
        assert other_client.get(path).status_code == 404, path
    posts = [f"{PANEL}/nowa-wersja", f"{PANEL}/nowy-aneks", f"{PANEL}/wersja-2/edycja", f"{PANEL}/wersja-2/publikacja",
             f"{PANEL}/aneks-1/zaproszenie"]
    for path in posts:
        response = other_client.post(path, data={"csrf_token": token, "title": "Przejęcie", "body": "Przejęcie"})
        assert response.status_code == 404, path
    with app.app_context():
        draft = db.session.scalar(select(DeclarationVersion).where(DeclarationVersion.number == 2))
        assert draft.published_at is None and draft.title == "Szkic"
        assert db.session.scalar(select(DeclarationVersion).where(DeclarationVersion.title == "Przejęcie")) is None
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.coordinator_name == "Koordynator Reintegracji")) is None
    # Their own coalition's page works.
    assert other_client.get("/panel/koalicje/reintegracja/deklaracja").status_code == 200


def test_panel_needs_login(client, coalition):
    for path in (PANEL, f"{PANEL}/wersja-1", f"{PANEL}/nowa-wersja"):
        response = client.get(path)
        assert response.status_code == 302 and "/panel/logowanie" in response.headers["Location"]


def test_a_coalition_without_a_declaration_starts_with_its_first_version(app, client, auth, coalition):
    with app.app_context():
        declaration = current_declaration()
        db.session.delete(declaration)  # no signatures yet: a coalition set up without a text
        db.session.commit()
    auth.login()
    assert "nie ma jeszcze deklaracji" in client.get(PANEL).get_data(as_text=True)
    assert client.get(f"{PANEL}/nowy-aneks").status_code == 404
    assert save_draft(client, f"{PANEL}/nowa-wersja", "Deklaracja", "Pierwszy tekst.").status_code == 303
    assert client.get("/sasiedztwa/podpisz").status_code == 404  # only a draft so far
    assert publish(client, f"{PANEL}/wersja-1").status_code == 303
    assert "Pierwszy tekst." in client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    assert sign(client, **VALID_PERSON).status_code == 303
