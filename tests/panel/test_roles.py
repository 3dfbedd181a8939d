"""Administrators and coordinators: each coordinator acts only for their own coalitions.

A coordinator of "reintegracja" tries every way into "sasiedztwa" (the `coalition` fixture):
the UI never shows it, and crafted requests answer 404 and change nothing.
"""
import io
import re

import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event, EventStatus, Registration, RegistrationStatus
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.panel.operations import create_coordinator
from koalicja.profiles.models import OrganisationProfile, ProfileStatus
from koalicja.profiles.operations import submit_profile
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import sign_declaration
from koalicja.timeutil import utcnow

from ..conftest import VALID_ORGANISATION, VALID_PERSON, Auth, csrf_token_from, current_declaration
from ..declarations.test_allies import add_ally

OTHER_EMAIL = "reintegracja@example.org"
ADMIN_EMAIL = "admin@example.org"
PASSWORD = "haslo-testowe-123"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" + b"\x00" * 40


@pytest.fixture
def other_coordinator(app, coalition):
    """A coordinator of a second coalition only, with one confirmed entry of its own."""
    with app.app_context():
        other = Coalition(slug="reintegracja", name="Koalicja na rzecz reintegracji", organiser="Fundacja")
        db.session.add_all([other, Declaration(coalition=other, title="Deklaracja", body="Tekst")])
        db.session.commit()
        account = create_coordinator(OTHER_EMAIL, "Koordynator Reintegracji", PASSWORD)
        account.coalitions.append(other)
        db.session.commit()
        return account.id


@pytest.fixture
def admin(app):
    with app.app_context():
        account = create_coordinator(ADMIN_EMAIL, "Administratorka", PASSWORD)
        account.is_admin = True
        db.session.commit()
        return account.id


def confirmed_signature_in_sasiedztwa(app, **changes):
    with app.app_context():
        signature = sign_declaration(current_declaration(), {**VALID_PERSON, **changes}).signature
        signature.status = SignatureStatus.CONFIRMED
        db.session.commit()
        return signature.id


def event_in_sasiedztwa(app):
    with app.app_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == "sasiedztwa"))
        event = Event(
            coalition=coalition, slug="gala", title="Gala", starts_at=utcnow(), ends_at=utcnow(),
            status=EventStatus.PUBLISHED,
        )
        db.session.add(event)
        db.session.commit()
        return event.id


def waiting_registration(app, event_id):
    with app.app_context():
        registration = Registration(
            event_id=event_id, full_name="Ukryta Osoba", email="ukryta@example.org", email_key="ukryta@example.org",
            status=RegistrationStatus.WAITING, code="UKRYTA23",
        )
        db.session.add(registration)
        db.session.commit()
        return registration.id


