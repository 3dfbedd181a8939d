"""Organisation identifiers (KRS, NIP, REGON): checked with python-stdnum, stored as digits, and
the same organisation signing twice flagged to coordinators."""
import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.extensions import db
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import sign_declaration, withdraw_signature

from ..conftest import VALID_ORGANISATION, VALID_PERSON, current_declaration, sign
from ..test_queries import statements_for

NIP = "5261040828"


def stored(app):
    with app.app_context():
        return db.session.scalars(select(Signature).order_by(Signature.id)).all()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nip", "526-104-08", "NIP ma 10 cyfr"),
        ("nip", "NIP: 526l040828", "NIP ma 10 cyfr"),
        ("nip", "526-104-08-29", "Suma kontrolna się nie zgadza — sprawdź, czy nie ma literówki."),
        ("regon", "12345", "REGON ma 9 albo 14 cyfr"),
        ("regon", "123456786", "Suma kontrolna się nie zgadza"),
        ("regon", "12345678512348", "Suma kontrolna się nie zgadza"),
        ("krs", "12345678901", "Numer KRS ma 10 cyfr"),
        ("krs", "KRS abc", "Numer KRS ma 10 cyfr"),
        ("krs", "0000000000", "Numer KRS ma 10 cyfr"),
    ],
)
def test_invalid_identifier_is_explained_next_to_its_field_and_nothing_is_stored(app, client, coalition, field, value, message):
    response = sign(client, **VALID_ORGANISATION, **{field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and message in page
    assert f'value="{value}"' in page  # the typed value stays for correcting
    assert stored(app) == []


def test_identifiers_are_normalised_to_digits(app, client, coalition):
    response = sign(
        client, **VALID_ORGANISATION, nip="PL 526-104-08-28", regon="123-456-785", krs="KRS 123456"
    )
    assert response.status_code == 303
    [signature] = stored(app)
    assert (signature.nip, signature.regon, signature.krs) == (NIP, "123456785", "0000123456")


def test_fourteen_digit_regon_of_a_local_unit_is_accepted(app, client, coalition):
    assert sign(client, **VALID_ORGANISATION, regon="12345678512347").status_code == 303
    assert stored(app)[0].regon == "12345678512347"


def test_a_person_never_stores_identifiers_even_invalid_ones(app, client, coalition):
    """The organisation questions are hidden for a person: what a browser filled in there is ignored."""
    response = sign(client, **VALID_PERSON, nip="123", krs="0000123456")
    assert response.status_code == 303
    [signature] = stored(app)
    assert (signature.nip, signature.krs, signature.regon) == ("", "", "")


def test_the_form_explains_where_to_find_the_numbers(client, coalition):
    page = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    assert "NIP (nieobowiązkowo)" in page and "wyszukiwarkaregon.stat.gov.pl" in page and "ekrs.ms.gov.pl" in page
    assert 'aria-describedby="nip-hint"' in page


@pytest.mark.parametrize(("value", "shown"), [("526-104-08-29", "Suma kontrolna się nie zgadza"), ("PL5261040828", NIP)])
def test_inline_validation_checks_the_identifier_as_it_is_typed(client, coalition, value, shown):
    response = client.post("/sasiedztwa/podpisz/pole/nip", data={**VALID_ORGANISATION, "nip": value})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.strip().startswith('<div class="field') and shown in fragment


# ---- the same organisation twice -------------------------------------------------------------


def _organisation(email, name, status=SignatureStatus.CONFIRMED, declaration=None, **identifiers):
    data = {**VALID_ORGANISATION, "email": email, "organisation_name": name, "nip": "", "krs": "", "regon": "", **identifiers}
    signature = sign_declaration(declaration or current_declaration(), data).signature
    signature.status = status
    db.session.commit()
    return signature


def test_queue_flags_an_organisation_whose_nip_or_krs_has_signed_already(app, client, auth, coalition):
    with app.app_context():
        _organisation("pierwsza@example.org", "Stowarzyszenie Sąsiedzi", status=SignatureStatus.APPROVED, nip=NIP)
        _organisation("druga@example.org", "Stow. Sąsiedzi z Zabłocia", nip=NIP)
        _organisation("krs1@example.org", "Fundacja Razem", krs="0000123456")
        _organisation("krs2@example.org", "Fundacja Razem (oddział)", krs="0000123456", regon="123456785")
        _organisation("inna@example.org", "Zupełnie Inna Grupa", nip="7740001454")
        withdrawn = _organisation("wycofana@example.org", "Wycofana Fundacja", nip="7740001454")
        withdraw_signature(withdrawn)
        # Another coalition's entry with the same NIP is not this coordinator's business.
        other = Coalition(slug="reintegracja", name="Reintegracja")
        other_declaration = Declaration(coalition=other, title="Deklaracja", body="Tekst")
        db.session.add_all([other, other_declaration])
        db.session.commit()
        _organisation("obca@example.org", "Obca Organizacja", declaration=other_declaration, nip=NIP)
    auth.login()
    page = client.get("/panel/podpisy").get_data(as_text=True)
    assert (
        "Ta sama organizacja (NIP 5261040828) podpisała już wcześniej: Stowarzyszenie Sąsiedzi, zatwierdzony." in page
    )
    assert "Ta sama organizacja (KRS 0000123456) podpisała już wcześniej: Fundacja Razem, czeka na decyzję." in page
    assert "Ta sama organizacja (KRS 0000123456) podpisała też później: Fundacja Razem (oddział), czeka na decyzję." in page
    assert "KRS 0000123456 · REGON 123456785" in page  # the identifiers are shown in the row
    assert "Zupełnie Inna Grupa" in page and "7740001454" in page
    assert page.count('class="flag"') == 3  # a withdrawn entry and another coalition's are not flagged
    assert "Obca Organizacja" not in page
    approved = client.get("/panel/podpisy?stan=approved").get_data(as_text=True)
    assert "podpisała też później: Stow. Sąsiedzi z Zabłocia, czeka na decyzję." in approved


def test_a_decision_answers_with_the_row_still_flagged(app, client, auth, coalition):
    with app.app_context():
        _organisation("pierwsza@example.org", "Stowarzyszenie Sąsiedzi", nip=NIP)
        second = _organisation("druga@example.org", "Stowarzyszenie bis", nip=NIP).id
    auth.login()
    row = client.post(
        f"/panel/podpisy/{second}/decyzja", data={"decision": "approve"}, headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()}
    ).get_data(as_text=True)
    assert row.startswith("<tr") and "podpisała już wcześniej: Stowarzyszenie Sąsiedzi, czeka na decyzję." in row


def test_the_flags_take_the_same_statements_for_10_and_300_organisations(app, client, auth, coalition):
    auth.login()

    def add(first, count):
        with app.app_context():
            for number in range(first, first + count):
                _organisation(f"org{number}@example.org", f"Organizacja {number}", krs=f"{number // 2 + 1:010d}")

    add(0, 10)
    few = statements_for(app, client, "/panel/podpisy")
    add(10, 290)
    many = statements_for(app, client, "/panel/podpisy")
    assert "podpisała już wcześniej" in client.get("/panel/podpisy").get_data(as_text=True)
    assert many == few
