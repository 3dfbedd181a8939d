"""Paper signatures: a coordinator enters a signed form with its scan; only that coalition's
coordinators see the scan; a renamed executable or an oversized file is refused, leaving nothing."""
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from koalicja import PROJECT_ROOT, create_app
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.audit import AuditAction, AuditEntry
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import withdraw_signature
from koalicja.timeutil import warsaw_today

from ..conftest import VALID_ORGANISATION, VALID_PERSON, Auth, csrf_token_from, current_declaration, sign

URL = "/panel/koalicje/sasiedztwa/podpis-papierowy"
SCAN_LIMIT = 50_000
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" + b"\x00" * 40
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."
OTHER_EMAIL = "reintegracja@example.org"
PASSWORD = "haslo-testowe-123"


@pytest.fixture
def app_config(tmp_path):
    # The request limit stays small: werkzeug's test client would spool a bigger body to a temp file.
    return {"SCAN_FOLDER": str(tmp_path / "scans"), "SCAN_MAX_BYTES": SCAN_LIMIT, "MAX_CONTENT_LENGTH": 4 * SCAN_LIMIT}


@pytest.fixture
def scans(app):
    return Path(app.config["SCAN_FOLDER"])


def stored_scans(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def static_files():
    return {p for p in (PROJECT_ROOT / "static").rglob("*") if p.is_file()}


PAPER_ORGANISATION = {
    key: value for key, value in VALID_ORGANISATION.items() if key not in ("accept_declaration", "accept_privacy")
} | {"nip": "PL 526-104-08-28", "signed_place": "Więcbork", "holds_signed_form": "y"}


def enter(client, scan=PDF, filename="moj-skan Kowalskiej.pdf", url=URL, **fields):
    token = csrf_token_from(client.get(url))
    data = {"csrf_token": token, "signed_on": (warsaw_today() - timedelta(days=3)).isoformat(), **PAPER_ORGANISATION, **fields}
    if scan is not None:
        data["scan"] = (io.BytesIO(scan), filename)
    return client.post(url, data={k: v for k, v in data.items() if v is not None}, content_type="multipart/form-data")


def test_coalition_page_links_to_the_paper_form(client, auth, coalition):
    auth.login()
    page = client.get("/panel/koalicje/sasiedztwa/").get_data(as_text=True)
    assert URL in page
    form = client.get(URL).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form
    assert "Mam podpisany formularz z tymi danymi." in form
    assert 'name="accept_privacy"' not in form and 'name="website"' not in form  # no online consents, no bot trap
    assert 'name="nip"' in form and 'type="date"' in form and 'name="scan"' in form


def test_paper_entry_is_approved_with_its_scan_and_nobody_is_mailed(app, client, auth, coalition, scans):
    static_before = static_files()
    auth.login()
    response = enter(client)
    assert response.status_code == 303 and response.headers["Location"].endswith(URL)
    assert "Zapisano podpis papierowy: Stowarzyszenie Sąsiedzi z Zabłocia" in client.get(URL).get_data(as_text=True)
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert (signature.origin, signature.status, signature.listed) == ("paper", "approved", True)
        assert signature.nip == "5261040828"
        assert signature.signed_place == "Więcbork" and signature.signed_on == warsaw_today() - timedelta(days=3)
        assert signature.entered_by.name == "Koordynatorka Testowa" and signature.decided_by_id == signature.entered_by_id
        assert signature.version == current_declaration().current_version
        assert signature.scan_content_type == "application/pdf"
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.PAPER_ENTRY)).all()
        assert entry.subject_id == signature.id and entry.coordinator_name == "Koordynatorka Testowa"
        assert entry.summary == "Stowarzyszenie Sąsiedzi z Zabłocia"
        scan_file, signature_id = signature.scan_file, signature.id
    # Stored under a random name in the scan folder, never under the sender's name, never in static/.
    assert stored_scans(scans) == [scan_file]
    assert "skan" not in scan_file and "Kowalsk" not in scan_file and len(scan_file) > 30
    assert (scans / scan_file).read_bytes() == PDF
    assert static_files() == static_before
    # On the public list at once, and in the queue marked as paper with the scan's link.
    assert "Stowarzyszenie Sąsiedzi z Zabłocia" in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    row = client.get("/panel/podpisy?stan=approved").get_data(as_text=True)
    assert '<span class="badge badge--paper">papierowy</span>' in row
    assert f'href="/panel/skany/{signature_id}"' in row and "Więcbork" in row and "NIP 5261040828" in row
    with client.get(f"/panel/skany/{signature_id}") as scan:
        assert scan.status_code == 200 and scan.data == PDF
        assert scan.headers["Content-Type"] == "application/pdf"
        assert scan.headers["Content-Disposition"].startswith("attachment;")
        assert scan.headers["X-Content-Type-Options"] == "nosniff"
        assert scan.headers["Cache-Control"] == "no-store"


