"""The queue's search finds anyone, whatever the case and the Polish letters, on both engines:
names, organisations, addresses and KRS/NIP/REGON, in every tab and every coalition served."""
import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from koalicja import create_app
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.extensions import db
from koalicja.signatures.models import Signature, SignatureStatus

from .people import FOREIGN, SECOND, add_coalitions, entry


@pytest.fixture
def people(app, coalition, coordinator):
    add_coalitions(app)
    return {
        "lukasik": entry(app, full_name="Zofia Łukasik", email="zofia@example.org"),
        "cwik": entry(app, SECOND, SignatureStatus.APPROVED, organisation=True, full_name="Żaneta Ćwik",
                      email="zaneta@slask.example.org", organisation_name="Fundacja Śląsk", nip="5261040828",
                      krs="0000100001"),
        "unconfirmed": entry(app, status=SignatureStatus.UNCONFIRMED, full_name="Łucja Łukasik-Nowak", email="lucja@example.org"),
        "foreign": entry(app, FOREIGN, full_name="Jan Łukasik", email="jan@example.org"),
    }


def queue(client, **params):
    response = client.get("/panel/podpisy", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_search_ignores_case_and_polish_letters_and_finds_identifiers_as_written(client, auth, people):
    auth.login()
    for query in ["Łukasik", "łukasik", "LUKASIK", "ukasik", "ŁUKASIK"]:
        page = queue(client, q=query)
        assert "Zofia Łukasik" in page, query
        assert "Jan Łukasik" not in page  # a coalition this coordinator does not serve
    for query in ["Żaneta Ćwik", "zaneta cwik", "ŻANETA", "Śląsk", "slask", "zaneta@SLASK", "PL 526-104-08-28", "0000 100 001"]:
        assert "Żaneta Ćwik" in queue(client, q=query, stan="approved"), query
    assert "Żaneta Ćwik" not in queue(client, q="Zofia", stan="approved")


def test_a_search_with_no_hit_in_this_tab_names_the_tabs_with_hits_and_counters_stay_true(client, auth, people):
    auth.login()
    page = queue(client, q="lukasik", stan="approved")
    assert "W tej grupie nic nie znaleziono." in page
    elsewhere = page[page.index("Pasujące wpisy w innych grupach"):]
    assert re.search(r'href="/panel/podpisy\?stan=confirmed&amp;q=lukasik">Czekają na decyzję: 1<', elsewhere)
    assert re.search(r'href="/panel/podpisy\?stan=unconfirmed&amp;q=lukasik">Niepotwierdzone e-mailem: 1<', elsewhere)
    assert "Zatwierdzone: " not in elsewhere and "Odrzucone: " not in elsewhere
    # The tabs still count every entry of the coalitions served, not only the hits.
    counts = dict(re.findall(r'stan=(\w+)&amp;q=lukasik"[^>]*>[^<]+<span class="badge">(\d+)<', page))
    assert counts == {"confirmed": "1", "unconfirmed": "1", "approved": "1", "rejected": "0"}
    following = queue(client, q="lukasik", stan="unconfirmed")
    assert "Łucja Łukasik-Nowak" in following and "Niepotwierdzony e-mailem" in following


def test_a_list_of_several_coalitions_names_each_entry_s_coalition_and_so_does_a_bulk_approval(app, client, auth, people):
    auth.login()
    page = queue(client)
    row = page[page.index('id="signature-%d"' % people["lukasik"]):]
    assert '<span class="coalition-name">Koalicja na rzecz sąsiedztw</span>' in row[: row.index("</tr>")]
    other = entry(app, SECOND, full_name="Piotr Śliwa", email="piotr@example.org")
    token = auth.csrf()
    response = client.post("/panel/podpisy/decyzje", data={"decision": "approve", "seen": "confirmed", "csrf_token": token,
                                                          "ids": [people["lukasik"], other]}, headers={"Referer": "http://localhost/panel/podpisy"})
    assert response.status_code == 303
    flashed = queue(client)
    assert "Zatwierdzone wpisy: 2." in flashed
    assert "W koalicjach: Koalicja na rzecz reintegracji: 1; Koalicja na rzecz sąsiedztw: 1." in flashed


def test_the_migration_fills_the_search_key_of_existing_entries(database_url):
    """Rows written before the column existed get their key from migration 0014."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        coalition = Coalition(slug="stara", name="Stara", organiser="F")
        declaration = Declaration(coalition=coalition, title="D", body="T")
        db.session.add(Signature(declaration=declaration, kind="person", full_name="Ścibor Żółć",
                                 email="Scibor@Example.org", email_key="scibor@example.org"))
        db.session.commit()
        downgrade(revision="5c3f1a9e7d20")  # before 0014: the column is gone
        upgrade()
        assert db.session.scalar(text("SELECT panel_search_key FROM signature")) == "scibor zolc scibor@example.org"
        db.session.remove()
        db.engine.dispose()
