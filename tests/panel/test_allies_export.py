"""Coordinators download their coalition's approved allies as CSV, XLSX or JSON; each download is audited."""
import csv
import io
import json
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from koalicja.coordinators.audit import AuditEntry
from koalicja.extensions import db
from koalicja.signatures.models import Signature
from koalicja.timeutil import utc_to_warsaw

from ..conftest import VALID_ORGANISATION, Auth
from ..declarations.test_allies import add_ally
from .test_roles import ADMIN_EMAIL, OTHER_EMAIL, PASSWORD, admin, other_coordinator  # noqa: F401 (fixtures)

CSV_URL = "/panel/koalicje/sasiedztwa/sojusznicy.csv"
XLSX_URL = "/panel/koalicje/sasiedztwa/sojusznicy.xlsx"
JSON_URL = "/panel/koalicje/sasiedztwa/sojusznicy.json"


@pytest.fixture
def allies(app, coalition, coordinator):
    with app.app_context():
        person = add_ally(coordinator, full_name="Zofia Łukasik", email="zofia@example.org")
        person.contact_allowed = True
        organisation = add_ally(coordinator, **{**VALID_ORGANISATION, "city": "Kraków", "district": "VI Bronowice"})
        organisation.krs, organisation.nip, organisation.regon = "0000123456", "5260250274", "012100784"
        add_ally(coordinator, full_name="=HYPERLINK(\"http://zly.example\";\"kliknij\")", email="formula@example.org")
        add_ally(coordinator, full_name="Ukryta Osoba", email="hidden@example.org", public_name=False)
        add_ally(coordinator, full_name="Odrzucony Spamer", email="spam@example.org", status="rejected")
        add_ally(coordinator, full_name="Czeka Na Decyzję", email="wait@example.org", status="confirmed")
        db.session.commit()
        return {s.full_name: s.id for s in db.session.scalars(select(Signature))}


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


def test_csv_holds_every_approved_ally_with_bom_and_neutralised_formulas(app, client, auth, allies):
    auth.login()
    response = client.get(CSV_URL)
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="sojusznicy-sasiedztwa.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith("\ufeff".encode("utf-8"))  # Excel reads the Polish letters right
    header, *rows = csv_rows(response)
    assert header[:3] == ["Nr wpisu", "Rodzaj", "Imię i nazwisko"]
    assert {"E-mail", "Miejscowość", "Dzielnica", "KRS", "NIP", "REGON", "Forma podpisu", "Podpisana wersja",
            "Zgoda na wiadomości od koalicji"} <= set(header)
    by_name = {row[header.index("Imię i nazwisko")]: dict(zip(header, row, strict=True)) for row in rows}
    # The coordinators' own data: those not shown publicly too; never rejected or waiting entries.
    assert set(by_name) == {"Zofia Łukasik", "Anna Wiśniewska", "Ukryta Osoba", "'=HYPERLINK(\"http://zly.example\";\"kliknij\")"}
    organisation = by_name["Anna Wiśniewska"]
    assert organisation["Organizacja"] == "Stowarzyszenie Sąsiedzi z Zabłocia"
    assert organisation["Rodzaj"] == "organizacja" and organisation["Rodzaj organizacji"] == "Organizacja pozarządowa"
    assert (organisation["KRS"], organisation["NIP"], organisation["REGON"]) == ("0000123456", "5260250274", "012100784")
    assert (organisation["Miejscowość"], organisation["Dzielnica"]) == ("Kraków", "VI Bronowice")
    assert organisation["Forma podpisu"] == "online" and organisation["Podpisana wersja"] == "1"
    zofia = by_name["Zofia Łukasik"]
    assert zofia["E-mail"] == "zofia@example.org"
    assert zofia["Zgoda na wiadomości od koalicji"] == "tak"
    assert zofia["Na publicznej liście"] == "tak"
    assert by_name["Ukryta Osoba"]["Na publicznej liście"] == "nie"
    assert by_name["Ukryta Osoba"]["Zgoda na pokazanie imienia i nazwiska"] == "nie"
    with app.app_context():
        approved_at = db.session.get(Signature, allies["Zofia Łukasik"]).approved_at
    # Polish time with its offset, e.g. "2026-07-14 18:02:00+02:00".
    shown = zofia["Zatwierdzono (czas polski)"]
    assert datetime.strptime(shown, "%Y-%m-%d %H:%M:%S%z") == utc_to_warsaw(approved_at).replace(microsecond=0)
    assert shown[-6:] in ("+01:00", "+02:00")


