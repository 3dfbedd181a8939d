"""The public list shows exactly the approved allies who agreed to be listed, never an e-mail."""
import re

import pytest
from sqlalchemy import select

from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import decide_signature, sign_declaration

from ..conftest import VALID_ORGANISATION, VALID_PERSON, current_declaration


def add_ally(coordinator_id, status="approved", **changes):
    """Sign, confirm and decide through the domain functions; must run in an app context."""
    signature = sign_declaration(current_declaration(), {**VALID_PERSON, **changes}).signature
    signature.status = SignatureStatus.CONFIRMED
    db.session.commit()
    if status in ("approved", "rejected"):
        decide_signature(signature, "approve" if status == "approved" else "reject", db.session.get(Coordinator, coordinator_id))
    return signature


def names_on(page):
    return re.findall(r'<span class="ally__name">([^<]*)</span>', page)


@pytest.fixture
def allies(app, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, full_name="Łucja Żak", email="l@example.org")
        add_ally(coordinator, full_name="Adam Nowak", email="a@example.org")
        add_ally(coordinator, full_name="Ćwiklińska Ewa", email="e@example.org")
        add_ally(coordinator, **{**VALID_ORGANISATION, "public_name": "y"})
        add_ally(coordinator, **{**VALID_ORGANISATION, "email": "urzad@example.org", "organisation_name": "Urząd Dzielnicy", "sector": "local_government", "full_name": "Ukryty Urzędnik", "public_name": False})
        add_ally(coordinator, full_name="Ukryta Osoba", email="hidden@example.org", public_name=False)
        add_ally(coordinator, full_name="Odrzucony Spamer", email="spam@example.org", status="rejected")
        add_ally(coordinator, full_name="Czeka Na Decyzję", email="wait@example.org", status="confirmed")
        add_ally(coordinator, full_name="Nie Potwierdził", email="unconf@example.org", status="unconfirmed")


def test_lists_only_approved_and_consenting_allies_newest_first(client, allies):
    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert names_on(page) == [
        "Urząd Dzielnicy",
        "Stowarzyszenie Sąsiedzi z Zabłocia",
        "Ćwiklińska Ewa",
        "Adam Nowak",
        "Łucja Żak",
    ]
    for hidden in ("Ukryta Osoba", "Odrzucony Spamer", "Czeka Na Decyzję", "Nie Potwierdził", "Ukryty Urzędnik"):
        assert hidden not in page
    assert "@" not in page.split('id="allies-results"')[1].split("</main>")[0]
    assert "Wpisy na liście: 5." in page
    assert "Wszystkich sojuszników jest 6: 1 z nich nie chce być wymienianych z nazwy." in page
    # The representative agreed to be named alongside the organisation.
    assert "reprezentuje: Anna Wiśniewska" in page


def test_alphabetical_order_follows_polish_letters(client, allies):
    page = client.get("/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie").get_data(as_text=True)
    assert names_on(page) == [
        "Adam Nowak",
        "Ćwiklińska Ewa",
        "Łucja Żak",
        "Stowarzyszenie Sąsiedzi z Zabłocia",
        "Urząd Dzielnicy",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=lucja", ["Łucja Żak"]),
        ("q=ŻAK", ["Łucja Żak"]),
        ("q=wisniewska", ["Stowarzyszenie Sąsiedzi z Zabłocia"]),
        ("q=urzednik", []),  # a name the signer chose not to show cannot be searched for
        ("q=100%25", []),
        ("kto=osoby&kolejnosc=alfabetycznie", ["Adam Nowak", "Ćwiklińska Ewa", "Łucja Żak"]),
        ("kto=organizacje&kolejnosc=alfabetycznie", ["Stowarzyszenie Sąsiedzi z Zabłocia", "Urząd Dzielnicy"]),
        ("kto=local_government", ["Urząd Dzielnicy"]),
        ("kto=business", []),
        ("kto=nieznane&kolejnosc=alfabetycznie", ["Adam Nowak", "Ćwiklińska Ewa", "Łucja Żak", "Stowarzyszenie Sąsiedzi z Zabłocia", "Urząd Dzielnicy"]),
    ],
)
def test_search_and_filter(client, allies, query, expected):
    page = client.get(f"/sasiedztwa/sojusznicy?{query}").get_data(as_text=True)
    assert names_on(page) == expected
    if expected:
        assert f"Znalezione wpisy: {len(expected)}." in page or f"Wpisy na liście: {len(expected)}." in page


