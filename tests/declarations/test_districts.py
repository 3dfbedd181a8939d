"""Where allies are: a Kraków district on the form, a filter and counts on the public list.

A district is shown and counted only for entries on the public list: someone who chose not
to be named cannot be found by their district either.
"""
import re

import pytest
from sqlalchemy import func, insert, select

from koalicja.extensions import db
from koalicja.signatures.districts import DISTRICTS
from koalicja.signatures.models import Signature
from koalicja.text import search_key, sort_key
from koalicja.timeutil import utcnow

from ..conftest import VALID_ORGANISATION, VALID_PERSON, current_declaration, sign
from .test_allies import add_ally, names_on

pytestmark = pytest.mark.one_engine


def saved_signature(app):
    with app.app_context():
        return db.session.scalars(select(Signature)).one()


def test_form_offers_the_18_districts_with_the_privacy_hint(client, coalition):
    page = client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="district".*?</select>', page, re.S).group(0)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", select_html)
    assert options == ["— nie wybrano —", *DISTRICTS]
    assert len(DISTRICTS) == 18
    assert "Dzielnica Krakowa (nieobowiązkowo)" in page
    assert "Jeśli zgodzisz się na pokazanie na liście, będzie można Cię znaleźć po dzielnicy." in page


def test_district_is_saved(app, client, coalition):
    assert sign(client, **VALID_PERSON).status_code == 303
    signature = saved_signature(app)
    assert (signature.city, signature.district) == ("Kraków", "XIII Podgórze")


def test_a_district_without_a_city_means_krakow(app, client, coalition):
    assert sign(client, **{**VALID_PERSON, "city": "", "district": "VI Bronowice"}).status_code == 303
    signature = saved_signature(app)
    assert (signature.city, signature.district) == ("Kraków", "VI Bronowice")


def test_no_district_is_fine_anywhere(app, client, coalition):
    assert sign(client, **{**VALID_PERSON, "city": "Wrocław", "district": ""}).status_code == 303
    signature = saved_signature(app)
    assert (signature.city, signature.district) == ("Wrocław", "")


@pytest.mark.parametrize(
    ("city", "district", "message"),
    [
        ("Kraków", "Podgórze", "Wybierz dzielnicę z listy."),  # free text as the old form took it
        ("Kraków", "<script>", "Wybierz dzielnicę z listy."),
        ("Wrocław", "XIII Podgórze", "Dzielnice są tylko dla Krakowa. Wpisz Kraków jako miejscowość"),
    ],
)
def test_invalid_district_is_refused_in_polish_and_input_kept(app, client, coalition, city, district, message):
    response = sign(client, **{**VALID_PERSON, "city": city, "district": district})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert re.search(r'<p class="error" id="district-error"', page)  # next to the field, not only in the summary
    assert f'value="{city}"' in page and 'value="Zofia Łukasik"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0


def test_city_spelled_without_polish_letters_is_still_krakow(app, client, coalition):
    assert sign(client, **{**VALID_PERSON, "city": " krakow ", "district": "XVIII Nowa Huta"}).status_code == 303
    assert saved_signature(app).district == "XVIII Nowa Huta"


def test_inline_validation_explains_the_district_rule(client, coalition):
    response = client.post(
        "/sasiedztwa/podpisz/pole/district", data={**VALID_PERSON, "city": "Gdańsk", "district": "I Stare Miasto"}
    )
    assert "Dzielnice są tylko dla Krakowa" in response.get_data(as_text=True)


@pytest.fixture
def allies_in_districts(app, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, full_name="Zofia Łukasik", email="z@example.org", district="XIII Podgórze")
        add_ally(coordinator, full_name="Adam Nowak", email="a@example.org", district="XIII Podgórze")
        add_ally(coordinator, **{**VALID_ORGANISATION, "city": "Kraków", "district": "VI Bronowice"})
        add_ally(coordinator, full_name="Ewa Bez Dzielnicy", email="e@example.org", city="Wrocław", district="")
        # Not on the list: their districts are neither shown nor counted.
        add_ally(coordinator, full_name="Ukryta Sąsiadka", email="u@example.org", district="XIII Podgórze", public_name=False)
        add_ally(coordinator, full_name="Ukryta Z Bronowic", email="u2@example.org", district="VI Bronowice", public_name=False)
        add_ally(coordinator, full_name="Odrzucony", email="r@example.org", district="I Stare Miasto", status="rejected")
        add_ally(coordinator, full_name="Czeka", email="c@example.org", district="I Stare Miasto", status="confirmed")


def district_counts_on(page):
    section = page.split('class="district-counts"')[1].split("</section>")[0]
    return {
        name.strip(): int(count)
        for name, count in re.findall(r"<li>\s*(?:<a[^>]*>)?([^<:]+): (?:<strong>)?(\d+)", section)
    }


