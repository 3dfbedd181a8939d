"""Organisation profiles through HTTP: the link, the logo checks, moderation, and the end with the entry."""
import io
import re

import pytest
from PIL import ExifTags, Image, ImageFile
from sqlalchemy import select

from koalicja.coordinators.audit import AuditEntry
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.profiles.models import OrganisationProfile

from ..conftest import VALID_ORGANISATION, VALID_PERSON, csrf_token_from
from ..declarations.test_allies import add_ally

ORGANISATION_EMAIL = VALID_ORGANISATION["email"]


@pytest.fixture
def app_config():
    # Small limits, so that the oversized file and the decompression bomb stay small too.
    return {"PROFILE_LOGO_MAX_BYTES": 300_000, "PROFILE_LOGO_MAX_PIXELS": 4_000_000}


@pytest.fixture
def organisation(app, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, **VALID_ORGANISATION)
        add_ally(coordinator, **VALID_PERSON)


def image_bytes(fmt="PNG", size=(64, 64), mode="RGBA", colour=(200, 30, 30, 255), **options):
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg_with_gps():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Aparat Testowy"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (50.0, 3.0, 41.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (19.0, 56.0, 18.0)
    return image_bytes("JPEG", mode="RGB", colour=(10, 90, 160), exif=exif)


def mailed_profile_links(app):
    with app.app_context():
        bodies = db.session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.template == "profile_link_to_signer"))
        return [re.search(r"http://koalicja\.test(/profil-organizacji/\S+)", body).group(1) for body in bodies]


def request_link(client, email):
    page = client.get("/profil-organizacji")
    return client.post("/profil-organizacji", data={"csrf_token": csrf_token_from(page), "email": email})


def profile_link(app, client):
    assert request_link(client, ORGANISATION_EMAIL).status_code == 303
    return mailed_profile_links(app)[-1]


def send_profile(client, link, logo=None, filename="logo.png", **fields):
    token = csrf_token_from(client.get(link))
    data = {"csrf_token": token, "website_url": "", "description": "", **fields}
    if logo is not None:
        data["logo"] = (io.BytesIO(logo), filename)
    return client.post(link, data=data, content_type="multipart/form-data")


def decide(client, auth, profile_id, decision):
    return client.post(
        f"/panel/koalicje/sasiedztwa/profile-organizacji/{profile_id}/{decision}", data={"csrf_token": auth.csrf()},
        follow_redirects=True,
    )


def profiles(app):
    with app.app_context():
        rows = db.session.scalars(select(OrganisationProfile).order_by(OrganisationProfile.id))
        return [(row.id, row.status, row.logo_file) for row in rows]


def test_the_link_goes_only_to_an_approved_organisation_and_the_answer_never_tells(app, client, organisation):
    answers = [request_link(client, email) for email in (ORGANISATION_EMAIL, VALID_PERSON["email"], "nikt@example.org")]
    assert {answer.status_code for answer in answers} == {303}
    assert {answer.headers["Location"] for answer in answers} == {"/nowy-link/wyslany"}
    assert len(mailed_profile_links(app)) == 1  # the private person and the unknown address get nothing
    with app.app_context():  # the welcome e-mail of an organisation offers the profile at once
        welcomes = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "signature_approved_to_signer").order_by(OutboxMessage.id)
        ).all()
    assert [("/profil-organizacji/" in mail.body_text, mail.recipient) for mail in welcomes] == [
        (True, ORGANISATION_EMAIL), (False, VALID_PERSON["email"])
    ]
    welcome_link = re.search(r"http://koalicja\.test(/profil-organizacji/\S+)", welcomes[0].body_text).group(1)
    assert "Profil organizacji: Stowarzyszenie Sąsiedzi z Zabłocia" in client.get(welcome_link).get_data(as_text=True)
    assert client.get("/profil-organizacji/zepsuty").status_code == 400