def test_xlsx_has_typed_cells_identifiers_as_text_and_times_in_polish_time(app, client, auth, allies):
    auth.login()
    response = client.get(XLSX_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == 'attachment; filename="sojusznicy-sasiedztwa.xlsx"'
    assert response.headers["Cache-Control"] == "no-store"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header, *rows = sheet.iter_rows()
    labels = [cell.value for cell in header]
    assert labels == csv_rows(client.get(CSV_URL))[0]  # the same columns as the CSV
    by_name = {row[labels.index("Imię i nazwisko")].value: dict(zip(labels, row, strict=True)) for row in rows}
    assert set(by_name) == {"Zofia Łukasik", "Anna Wiśniewska", "Ukryta Osoba", '=HYPERLINK("http://zly.example";"kliknij")'}
    organisation = by_name["Anna Wiśniewska"]
    for label, digits in (("KRS", "0000123456"), ("NIP", "5260250274"), ("REGON", "012100784")):
        assert organisation[label].value == digits and organisation[label].data_type == "s"  # the zeros stay
    assert organisation["Nr wpisu"].value == allies["Anna Wiśniewska"] and organisation["Podpisana wersja"].value == 1
    # A formula typed into the form is a string cell, never a formula Excel would run.
    formula = by_name['=HYPERLINK("http://zly.example";"kliknij")']["Imię i nazwisko"]
    assert formula.data_type == "s"
    zofia = by_name["Zofia Łukasik"]
    with app.app_context():
        approved_at = db.session.get(Signature, allies["Zofia Łukasik"]).approved_at
    cell = zofia["Zatwierdzono (czas polski)"]
    assert cell.is_date and "yyyy-mm-dd hh:mm" in cell.number_format
    assert cell.value == utc_to_warsaw(approved_at).replace(tzinfo=None, microsecond=0)
    assert (zofia["E-mail"].value, zofia["Zgoda na wiadomości od koalicji"].value) == ("zofia@example.org", "tak")
    assert zofia["KRS"].value is None  # nothing where a person has no identifier


def test_json_lists_the_same_allies_with_codes_and_warsaw_times(app, client, auth, allies):
    auth.login()
    response = client.get(JSON_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="sojusznicy-sasiedztwa.json"'
    assert response.headers["Cache-Control"] == "no-store"
    assert "Zofia Łukasik".encode("utf-8") in response.data  # not \u escapes
    records = json.loads(response.data.decode("utf-8"))
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    assert len(records) == 4
    zofia = next(r for r in records if r["name"] == "Zofia Łukasik")
    assert set(zofia) == {
        "id", "kind", "name", "organisation", "role", "sector", "email", "city", "district", "krs", "nip", "regon",
        "origin", "version", "approved_at", "public_name", "public_organisation", "listed", "contact_allowed",
    }
    assert (zofia["kind"], zofia["origin"], zofia["version"], zofia["contact_allowed"]) == ("person", "online", 1, True)
    assert zofia["district"] == "XIII Podgórze"
    with app.app_context():
        approved_at = db.session.get(Signature, allies["Zofia Łukasik"]).approved_at
    assert datetime.fromisoformat(zofia["approved_at"]) == utc_to_warsaw(approved_at).replace(microsecond=0)
    assert zofia["approved_at"][-6:] in ("+01:00", "+02:00")
    # JSON is not a spreadsheet: the text stays exactly as typed.
    assert any(r["name"].startswith("=HYPERLINK") for r in records)


def test_each_download_is_recorded_in_the_audit_log(app, client, auth, allies, coordinator):
    auth.login()
    client.get(CSV_URL)
    client.get(XLSX_URL)
    client.get(JSON_URL)
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)).all()
        assert [e.details for e in entries] == [
            {"format": "csv", "count": 4}, {"format": "xlsx", "count": 4}, {"format": "json", "count": 4},
        ]
        assert {e.coordinator_id for e in entries} == {coordinator}
        assert {e.coalition.slug for e in entries} == {"sasiedztwa"}


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL, JSON_URL])
def test_a_coordinator_of_another_coalition_gets_404_and_nothing_is_logged(app, client, allies, other_coordinator, url):  # noqa: F811 (fixture)
    Auth(client).login(OTHER_EMAIL, PASSWORD)
    response = client.get(url)
    assert response.status_code == 404
    assert "Zofia" not in response.get_data(as_text=True)
    assert client.get("/panel/koalicje/reintegracja/sojusznicy.csv").status_code == 200  # their own works
    with app.app_context():
        exports = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert [e.coalition.slug for e in exports] == ["reintegracja"]


def test_an_administrator_may_export_any_coalition(client, allies, admin):  # noqa: F811
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    assert client.get(CSV_URL).status_code == 200


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL, JSON_URL, "/panel/koalicje/sasiedztwa/sojusznicy.ods"])
def test_export_needs_login_and_a_known_format(client, allies, url):
    response = client.get(url)
    assert response.status_code in (302, 303, 404)
    assert b"Zofia" not in response.data


def test_coalition_page_links_to_the_exports_and_the_printable_declaration(client, auth, coalition):
    auth.login()
    page = client.get("/panel/koalicje/sasiedztwa/").get_data(as_text=True)
    for href in (CSV_URL, XLSX_URL, JSON_URL, "/sasiedztwa/deklaracja/druk"):
        assert f'href="{href}"' in page