def test_a_coordinator_of_another_coalition_cannot_see_or_decide(app, client, coalition, other_coordinator):
    signature_id = confirmed_signature_in_sasiedztwa(app, full_name="Ukryta Osoba")
    event_id = event_in_sasiedztwa(app)
    auth = Auth(client)
    auth.login(OTHER_EMAIL, PASSWORD)

    queue = client.get("/panel/podpisy").get_data(as_text=True)
    assert "Ukryta Osoba" not in queue
    assert "Ukryta Osoba" not in client.get("/panel/podpisy?koalicja=sasiedztwa&q=Ukryta").get_data(as_text=True)
    assert "Gala" not in client.get("/panel/wydarzenia/").get_data(as_text=True)
    assert client.get("/panel/koalicje/sasiedztwa/").status_code == 404
    assert "Koalicja na rzecz sąsiedztw" not in client.get("/panel/koalicje/").get_data(as_text=True)

    token = auth.csrf()
    crafted = [
        client.post(f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve", "csrf_token": token}),
        client.get(f"/panel/wydarzenia/{event_id}"),
        client.get(f"/panel/wydarzenia/{event_id}/zapisy.csv"),
        client.get(f"/panel/wydarzenia/{event_id}/wejscie"),
        client.post(f"/panel/wydarzenia/{event_id}/odwolaj", data={"confirm": "tak", "csrf_token": token}),
        client.post(f"/panel/wydarzenia/{event_id}/edycja", data={"title": "Przejęte", "csrf_token": token}),
        client.post(
            f"/panel/wydarzenia/{event_id}/dodaj-osobe",
            data={"full_name": "Ktoś", "email": "ktos@example.org", "consent_given": "y", "csrf_token": token},
        ),
    ]
    registration_id = waiting_registration(app, event_id)
    crafted += [
        client.post(f"/panel/wydarzenia/zapisy/{registration_id}/{action}", data={"csrf_token": token, **data})
        for action, data in (
            ("anuluj", {"confirm": "tak"}), ("bilet", {}), ("zapros", {}), ("towarzyszace", {"companions": "2"}),
        )
    ]
    assert [response.status_code for response in crafted] == [404] * len(crafted)

    bulk = client.post(
        "/panel/podpisy/decyzje", data={"decision": "approve", "ids": [str(signature_id)], "csrf_token": token}
    )
    assert bulk.status_code == 303
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == SignatureStatus.CONFIRMED
        event = db.session.get(Event, event_id)
        assert event.status == EventStatus.PUBLISHED and event.title == "Gala"
        assert [(r.status, r.companions) for r in db.session.scalars(select(Registration))] == [("waiting", 0)]


def test_a_coordinator_of_another_coalition_cannot_see_or_decide_an_organisation_profile(
    app, client, coalition, coordinator, other_coordinator
):
    with app.app_context():
        organisation = add_ally(coordinator, **VALID_ORGANISATION)
        profile_id = submit_profile(organisation, "https://zablocie.example.org", "Sprzątamy, sadzimy, gotujemy.").id
    auth = Auth(client)
    auth.login(OTHER_EMAIL, PASSWORD)
    token = auth.csrf()
    own_list = client.get("/panel/koalicje/reintegracja/profile-organizacji")
    assert own_list.status_code == 200 and "Zabłocia" not in own_list.get_data(as_text=True)
    crafted = [client.get("/panel/koalicje/sasiedztwa/profile-organizacji")]
    # Through the other coalition's address and through their own, with the other coalition's profile.
    for slug in ("sasiedztwa", "reintegracja"):
        crafted += [
            client.post(f"/panel/koalicje/{slug}/profile-organizacji/{profile_id}/{decision}", data={"csrf_token": token})
            for decision in ("zatwierdz", "odrzuc")
        ]
    assert [response.status_code for response in crafted] == [404] * len(crafted)
    with app.app_context():
        assert db.session.get(OrganisationProfile, profile_id).status == ProfileStatus.PENDING
        assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "organisation_profile")).all() == []
    assert "ally--card" not in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)


def test_personal_data_export_covers_only_the_coordinators_coalitions(app, client, coalition, other_coordinator):
    confirmed_signature_in_sasiedztwa(app, email="ktos@example.org")
    auth = Auth(client)
    auth.login(OTHER_EMAIL, PASSWORD)
    response = client.post(
        "/panel/dane-osobowe/", data={"email": "ktos@example.org", "csrf_token": auth.csrf()}
    )
    export = response.get_json(force=True)
    assert export["signatures"] == [] and export["emails_in_outbox"] == []


def test_the_own_coalitions_entries_are_there(app, client, auth, coalition, other_coordinator):
    confirmed_signature_in_sasiedztwa(app, full_name="Widoczna Osoba")
    auth.login()
    assert "Widoczna Osoba" in client.get("/panel/podpisy").get_data(as_text=True)


def test_admin_pages_are_not_there_for_coordinators(client, auth):
    auth.login()
    for url in ("/panel/admin/koordynatorzy", "/panel/admin/dziennik", "/panel/admin/koalicje/nowa",
                "/panel/admin/koalicje/sasiedztwa/ustawienia"):
        assert client.get(url).status_code == 404, url


