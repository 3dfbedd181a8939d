"""The funder's logo: a coalition setting printed with the funding line on every PDF."""
import base64
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator
from koalicja.printing import letterhead

from ..conftest import SLUG, Auth, csrf_token_from
from .test_roles import PNG

ADMIN_EMAIL, PASSWORD = "szefowa@example.org", "bardzo-tajne-haslo-admina"
SETTINGS = f"/panel/admin/koalicje/{SLUG}/ustawienia"


@pytest.fixture
def admin_client(app, client, coalition):
    with app.app_context():
        create_coordinator(ADMIN_EMAIL, "Administratorka", PASSWORD).is_admin = True
        db.session.commit()
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    return client


def _save(client, funder_logo):
    data = {
        "csrf_token": csrf_token_from(client.get(SETTINGS)), "name": "Koalicja na rzecz sąsiedztw", "organiser": "Fundacja",
        "contact_email": "a@example.org", "brand_colour": "#1d5c4d", "funding_notice": "Finansowane przez Unię Europejską",
        "funder_logo": (io.BytesIO(funder_logo), "unia.png"),
    }
    return client.post(SETTINGS, data=data, content_type="multipart/form-data")


def test_the_funders_logo_is_kept_and_goes_on_the_printouts(app, admin_client):
    assert _save(admin_client, PNG).status_code == 303
    with app.test_request_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
        assert (Path(app.config["LOGO_FOLDER"]) / coalition.funder_logo).read_bytes() == PNG
        printed = letterhead(coalition)
    assert printed["funding_notice"] == "Finansowane przez Unię Europejską"
    assert printed["funder_logo"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert "Logo instytucji finansującej jest zapisane" in admin_client.get(SETTINGS).get_data(as_text=True)


def test_a_funders_logo_that_is_not_an_image_is_refused_beside_its_field(app, admin_client):
    response = _save(admin_client, b"MZ\x90\x00" + b"\x00" * 100)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    field = page[page.index('id="funder_logo"') - 600 : page.index('id="funder_logo"') + 600]
    assert "To nie jest obraz PNG, JPEG ani WebP" in field
    with app.app_context():
        assert db.session.scalar(select(Coalition.funder_logo).where(Coalition.slug == SLUG)) == ""
