"""The printable declaration: its text, then a "PARTNER / PODPIS" table of the listed signatories."""
import re

import pytest
from sqlalchemy import select, update

from koalicja.coalitions.models import Coalition, VersionKind
from koalicja.coordinators.models import Coordinator
from koalicja.declarations.operations import publish_version, start_draft
from koalicja.extensions import db
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import withdraw_signature

from ..conftest import VALID_ORGANISATION, current_declaration
from ..test_queries import add_signatures, statements_for
from .test_allies import add_ally

pytestmark = pytest.mark.one_engine

URL = "/sasiedztwa/deklaracja/druk"


def partners_on(page):
    """The PARTNER column, row by row (blank rows for signing on paper give "")."""
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return [re.sub(r"<br>.*", "", cells[1]).strip() for cells in (re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S))]


@pytest.fixture
def signatories(app, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, full_name="Zofia Łukasik", email="z@example.org")
        add_ally(coordinator, **{**VALID_ORGANISATION, "public_name": "y"})
        add_ally(coordinator, full_name="Ukryta Osoba", email="hidden@example.org", public_name=False)
        add_ally(coordinator, full_name="Odrzucony Spamer", email="spam@example.org", status="rejected")
        add_ally(coordinator, full_name="Czeka Na Decyzję", email="wait@example.org", status="confirmed")
        withdrawn = add_ally(coordinator, full_name="Wycofana Osoba", email="w@example.org")
        withdraw_signature(withdrawn)
        add_ally(coordinator, full_name="Adam Nowak", email="a@example.org")


def test_print_page_has_the_text_and_the_partner_table(client, signatories):
    response = client.get(URL)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Koalicja na rzecz sąsiedztw" in page
    assert "<h1" in page and "Deklaracja współpracy" in page
    assert "<strong>współpracę</strong>" in page and "<script>alert" not in page  # Markdown, safely
    headers = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', page)
    assert headers == ["Lp.", "PARTNER", "Data przystąpienia", "PODPIS"]
    # Listed signatories in the order they joined, then five empty rows to sign on paper.
    assert partners_on(page) == ["Zofia Łukasik", "Stowarzyszenie Sąsiedzi z Zabłocia", "Adam Nowak", "", "", "", "", ""]
    assert "reprezentuje: Anna Wiśniewska" in page
    numbers = re.findall(r"<tr[^>]*>\s*<td>(\d+)\.</td>", page)
    assert numbers == [str(n) for n in range(1, 9)]
    assert "Ctrl+P" in page


def test_unlisted_withdrawn_rejected_and_waiting_entries_are_not_printed(client, signatories):
    page = client.get(URL).get_data(as_text=True)
    for absent in ("Ukryta Osoba", "Odrzucony Spamer", "Czeka Na Decyzję", "Wycofana Osoba", "@"):
        assert absent not in page.split('class="printable"')[1].split("</article>")[0]
    assert "podpisała też 1 osoba lub organizacja, która nie chce być wymieniana z nazwy" in page


def test_each_version_prints_its_own_signatories(app, client, signatories, coordinator):
    with app.app_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == "sasiedztwa"))
        account = db.session.get(Coordinator, coordinator)
        version = start_draft(coalition, VersionKind.TEXT, "Deklaracja współpracy 2.0", "Nowy **tekst**.", account)
        publish_version(version, account)
        add_ally(coordinator, full_name="Nowa Sojuszniczka", email="nowa@example.org")
    current = client.get(URL).get_data(as_text=True)
    assert "Deklaracja współpracy 2.0" in current and "<strong>tekst</strong>" in current
    assert partners_on(current)[:2] == ["Nowa Sojuszniczka", ""]
    first = client.get(f"{URL}?wersja=1").get_data(as_text=True)
    assert "Wersja 1" in first and "Nowa Sojuszniczka" not in first
    assert partners_on(first)[:3] == ["Zofia Łukasik", "Stowarzyszenie Sąsiedzi z Zabłocia", "Adam Nowak"]


@pytest.mark.parametrize("number", ["2", "0", "abc", "-1", "²", "1" * 30, ""])
def test_unknown_or_malformed_versions_are_not_found(client, coalition, number):
    response = client.get(URL, query_string={"wersja": number})
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_draft_versions_are_not_printable(app, client, coalition, coordinator):
    with app.app_context():
        coalition_row = db.session.scalar(select(Coalition).where(Coalition.slug == "sasiedztwa"))
        start_draft(coalition_row, VersionKind.TEXT, "Szkic", "Jeszcze nie", db.session.get(Coordinator, coordinator))
    assert client.get(f"{URL}?wersja=2").status_code == 404
    assert "Szkic" not in client.get(URL).get_data(as_text=True)


def test_print_page_of_an_unknown_coalition_is_not_found(client, coalition):
    assert client.get("/nie-ma-takiej/deklaracja/druk").status_code == 404


def test_home_page_links_to_the_printable_declaration(client, coalition):
    assert f'href="{URL}"' in client.get("/sasiedztwa/").get_data(as_text=True)


def test_print_page_statements_do_not_grow_with_signatories(app, client, coalition):
    def sign_all_under_version_1():
        db.session.execute(update(Signature).values(version_id=current_declaration().current_version.id))
        db.session.commit()

    with app.app_context():
        add_signatures(10, SignatureStatus.APPROVED)
        sign_all_under_version_1()
    few = statements_for(app, client, URL)
    with app.app_context():
        add_signatures(490, SignatureStatus.APPROVED)
        sign_all_under_version_1()
    assert statements_for(app, client, URL) == few
    assert "Osoba Numer" in client.get(URL).get_data(as_text=True)