def test_admin_creates_a_coalition_with_a_readable_address(app, client, admin, coalition):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    form = client.get("/panel/admin/koalicje/nowa")
    data = {
        "csrf_token": csrf_token_from(form),
        "name": "Porozumienie Partnerskie dla Więcborka",
        "organiser": "Gmina Więcbork",
        "contact_email": "partnerstwo@example.org",
        "contact_persons": "**Anna Kowalska**, koordynatorka, tel. 500 000 000",
        "brand_colour": "#1d5c4d",
        "logo": (io.BytesIO(PNG), "logo.png"),
    }
    response = client.post("/panel/admin/koalicje/nowa", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/panel/koalicje/porozumienie-partnerskie-dla-wiecborka/")
    home = client.get("/porozumienie-partnerskie-dla-wiecborka/")
    assert "Anna Kowalska" in home.get_data(as_text=True)
    with client.get("/porozumienie-partnerskie-dla-wiecborka/logo") as logo:
        assert logo.status_code == 200 and logo.data == PNG
    # Two coalitions now: the home page lists them instead of redirecting.
    index = client.get("/").get_data(as_text=True)
    assert "Porozumienie Partnerskie dla Więcborka" in index and "Koalicja na rzecz sąsiedztw" in index
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "coalition"))
        assert entry.coordinator_name == "Administratorka"
        assert entry.summary == "Nowa koalicja: Porozumienie Partnerskie dla Więcborka"


@pytest.mark.parametrize(
    ("slug", "message"),
    [("panel", "zajęty przez aplikację"), ("sasiedztwa", "Inna koalicja ma już ten adres"), ("Źle Adres", "małych liter")],
)
def test_a_taken_or_malformed_address_is_refused_with_the_input_kept(client, admin, coalition, slug, message):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    form = client.get("/panel/admin/koalicje/nowa")
    response = client.post(
        "/panel/admin/koalicje/nowa",
        data={"csrf_token": csrf_token_from(form), "name": "Nowa Koalicja", "slug": slug,
              "organiser": "Fundacja", "contact_email": "a@example.org", "brand_colour": "#1d5c4d"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page and 'value="Nowa Koalicja"' in page


def test_a_logo_that_is_not_an_image_is_refused(client, admin, coalition):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    form = client.get("/panel/admin/koalicje/sasiedztwa/ustawienia")
    response = client.post(
        "/panel/admin/koalicje/sasiedztwa/ustawienia",
        data={"csrf_token": csrf_token_from(form), "name": "Koalicja na rzecz sąsiedztw", "organiser": "Fundacja",
              "contact_email": "a@example.org", "brand_colour": "#1d5c4d",
              "logo": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "To nie jest obraz PNG, JPEG ani WebP" in response.get_data(as_text=True)


def test_invited_coordinator_sets_a_password_and_sees_only_their_coalition(app, client, admin, coalition, other_coordinator):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    with app.app_context():
        reintegracja = db.session.scalar(select(Coalition).where(Coalition.slug == "reintegracja"))
        reintegracja_id = reintegracja.id
    form = client.get("/panel/admin/koordynatorzy/nowy")
    response = client.post(
        "/panel/admin/koordynatorzy/nowy",
        data={"csrf_token": csrf_token_from(form), "name": "Nowa Osoba", "email": "nowa@example.org",
              "coalitions": [str(reintegracja_id)]},
    )
    assert response.status_code == 303
    with app.app_context():
        invitation = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "nowa@example.org"))
        link = re.search(r"http://koalicja\.test(/panel/ustaw-haslo/\S+)", invitation.body_text).group(1)
    client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})

    # Before a password is set, nothing logs in.
    assert auth.login("nowa@example.org", "").status_code == 422
    page = client.get(link)
    response = client.post(
        link, data={"csrf_token": csrf_token_from(page), "new_password": "nowe-haslo-2026", "repeat_password": "nowe-haslo-2026"}
    )
    assert response.status_code == 303
    assert client.get(link).status_code == 404  # one use only
    assert auth.login("nowa@example.org", "nowe-haslo-2026").status_code == 303
    coalitions = client.get("/panel/koalicje/").get_data(as_text=True)
    assert "Koalicja na rzecz reintegracji" in coalitions and "Koalicja na rzecz sąsiedztw" not in coalitions