def test_list_counts_only_listed_allies_per_district(client, allies_in_districts):
    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert "Sojusznicy i sojuszniczki w dzielnicach Krakowa" in page
    counts = district_counts_on(page)
    assert list(counts) == list(DISTRICTS)  # all 18, empty ones too
    assert counts["XIII Podgórze"] == 2
    assert counts["VI Bronowice"] == 1
    assert counts["I Stare Miasto"] == 0
    assert sum(counts.values()) == 3
    assert 'href="/sasiedztwa/sojusznicy?dzielnica=xiii-podgorze"' in page
    assert 'href="/sasiedztwa/sojusznicy?dzielnica=i-stare-miasto"' not in page  # nothing to see there


def test_listed_rows_show_their_district(client, allies_in_districts):
    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    rows = re.findall(r'<li class="ally">(.*?)</li>', page, re.S)
    zofia = next(row for row in rows if "Zofia Łukasik" in row)
    ewa = next(row for row in rows if "Ewa Bez Dzielnicy" in row)
    assert "dzielnica XIII Podgórze" in zofia
    assert "dzielnica" not in ewa and "Wrocław" not in ewa  # the city is not shown on the list
    assert "Ukryta" not in page and "Odrzucony" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dzielnica=xiii-podgorze", ["Adam Nowak", "Zofia Łukasik"]),
        ("dzielnica=vi-bronowice", ["Stowarzyszenie Sąsiedzi z Zabłocia"]),
        ("dzielnica=vi-bronowice&kto=osoby", []),
        ("dzielnica=xiii-podgorze&kto=osoby&kolejnosc=alfabetycznie", ["Adam Nowak", "Zofia Łukasik"]),
        ("dzielnica=xiii-podgorze&q=zofia", ["Zofia Łukasik"]),
        ("dzielnica=i-stare-miasto", []),
        ("dzielnica=nie-ma-takiej", ["Ewa Bez Dzielnicy", "Stowarzyszenie Sąsiedzi z Zabłocia", "Adam Nowak", "Zofia Łukasik"]),
    ],
)
def test_district_filter_combines_with_the_other_filters(client, allies_in_districts, query, expected):
    page = client.get(f"/sasiedztwa/sojusznicy?{query}").get_data(as_text=True)
    assert names_on(page) == expected


def test_district_filter_is_a_select_and_htmx_gets_only_the_results(client, allies_in_districts):
    page = client.get("/sasiedztwa/sojusznicy?dzielnica=xiii-podgorze").get_data(as_text=True)
    assert '<option value="xiii-podgorze" selected>XIII Podgórze</option>' in page
    assert "Znalezione wpisy: 2." in page
    fragment = client.get("/sasiedztwa/sojusznicy?dzielnica=xiii-podgorze", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert names_on(text) == ["Adam Nowak", "Zofia Łukasik"]
    assert "<html" not in text and "Sojusznicy i sojuszniczki w dzielnicach Krakowa" not in text


def test_no_district_summary_or_filter_where_nobody_gave_one(app, client, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, district="")
    page = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert "Sojusznicy i sojuszniczki w dzielnicach Krakowa" not in page
    assert 'name="dzielnica"' not in page


def test_pages_keep_the_district_filter(app, client, coalition):
    with app.app_context():
        declaration_id = current_declaration().id
        now = utcnow()
        db.session.execute(
            insert(Signature),
            [
                {
                    "declaration_id": declaration_id, "kind": "person", "full_name": f"Osoba {n}",
                    "email": f"o{n}@example.org", "email_key": f"o{n}@example.org", "public_name": True,
                    "consents": {}, "status": "approved", "listed": True, "approved_at": now,
                    "list_sort_key": sort_key(f"Osoba {n}"), "list_search_key": search_key(f"Osoba {n}"),
                    "district": "XVI Bieńczyce" if n % 2 else "",
                }
                for n in range(120)
            ],
        )
        db.session.commit()
    page = client.get("/sasiedztwa/sojusznicy?dzielnica=xvi-bienczyce").get_data(as_text=True)
    assert "Znalezione wpisy: 60." in page
    assert "Strona 1 z 2" in page
    assert re.search(r'href="/sasiedztwa/sojusznicy\?[^"]*dzielnica=xvi-bienczyce[^"]*strona=2', page) or re.search(
        r'href="/sasiedztwa/sojusznicy\?[^"]*strona=2[^"]*dzielnica=xvi-bienczyce', page
    )


@pytest.mark.parametrize("query", ["dzielnica=%00", "dzielnica=XIII Podgórze", "dzielnica=xiii-podgorze&strona=²", "strona=²"])
def test_odd_list_parameters_never_fail(client, allies_in_districts, query):
    response = client.get(f"/sasiedztwa/sojusznicy?{query}")
    assert response.status_code in (200, 400)  # 400 only for a NUL byte