def test_an_image_scan_opens_in_the_browser(app, client, auth, coalition):
    auth.login()
    assert enter(client, scan=PNG, filename="zdjecie.png").status_code == 303
    with app.app_context():
        signature_id = db.session.scalar(select(Signature.id))
    with client.get(f"/panel/skany/{signature_id}") as scan:
        assert scan.headers["Content-Type"] == "image/png" and scan.data == PNG
        assert scan.headers["Content-Disposition"].startswith("inline;")


def test_paper_form_without_an_email_address_is_accepted_and_never_mailed(app, client, auth, coalition):
    auth.login()
    person = {"kind": "person", "full_name": "Jan Nowak", "email": "", "public_name": "y", "holds_signed_form": "y"}
    for name in ("Jan Nowak", "Maria Nowak"):
        assert enter(client, **{**{k: None for k in PAPER_ORGANISATION}, **person, "full_name": name}).status_code == 303
    with app.app_context():
        signatures = db.session.scalars(select(Signature)).all()
        assert [s.full_name for s in signatures] == ["Jan Nowak", "Maria Nowak"]
        assert all(s.email == "" and s.email_key.startswith("paper:") and s.kind == "person" for s in signatures)
        assert all(s.nip == "" for s in signatures)
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert client.get("/panel/podpisy?stan=approved").get_data(as_text=True).count("brak") >= 2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"holds_signed_form": None}, "holds_signed_form", "Potwierdź, że masz podpisany formularz z tymi danymi."),
        ({"signed_on": ""}, "signed_on", "Wpisz datę podpisania."),
        ({"signed_on": (warsaw_today() + timedelta(days=1)).isoformat()}, "signed_on", "nie może być późniejsza niż dzisiejsza"),
        ({"nip": "526-104-08-29"}, "nip", "Suma kontrolna się nie zgadza"),
        ({"contact_allowed": "y", "email": ""}, "contact_allowed", "Bez adresu e-mail nie wyślemy wiadomości."),
        ({"scan": None}, "scan", "Dołącz skan lub zdjęcie podpisanego formularza."),
    ],
)
def test_invalid_paper_entry_is_explained_and_keeps_what_was_typed(app, client, auth, coalition, scans, changes, field, message):
    auth.login()
    changes = dict(changes)  # parametrised once for both databases: keep the original intact
    response = enter(client, scan=changes.pop("scan", PDF), **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and message in page
    assert 'value="Stowarzyszenie Sąsiedzi z Zabłocia"' in page
    assert stored_scans(scans) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0


def test_renamed_executable_is_refused_by_its_content(app, client, auth, coalition, scans):
    auth.login()
    response = enter(client, scan=EXECUTABLE, filename="scan.pdf")
    assert response.status_code == 422
    assert "Ten plik nie jest skanem w formacie PDF, JPEG ani PNG" in response.get_data(as_text=True)
    assert stored_scans(scans) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0


def test_scan_over_the_limit_gets_a_form_error(app, client, auth, coalition, scans):
    auth.login()
    response = enter(client, scan=PDF + b"0" * SCAN_LIMIT)
    assert response.status_code == 422
    assert "Plik jest za duży" in response.get_data(as_text=True)
    assert stored_scans(scans) == []


def test_upload_far_over_the_limit_gets_the_polish_413_page(app, client, auth, coalition, scans):
    auth.login()
    response = enter(client, scan=PDF + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413
    assert "Plik jest za duży" in response.get_data(as_text=True) and "Nic nie zostało zapisane" in response.get_data(as_text=True)
    assert stored_scans(scans) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0


def test_an_address_that_signed_online_already_is_not_entered_twice(app, client, auth, coalition, scans):
    sign(client, **VALID_ORGANISATION)
    auth.login()
    response = enter(client, email="ANNA@stowarzyszenie.example.org")
    assert response.status_code == 422
    assert "Ten adres e-mail jest już pod deklaracją: Stowarzyszenie Sąsiedzi z Zabłocia (Niepotwierdzony e-mailem)." in response.get_data(as_text=True)
    assert stored_scans(scans) == []


def test_withdrawal_deletes_the_scan_and_the_identifiers(app, client, auth, coalition, scans):
    auth.login()
    enter(client, email="anna@example.org")
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        withdraw_signature(signature)
        assert (signature.nip, signature.signed_place, signature.scan_file) == ("", "", "")
        signature_id = signature.id
    assert stored_scans(scans) == []
    assert client.get(f"/panel/skany/{signature_id}").status_code == 404


# ---- another coalition's coordinator ----------------------------------------------------------


@pytest.fixture
def other_client(app, coalition):
    """Logged in as the coordinator of a second coalition only."""
    with app.app_context():
        other = Coalition(slug="reintegracja", name="Koalicja na rzecz reintegracji")
        db.session.add_all([other, Declaration(coalition=other, title="Deklaracja", body="Tekst")])
        db.session.commit()
        account = create_coordinator(OTHER_EMAIL, "Koordynator Reintegracji", PASSWORD)
        account.coalitions.append(other)
        db.session.commit()
    other_client = app.test_client()
    Auth(other_client).login(OTHER_EMAIL, PASSWORD)
    return other_client


def test_another_coalitions_coordinator_gets_404_for_the_form_and_the_scan(app, client, auth, other_client, scans):
    auth.login()
    enter(client)
    with app.app_context():
        signature_id = db.session.scalar(select(Signature.id))
    assert other_client.get(URL).status_code == 404
    token = csrf_token_from(other_client.get("/panel/koalicje/reintegracja/podpis-papierowy"))
    crafted = other_client.post(
        URL,
        data={"csrf_token": token, **PAPER_ORGANISATION, "signed_on": "2025-01-01", "scan": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert crafted.status_code == 404
    assert other_client.get(f"/panel/skany/{signature_id}").status_code == 404
    assert other_client.get("/panel/skany/999999").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 1
    assert len(stored_scans(scans)) == 1


def test_anonymous_visitors_are_sent_to_the_login_page(app, client, auth, coalition):
    auth.login()
    enter(client, scan=PNG, filename="a.png")
    with app.app_context():
        signature_id = db.session.scalar(select(Signature.id))
    anonymous = app.test_client()
    for url in (URL, f"/panel/skany/{signature_id}"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/panel/logowanie" in response.headers["Location"]


def test_an_online_signature_has_no_scan_to_serve(app, client, auth, coalition):
    sign(client, **VALID_PERSON)
    auth.login()
    with app.app_context():
        signature_id = db.session.scalar(select(Signature.id))
    assert client.get(f"/panel/skany/{signature_id}").status_code == 404


def test_request_limit_follows_the_scan_limit_by_default(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url, "SCAN_MAX_BYTES": 1000})
    assert app.config["MAX_CONTENT_LENGTH"] == 1000 + 1024 * 1024
    app.extensions["koalicja.serving"].close()