def test_role_changes_are_logged_and_browsable(app, client, admin, coalition, coordinator):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    form = client.get(f"/panel/admin/koordynatorzy/{coordinator}")
    response = client.post(
        f"/panel/admin/koordynatorzy/{coordinator}",
        data={"csrf_token": csrf_token_from(form), "name": "Koordynatorka Testowa", "is_admin": "y", "active": "y"},
    )
    assert response.status_code == 303
    with app.app_context():
        account = db.session.get(Coordinator, coordinator)
        assert account.is_admin and account.coalitions == []
    log = client.get("/panel/admin/dziennik?akcja=role_change").get_data(as_text=True)
    assert "Zmiana uprawnień" in log and "Koordynatorka Testowa" in log and "Administratorka" in log


def test_deactivating_an_account_signs_it_out_everywhere_and_the_log_keeps_the_roles_before_and_after(
        app, client, admin, coalition, coordinator):
    other = app.test_client()
    Auth(other).login()
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    with app.app_context():
        coalition_id = db.session.scalar(select(Coalition.id).where(Coalition.slug == "sasiedztwa"))
    url = f"/panel/admin/koordynatorzy/{coordinator}"

    def save(**fields):
        form = client.get(url)
        data = {"csrf_token": csrf_token_from(form), "name": "Koordynatorka Testowa", "coalitions": coalition_id, **fields}
        assert client.post(url, data=data).status_code == 303

    def role_changes():
        with app.app_context():
            return [(entry.summary, entry.subject_type, entry.subject_id, entry.coordinator_name, entry.details)
                    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "role_change"))]

    save(active="y")  # the roles as they were: nothing to log, nobody signed out
    assert role_changes() == [] and other.get("/panel/podpisy").status_code == 200
    save()  # `Konto aktywne` unticked
    roles = {"is_admin": False, "coalitions": ["sasiedztwa"]}
    assert role_changes() == [("Koordynatorka Testowa", "coordinator", coordinator, "Administratorka",
                               {"before": {**roles, "active": True}, "after": {**roles, "active": False}})]
    assert other.get("/panel/podpisy").status_code == 302  # signed out on the other device at once
    assert '"active": false' in client.get("/panel/admin/dziennik?akcja=role_change").get_data(as_text=True)


def test_an_administrator_cannot_demote_themselves(app, client, admin, coalition):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    form = client.get(f"/panel/admin/koordynatorzy/{admin}")
    client.post(f"/panel/admin/koordynatorzy/{admin}", data={"csrf_token": csrf_token_from(form), "name": "Administratorka"})
    with app.app_context():
        account = db.session.get(Coordinator, admin)
        assert account.is_admin and account.active