def test_a_profile_shows_on_the_list_only_once_a_coordinator_approves_it(app, client, organisation, auth):
    link = profile_link(app, client)
    sent = send_profile(client, link, logo=image_bytes(), website_url="zablocie.example.org",
                        description="Sąsiedzi z Zabłocia.\nSprzątamy, sadzimy, gotujemy.")
    assert sent.status_code == 303
    assert "czeka na zatwierdzenie" in client.get(link).get_data(as_text=True)
    assert "ally--card" not in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)

    auth.login()
    review = client.get("/panel/koalicje/sasiedztwa/profile-organizacji").get_data(as_text=True)
    assert "Stowarzyszenie Sąsiedzi z Zabłocia" in review and "https://zablocie.example.org" in review
    [(profile_id, _status, _file)] = profiles(app)
    assert "Zatwierdzono profil" in decide(client, auth, profile_id, "zatwierdz").get_data(as_text=True)

    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert 'class="ally ally--card"' in page
    assert '<a href="https://zablocie.example.org" rel="nofollow ugc noopener">' in page
    assert "Sprzątamy, sadzimy, gotujemy." in page
    logo_url = re.search(r'<img class="ally__logo" src="([^"]+)"', page).group(1)
    logo = client.get(logo_url)
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    assert logo.headers["Content-Security-Policy"] == "default-src 'none'"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(logo.data)).size == (64, 64)

    # The second press of "Zatwierdź" (another coordinator, a second tab) changes nothing.
    again = decide(client, auth, profile_id, "zatwierdz").get_data(as_text=True)
    assert "Ta zmiana profilu została już zatwierdzona." in again
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "organisation_profile")).all()
    assert actions == ["approve"]


def test_a_rejected_change_never_shows_and_its_logo_is_deleted(app, client, organisation, auth, tmp_path):
    link = profile_link(app, client)
    send_profile(client, link, logo=image_bytes(), description="Pierwsza wersja")
    auth.login()
    [(first, _status, first_file)] = profiles(app)
    decide(client, auth, first, "zatwierdz")
    # A new version without a new logo keeps the approved one; rejected, the shown profile stays.
    send_profile(client, link, description="Druga wersja")
    second = profiles(app)[-1][0]
    assert "Odrzucono zmianę profilu" in decide(client, auth, second, "odrzuc").get_data(as_text=True)
    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert "Pierwsza wersja" in page and "Druga wersja" not in page
    assert (tmp_path / "logos" / first_file).is_file()  # still the shown logo
    assert "została już odrzucona" in decide(client, auth, second, "zatwierdz").get_data(as_text=True)
    # A third version with its own logo, rejected: that logo is deleted, the shown one stays.
    send_profile(client, link, logo=image_bytes(colour=(0, 0, 0, 0)), description="Trzecia")
    third, _status, third_file = profiles(app)[-1]
    decide(client, auth, third, "odrzuc")
    assert not (tmp_path / "logos" / third_file).exists()
    assert sorted(path.name for path in (tmp_path / "logos").iterdir()) == [first_file]


SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


POLYGLOT = "zawiera oprócz obrazu inne dane"
REFUSED_LOGOS = {
    "HTML after a PNG": (image_bytes() + b"<html><script>alert(1)</script></html>", "logo.png", POLYGLOT),
    "ZIP after a PNG": (image_bytes(mode="RGB", colour=(1, 2, 3)) + b"PK\x03\x04" + b"\0" * 40, "logo.png", POLYGLOT),
    "SVG with a script": (SVG_WITH_SCRIPT, "logo.svg", "Logo musi być obrazem PNG, JPEG lub WebP"),
    "SVG named .png": (SVG_WITH_SCRIPT, "logo.png", "Logo musi być obrazem PNG, JPEG lub WebP"),
    "oversized": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 1300, "logo.png",
                  "Plik ma 0,3 MB, a logo może mieć najwyżej 0,3 MB"),
    "decompression bomb": (image_bytes(size=(3000, 3000), mode="L", colour=0), "bomba.png", "Obraz ma 3000 × 3000 pikseli"),
    "cut short": (image_bytes()[:60], "ucięte.png", "Nie udało się odczytać tego obrazu"),
    "JPEG cut short": (image_bytes("JPEG", mode="RGB", colour=(9, 9, 9))[:-200], "ucięte.jpg", "Nie udało się odczytać tego obrazu"),
}


@pytest.mark.parametrize("weasyprint_loaded", [False, True], ids=["alone", "after-weasyprint"])
def test_an_unsafe_or_broken_logo_is_refused_with_a_polish_error_next_to_the_field(
    app, client, organisation, monkeypatch, weasyprint_loaded
):
    # WeasyPrint, once imported for a printout, lets Pillow decode cut-short files for the whole process.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", weasyprint_loaded)
    link = profile_link(app, client)
    for case, (logo, filename, error) in REFUSED_LOGOS.items():
        response = send_profile(client, link, logo=logo, filename=filename, website_url="https://example.org")
        page = response.get_data(as_text=True)
        assert response.status_code == 422, case
        assert error in page, case
        assert 'id="logo-error"' in page and 'value="https://example.org"' in page, case  # the answers stay
    assert profiles(app) == []