def test_htmx_search_returns_only_the_results_fragment(client, allies):
    response = client.get("/sasiedztwa/sojusznicy?q=nowak", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and "<form" not in fragment
    assert names_on(fragment) == ["Adam Nowak"]
    assert "HX-Request" in response.headers["Vary"]


def test_rejecting_an_approved_ally_removes_them_from_the_list(app, client, allies, coordinator):
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.full_name == "Adam Nowak"))
        decide_signature(signature, "reject", db.session.get(Coordinator, coordinator))
    page = client.get("/sasiedztwa/sojusznicy?q=adam").get_data(as_text=True)
    assert names_on(page) == []
    assert "Adam Nowak" not in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)


def test_pagination_counts_match_the_data(app, client, coalition, coordinator):
    app.config["ALLIES_PER_PAGE"] = 50
    with app.app_context():
        for number in range(120):
            add_ally(coordinator, full_name=f"Osoba {number:03d}", email=f"o{number}@example.org")
    first = client.get("/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie").get_data(as_text=True)
    third = client.get("/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie&strona=3").get_data(as_text=True)
    beyond = client.get("/sasiedztwa/sojusznicy?kolejnosc=alfabetycznie&strona=99").get_data(as_text=True)
    assert "Wpisy na liście: 120." in first
    assert names_on(first)[0] == "Osoba 000" and len(names_on(first)) == 50
    assert names_on(third) == [f"Osoba {n:03d}" for n in range(100, 120)]
    assert '<ol class="allies" start="101">' in third
    assert names_on(beyond) == names_on(third)  # a page past the end shows the last one
    assert "Strona 3 z 3" in third
    assert 'href="/sasiedztwa/sojusznicy?strona=2&amp;kolejnosc=alfabetycznie"' in third
    assert client.get("/sasiedztwa/sojusznicy?strona=-1").status_code == 200
    assert client.get("/sasiedztwa/sojusznicy?strona=abc").status_code == 200


def test_empty_list_says_so(client, coalition):
    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert "Lista jest jeszcze pusta" in page


def test_home_shows_declaration_count_and_calls_to_action(client, allies):
    page = client.get("/sasiedztwa/").get_data(as_text=True)
    assert "<strong>współpracę</strong>" in page
    assert '<strong class="big-number">6</strong>' in page
    assert 'href="/sasiedztwa/podpisz"' in page
    assert "Podpisz deklarację" in page
    assert 'href="/sasiedztwa/sojusznicy"' in page and 'href="/sasiedztwa/wydarzenia"' in page


def test_declaration_markdown_cannot_inject_html_or_script_links(client, coalition):
    page = client.get("/sasiedztwa/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page


def test_root_goes_to_the_only_coalition(client, coalition):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sasiedztwa/")


@pytest.mark.parametrize(
    ("colour", "served"),
    [("#7A1F5C", "#7a1f5c"), ("#FFEE00", "#1d5c4d"), ("red;}a{", "#1d5c4d")],
)
def test_coalition_colour_comes_from_its_settings_if_readable(app, client, coalition, colour, served):
    from koalicja.coalitions.models import Coalition

    with app.app_context():
        db.session.execute(db.update(Coalition).values(brand_colour=colour, logo="favicon.svg"))
        db.session.commit()
    page = client.get("/sasiedztwa/").get_data(as_text=True)
    assert 'href="/sasiedztwa/kolory.css"' in page
    assert 'class="brand__logo" src="/sasiedztwa/logo"' in page
    css = client.get("/sasiedztwa/kolory.css")
    assert css.mimetype == "text/css"
    assert css.get_data(as_text=True).startswith(f":root {{ --brand: {served};")