def test_approvals_are_in_the_audit_log(app, client, auth, coalition, admin):
    signature_id = confirmed_signature_in_sasiedztwa(app, full_name="Zofia Audytowa")
    auth.login()
    client.post(f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve", "csrf_token": auth.csrf()})
    client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    log = client.get("/panel/admin/dziennik?koalicja=sasiedztwa").get_data(as_text=True)
    assert "Zatwierdzenie" in log and "Koordynatorka Testowa" in log
    # A private person is named by number: the log outlives a withdrawal of the signature.
    assert f"osoba prywatna nr {signature_id}" in log and "Zofia Audytowa" not in log


def test_a_new_password_link_signs_the_account_out_and_works_once(app, client, admin, coalition, coordinator):
    other = app.test_client()
    Auth(other).login()
    assert other.get("/panel/podpisy").status_code == 200
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    assert client.post(f"/panel/admin/koordynatorzy/{coordinator}/link-do-hasla", data={"csrf_token": auth.csrf()}).status_code == 303
    assert other.get("/panel/podpisy").status_code == 302  # signed out
    with app.app_context():
        mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert "Link do ustawienia hasła" in mail.subject
        assert "Administratorka wysyła Ci nowy link do ustawienia hasła" in mail.body_text  # who sent it, by name
        link = re.search(r"http://koalicja\.test(/panel/ustaw-haslo/\S+)", mail.body_text).group(1)
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.subject_type, entry.subject_id) == ("coordinator", "coordinator", coordinator)
        assert entry.coordinator_name == "Administratorka"
        assert entry.summary == "Nowy link do ustawienia hasła: Koordynatorka Testowa"
    log = client.get("/panel/admin/dziennik?akcja=coordinator").get_data(as_text=True)
    assert "Nowy link do ustawienia hasła: Koordynatorka Testowa" in log
    page = other.get(link)
    other.post(link, data={"csrf_token": csrf_token_from(page), "new_password": "inne-haslo-2026", "repeat_password": "inne-haslo-2026"})
    assert Auth(other).login(password="inne-haslo-2026").status_code == 303


def _save_settings(client, slug, new_slug, name="Koalicja na rzecz sąsiedztw"):
    form = client.get(f"/panel/admin/koalicje/{slug}/ustawienia")
    return client.post(
        f"/panel/admin/koalicje/{slug}/ustawienia",
        data={"csrf_token": csrf_token_from(form), "name": name, "slug": new_slug,
              "organiser": "Fundacja", "contact_email": "a@example.org", "brand_colour": "#1d5c4d"},
    )


def test_renaming_a_coalition_keeps_its_address(app, client, admin, coalition):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    response = _save_settings(client, "sasiedztwa", "", name="Sąsiedzka Koalicja Krakowa")
    assert response.headers["Location"].endswith("/panel/koalicje/sasiedztwa/")
    assert "Sąsiedzka Koalicja Krakowa" in client.get("/sasiedztwa/").get_data(as_text=True)


def test_links_to_a_former_address_lead_to_the_new_one(app, client, admin, coalition):
    """Posters and e-mails carry the old address: it redirects, and no other coalition may take it."""
    visitor = app.test_client()  # no cookie: served from the page cache when it can be
    assert visitor.get("/sasiedztwa/sojusznicy?q=Nowak&strona=2").status_code == 200
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    assert _save_settings(client, "sasiedztwa", "sasiedzi-krakowa").status_code == 303

    assert visitor.get("/sasiedztwa/sojusznicy?q=Nowak&strona=2").status_code == 302
    moved = client.get("/sasiedztwa/sojusznicy?q=Nowak&strona=2")
    assert moved.status_code == 302
    assert moved.headers["Location"] == "/sasiedzi-krakowa/sojusznicy?q=Nowak&strona=2"
    assert client.get("/sasiedztwa", follow_redirects=True).request.path == "/sasiedzi-krakowa/"
    assert client.get("/sasiedzi-krakowa/").status_code == 200
    assert client.post("/sasiedztwa/podpisz").status_code == 404  # a form is never re-sent elsewhere
    assert client.get("/nie-bylo-takiej/").status_code == 404

    form = client.get("/panel/admin/koalicje/nowa")
    taken = client.post(
        "/panel/admin/koalicje/nowa",
        data={"csrf_token": csrf_token_from(form), "name": "Inna", "slug": "sasiedztwa",
              "organiser": "Fundacja", "contact_email": "a@example.org", "brand_colour": "#1d5c4d"},
    )
    assert taken.status_code == 422 and "stare linki wciąż do niej prowadzą" in taken.get_data(as_text=True)

    # The coalition may take its old address back; then it is served there directly.
    assert _save_settings(client, "sasiedzi-krakowa", "sasiedztwa").status_code == 303
    assert client.get("/sasiedztwa/").status_code == 200
    assert client.get("/sasiedzi-krakowa/").headers["Location"] == "/sasiedztwa/"
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "coalition").order_by(AuditEntry.id)).all()[-1]
        assert "slug" in entry.details["changed"]