def test_a_jpeg_with_a_gps_position_comes_out_without_it(app, client, organisation, auth, tmp_path):
    upload = jpeg_with_gps()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo has one
    link = profile_link(app, client)
    assert send_profile(client, link, logo=upload, filename="zdjecie.jpg").status_code == 303
    [(profile_id, _status, stored)] = profiles(app)
    auth.login()
    preview = client.get(f"/panel/koalicje/sasiedztwa/profile-organizacji/{profile_id}/logo")
    assert preview.mimetype == "image/jpeg"
    kept = Image.open(io.BytesIO(preview.data))
    assert not kept.getexif() and b"Aparat Testowy" not in preview.data and b"Exif" not in preview.data
    assert (tmp_path / "logos" / stored).read_bytes() == preview.data
    assert (tmp_path / "logos" / stored).stat().st_mode & 0o777 == 0o600


def test_the_profile_and_its_logo_go_with_the_withdrawal(app, client, organisation, auth, tmp_path):
    link = profile_link(app, client)
    send_profile(client, link, logo=image_bytes(), website_url="https://zablocie.example.org")
    send_profile(client, link, logo=image_bytes(colour=(9, 9, 9, 255)))  # and a newer version still waiting
    auth.login()
    approved = profiles(app)[-1][0]
    decide(client, auth, approved, "zatwierdz")
    allies = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    logo_url = re.search(r'<img class="ally__logo" src="([^"]+)"', allies).group(1)
    send_profile(client, link, logo=image_bytes(colour=(1, 1, 1, 255)))
    assert len(list((tmp_path / "logos").iterdir())) == 2

    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body_text).where(OutboxMessage.template == "profile_link_to_signer")
        ).first()
    withdraw = re.search(r"http://koalicja\.test(/wycofaj/\S+)", body).group(1)
    client.post(withdraw, data={"csrf_token": csrf_token_from(client.get(withdraw))})

    assert profiles(app) == []
    assert list((tmp_path / "logos").iterdir()) == []
    assert client.get(logo_url).status_code == 404
    assert client.get(link).status_code == 400  # the link ends with the entry


def test_the_logo_is_served_only_while_the_profile_and_its_entry_are_public_in_this_coalition(app, client, organisation, auth):
    from koalicja.coalitions.models import Coalition, Declaration
    from koalicja.profiles.models import ProfileStatus
    from koalicja.signatures.models import Signature, SignatureStatus

    send_profile(client, profile_link(app, client), logo=image_bytes())
    auth.login()
    [(profile_id, _status, _file)] = profiles(app)
    decide(client, auth, profile_id, "zatwierdz")
    url = f"/sasiedztwa/sojusznicy/profil-{profile_id}/logo"
    assert client.get(url).status_code == 200
    with app.app_context():
        other = Coalition(slug="reintegracja", name="Reintegracja", organiser="Fundacja")
        db.session.add_all([other, Declaration(coalition=other, title="Porozumienie", body="Tekst.")])
        db.session.commit()
    assert client.get(f"/reintegracja/sojusznicy/profil-{profile_id}/logo").status_code == 404
    assert client.get(f"/sasiedztwa/sojusznicy/profil-{profile_id + 1}/logo").status_code == 404

    def hidden_when(model, **values):
        with app.app_context():
            row = db.session.get(OrganisationProfile, profile_id)
            target = row if model is OrganisationProfile else db.session.get(Signature, row.signature_id)
            before = {name: getattr(target, name) for name in values}
            for name, value in values.items():
                setattr(target, name, value)
            db.session.commit()
        status = client.get(url).status_code
        with app.app_context():
            row = db.session.get(OrganisationProfile, profile_id)
            target = row if model is OrganisationProfile else db.session.get(Signature, row.signature_id)
            for name, value in before.items():
                setattr(target, name, value)
            db.session.commit()
        return status == 404

    assert hidden_when(OrganisationProfile, status=ProfileStatus.PENDING)
    assert hidden_when(Signature, status=SignatureStatus.REJECTED)
    assert hidden_when(Signature, listed=False)
    assert hidden_when(Signature, public_organisation=False)
    assert client.get(url).status_code == 200