def test_a_new_coalition_offers_no_signing_until_its_text_is_published(app, client, admin, coalition):
    auth = Auth(client)
    auth.login(ADMIN_EMAIL, PASSWORD)
    form = client.get("/panel/admin/koalicje/nowa")
    client.post(
        "/panel/admin/koalicje/nowa",
        data={"csrf_token": csrf_token_from(form), "name": "Młoda Koalicja", "organiser": "Fundacja",
              "contact_email": "a@example.org", "brand_colour": "#1d5c4d"},
    )
    visitor = app.test_client()
    for path in ("/mloda-koalicja/", "/mloda-koalicja/sojusznicy", "/mloda-koalicja/wydarzenia"):
        page = visitor.get(path)
        assert page.status_code == 200 and "/mloda-koalicja/podpisz" not in page.get_data(as_text=True), path
    not_ready = visitor.get("/mloda-koalicja/podpisz")
    assert not_ready.status_code == 404 and "Deklaracja jeszcze nie jest gotowa" in not_ready.get_data(as_text=True)
    assert "/sasiedztwa/podpisz" in visitor.get("/sasiedztwa/sojusznicy").get_data(as_text=True)


# ---- audit entries are data, shown in the reader's language (issue 13) --------------------


def invite(client, name="Nowa Osoba", email="nowa@example.org"):
    form = client.get("/panel/admin/koordynatorzy/nowy")
    return client.post("/panel/admin/koordynatorzy/nowy", data={"csrf_token": csrf_token_from(form), "name": name, "email": email})


@pytest.mark.parametrize(
    ("reader_language", "sentence"),
    [("pl", "Nowe konto: Ola Nowak"), ("en", "New account: Ola Nowak"), ("uk", "Новий обліковий запис: Ola Nowak")],
)
def test_audit_entries_are_stored_as_data_and_read_in_the_readers_language(app, client, admin, reader_language, sentence):
    client.set_cookie("lang", "en")  # the administrator acts in English
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    assert invite(client, name="Ola Nowak").status_code == 303
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "coordinator"))
        assert (entry.action, entry.message, entry.params) == ("coordinator", "Nowe konto: %(name)s", {"name": "Ola Nowak"})
        assert entry.summary == "Nowe konto: Ola Nowak"  # the text column in Polish, whoever acted

    client.set_cookie("lang", reader_language)
    log = client.get("/panel/admin/dziennik?akcja=coordinator").get_data(as_text=True)
    assert sentence in log


def test_an_entry_written_before_messages_were_stored_still_shows_its_summary(app, client, admin):
    with app.app_context():
        db.session.add(AuditEntry(action="coordinator", summary="Nowe konto: Stara Pozycja", coordinator_name="Administratorka"))
        db.session.commit()
    client.set_cookie("lang", "en")
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    assert "Nowe konto: Stara Pozycja" in client.get("/panel/admin/dziennik").get_data(as_text=True)


def test_audit_messages_compose_and_survive_a_changed_wording(app):
    from flask_babel import force_locale, lazy_ngettext
    from flask_babel import lazy_gettext as _l

    from koalicja.coordinators.audit import describe, message_of

    nested = _l("Nowe konto: %(name)s", name=_l("Nowy link do ustawienia hasła: %(name)s", name="Ala"))
    message, params = message_of(nested)
    assert params == {"name": {"message": "Nowy link do ustawienia hasła: %(name)s", "params": {"name": "Ala"}}}
    plural = message_of(lazy_ngettext("%(num)d wpis", "%(num)d wpisy", 3))
    assert plural[1] == {"_plural": "%(num)d wpisy", "num": 3}
    assert message_of("zwykły tekst") is None  # kept as text by record
    with app.test_request_context(), force_locale("en"):
        assert describe(message, params) == "New account: New link to set a password: Ala"
        assert describe("Nowe konto: %(name)s", {"who": "Ala"}) == "Nowe konto: %(name)s"  # never a 500
