"""Beyond the app (issue #16): widgets other sites frame, the badge, the read API and the feeds.

Through HTTP with the test client, on SQLite and PostgreSQL: who may frame a widget
(frame-ancestors per coalition, also on a kept page and a 304), what the JSON documents and
widgets show (only the published list: a withdrawal is gone at once), caching and CORS, the
Atom feeds read back with feedparser, and the settings that list the allowed sites.
"""
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import feedparser
import pytest
from sqlalchemy import select

from koalicja.announcements.operations import send_announcement
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Event, EventStatus
from koalicja.extensions import db
from koalicja.security import OriginRefused, frame_origins
from koalicja.announcements.models import Announcement
from koalicja.reach.operations import API_ALLIES_PER_PAGE, FEED_ENTRIES
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import withdraw_signature
from koalicja.timeutil import utc_to_warsaw, utcnow

from ..conftest import SLUG, VALID_ORGANISATION, Auth, csrf_token_from
from ..declarations.test_allies import add_ally
from ..test_queries import add_signatures
from ..panel.test_roles import ADMIN_EMAIL, PASSWORD, admin  # noqa: F401  (the fixture)

ALLOWED = "https://sasiedztwa.example.org"
EMBEDS = ("/sasiedztwa/osadz/sojusznicy", "/sasiedztwa/osadz/licznik", "/sasiedztwa/osadz/wydarzenia")


def frame_ancestors(response):
    return next(p for p in response.headers["Content-Security-Policy"].split("; ") if p.startswith("frame-ancestors"))


def set_origins(app, slug, origins):
    with app.app_context():
        db.session.scalar(select(Coalition).where(Coalition.slug == slug)).embed_origins = origins
        db.session.commit()


@pytest.fixture
def second_coalition(app, coalition):
    with app.app_context():
        other = Coalition(slug="reintegracja", name="Reintegracja", organiser="Fundacja", contact_email="r@example.org",
                          embed_origins="http://127.0.0.2:8080")
        db.session.add_all([other, Declaration(coalition=other, title="Porozumienie", body="Tekst.")])
        db.session.commit()
    return "reintegracja"


@pytest.fixture
def allies(app, coalition, coordinator):
    """Two named persons, an organisation whose representative is not named, a person who is
    not on the list; returns the id of the first person."""
    with app.app_context():
        first = add_ally(coordinator, full_name="Łucja Żak", email="l@example.org").id
        add_ally(coordinator, full_name="Adam Nowak", email="a@example.org")
        add_ally(coordinator, **{**VALID_ORGANISATION, "public_name": False})
        add_ally(coordinator, full_name="Ukryta Osoba", email="hidden@example.org", public_name=False)
        add_ally(coordinator, full_name="Czeka Na Decyzję", email="wait@example.org", status="confirmed")
        return first


def test_widgets_may_be_framed_by_exactly_the_sites_each_coalition_allows(app, client, second_coalition):
    set_origins(app, SLUG, f"{ALLOWED}\nhttp://127.0.0.2:8000")
    for url in EMBEDS:
        first, kept = client.get(url), client.get(url)  # the second comes from the worker's page cache
        for response in (first, kept):
            assert response.status_code == 200
            assert frame_ancestors(response) == f"frame-ancestors 'self' {ALLOWED} http://127.0.0.2:8000"
            assert "X-Frame-Options" not in response.headers
        # A browser revalidating its copy merges the 304's headers into it: the same policy.
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and frame_ancestors(again) == frame_ancestors(first)
        assert "X-Frame-Options" not in again.headers
    other = client.get("/reintegracja/osadz/licznik")
    assert frame_ancestors(other) == "frame-ancestors 'self' http://127.0.0.2:8080"
    # Every other page still refuses to be framed, public or not.
    for url in ("/sasiedztwa/", "/sasiedztwa/sojusznicy", "/sasiedztwa/count.json", "/panel/logowanie"):
        response = client.get(url)
        assert frame_ancestors(response) == "frame-ancestors 'none'" and response.headers["X-Frame-Options"] == "DENY"
    # No site allowed: only our own panel preview.
    set_origins(app, SLUG, "")
    assert frame_ancestors(client.get(EMBEDS[1])) == "frame-ancestors 'self'"


def test_widgets_hold_no_form_and_open_our_pages_in_a_new_tab(app, client, coalition, allies):
    with app.app_context():
        start = utcnow() + timedelta(days=5)
        db.session.add(Event(coalition_id=db.session.scalar(select(Coalition.id)), slug="gala", title="Gala", starts_at=start,
                             ends_at=start + timedelta(hours=2), status=EventStatus.PUBLISHED, capacity=10))
        db.session.commit()
    for url in EMBEDS:
        page = client.get(url).get_data(as_text=True)
        assert "<form" not in page and "site-header" not in page and "<nav aria-label" not in page
        links = re.findall(r"<a [^>]*>", page)
        outward = [link for link in links if "osadz/" not in link]  # the list's own pages stay in the frame
        assert outward and all('target="_blank"' in link and 'rel="noopener"' in link for link in outward), outward
    counter = client.get(EMBEDS[1]).get_data(as_text=True)
    assert "Podpisz deklarację" in counter and 'href="/sasiedztwa/podpisz"' in counter
    assert "4</strong>" in counter and "sojuszników i sojuszniczek" in counter  # Polish plural via ngettext
    events = client.get(EMBEDS[2]).get_data(as_text=True)
    assert "Zapisz się" in events and 'href="/sasiedztwa/wydarzenia/gala/zapisz"' in events


def test_the_read_api_shows_only_the_published_list_and_a_withdrawal_is_gone_at_once(app, client, allies):
    count = client.get("/sasiedztwa/count.json").get_json()
    assert {k: count[k] for k in ("persons", "organisations", "total")} == {"persons": 3, "organisations": 1, "total": 4}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", count["updated"])
    listing = client.get("/sasiedztwa/sojusznicy.json").get_json()
    assert [a["name"] for a in listing["allies"]] == ["Stowarzyszenie Sąsiedzi z Zabłocia", "Adam Nowak", "Łucja Żak"]
    organisation = listing["allies"][0]
    assert organisation["kind"] == "organisation" and organisation["representative"] is None  # not agreed to be named
    assert listing["unnamed"] == 1 and listing["page"] == 1 and listing["pages"] == 1 and listing["next"] is None
    body = client.get("/sasiedztwa/sojusznicy.json").get_data(as_text=True)
    for never in ("Anna Wiśniewska", "Ukryta Osoba", "Czeka Na Decyzję", "@", "Kraków"):
        assert never not in body
    assert client.get("/sasiedztwa/sojusznicy.json?strona=99").get_json()["page"] == 1  # past the end: the last page
    badge = client.get("/sasiedztwa/osadz/licznik.svg")
    assert badge.mimetype == "image/svg+xml"
    svg = ET.fromstring(badge.data)
    assert svg.find("{http://www.w3.org/2000/svg}text").text == "4 sojuszników i sojuszniczek"
    assert svg.find("{http://www.w3.org/2000/svg}title").text == "4 sojuszników i sojuszniczek · Koalicja na rzecz sąsiedztw"

    with app.app_context():
        withdraw_signature(allies)
    assert client.get("/sasiedztwa/count.json").get_json()["total"] == 3
    assert "Łucja Żak" not in client.get("/sasiedztwa/sojusznicy.json").get_data(as_text=True)
    embed = client.get("/sasiedztwa/osadz/sojusznicy").get_data(as_text=True)
    assert "Łucja Żak" not in embed and "Adam Nowak" in embed and "Anna Wiśniewska" not in embed
    assert "3 sojuszników i sojuszniczek" in client.get("/sasiedztwa/osadz/licznik.svg").get_data(as_text=True)


def test_the_read_api_pages_through_the_list_and_gives_a_district_only_from_krakow(app, client, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, full_name="Jan Spoza", email="j@example.org", city="Wieliczka", district="")
        add_signatures(API_ALLIES_PER_PAGE, SignatureStatus.APPROVED)  # older entries: the next page
        add_ally(coordinator, full_name="Ola Z Podgórza", email="o@example.org")
    first = client.get("/sasiedztwa/sojusznicy.json").get_json()
    assert first["coalition"] == "sasiedztwa" and first["per_page"] == API_ALLIES_PER_PAGE
    assert first["listed"] == API_ALLIES_PER_PAGE + 2 and first["unnamed"] == 0
    assert (first["page"], first["pages"]) == (1, 2)
    assert first["previous"] is None and first["next"] == "http://localhost/sasiedztwa/sojusznicy.json?strona=2"
    by_name = {ally["name"]: ally for ally in first["allies"]}
    assert by_name["Ola Z Podgórza"]["district"] == "XIII Podgórze" and by_name["Jan Spoza"]["district"] is None
    second = client.get(first["next"]).get_json()
    assert second["page"] == 2 and len(second["allies"]) == 2
    assert second["previous"] == "http://localhost/sasiedztwa/sojusznicy.json?strona=1" and second["next"] is None


def test_the_read_api_is_cached_publicly_with_etags_and_open_to_every_origin(client, allies):
    for url in ("/sasiedztwa/count.json", "/sasiedztwa/sojusznicy.json", "/sasiedztwa/wydarzenia.json",
                "/sasiedztwa/osadz/licznik.svg", "/sasiedztwa/komunikaty.atom", "/sasiedztwa/wydarzenia.atom"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=5, stale-while-revalidate=30"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Set-Cookie" not in response.headers
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"], "Origin": "https://example.net"})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["Access-Control-Allow-Origin"] == "*"
    # A new approval changes the document, so the old ETag no longer matches.
    etag = client.get("/sasiedztwa/count.json").headers["ETag"]
    with client.application.app_context():
        add_ally(db.session.scalar(select(Coordinator.id)), full_name="Nowa Osoba", email="n@example.org")
    assert client.get("/sasiedztwa/count.json", headers={"If-None-Match": etag}).status_code == 200


def test_upcoming_events_as_json(app, client, coalition):
    with app.app_context():
        coalition_id = db.session.scalar(select(Coalition.id))
        start = utcnow().replace(microsecond=0) + timedelta(days=3)
        published, draft = EventStatus.PUBLISHED, EventStatus.DRAFT
        for slug, status, days in (("gala", published, 0), ("szkic", draft, 1), ("byla", published, -10)):
            db.session.add(Event(coalition_id=coalition_id, slug=slug, title=slug.title(), summary=f"O {slug}.",
                                 starts_at=start + timedelta(days=days), ends_at=start + timedelta(days=days, hours=2),
                                 venue="Dom Sąsiedzki", address="ul. Długa 1, Kraków", capacity=20, status=status))
        db.session.commit()
    document = client.get("/sasiedztwa/wydarzenia.json").get_json()
    assert document["coalition"] == "sasiedztwa"
    assert [e["title"] for e in document["events"]] == ["Gala"]
    gala = document["events"][0]
    assert gala["places_left"] == 20 and gala["registration"] == "open" and gala["cancelled"] is False
    assert gala["url"] == "http://localhost/sasiedztwa/wydarzenia/gala"
    assert gala["calendar"] == "http://localhost/sasiedztwa/wydarzenia/gala/kalendarz.ics"
    assert gala["summary"] == "O gala." and gala["venue"] == "Dom Sąsiedzki" and gala["address"] == "ul. Długa 1, Kraków"
    for moment in ("starts_at", "ends_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", gala[moment])
    starts_at, ends_at = (datetime.fromisoformat(gala[moment]) for moment in ("starts_at", "ends_at"))
    assert ends_at - starts_at == timedelta(hours=2)


def test_feeds_of_public_announcements_and_events_read_back(app, client, coalition, coordinator):
    with app.app_context():
        author = db.session.get(Coordinator, coordinator)
        send_announcement(db.session.get(Coalition, 1), "Spotkanie w grudniu", "Zapraszamy **wszystkich**.", author, public=True)
        send_announcement(db.session.get(Coalition, 1), "Tylko dla sojuszników", "Wewnętrzne.", author)
        start = utcnow() + timedelta(days=4)
        db.session.add(Event(coalition_id=1, slug="gala", title="Gala Sojuszników", summary="Święto.", starts_at=start,
                             ends_at=start + timedelta(hours=3), status=EventStatus.PUBLISHED))
        db.session.commit()
    home = client.get("/sasiedztwa/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml" href="/sasiedztwa/komunikaty.atom"' in home
    assert '<link rel="alternate" type="application/atom+xml" href="/sasiedztwa/wydarzenia.atom"' in home

    response = client.get("/sasiedztwa/komunikaty.atom")
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo and feed.version == "atom10"
    assert feed.feed.title == "Komunikaty · Koalicja na rzecz sąsiedztw"
    assert [entry.title for entry in feed.entries] == ["Spotkanie w grudniu"]
    assert "<strong>wszystkich</strong>" in feed.entries[0].content[0].value
    assert feed.entries[0].link.startswith("http://localhost/sasiedztwa/komunikaty#komunikat-")
    page = client.get("/sasiedztwa/komunikaty").get_data(as_text=True)
    assert "Spotkanie w grudniu" in page and "Tylko dla sojuszników" not in page

    events = feedparser.parse(client.get("/sasiedztwa/wydarzenia.atom").data)
    assert not events.bozo and [entry.title for entry in events.entries] == ["Gala Sojuszników"]
    assert events.entries[0].link == "http://localhost/sasiedztwa/wydarzenia/gala"
    assert "Święto." in events.entries[0].content[0].value


def test_the_announcements_feed_keeps_to_its_coalition_and_its_newest_entries(app, client, coalition, second_coalition):
    with app.app_context():
        ours, theirs = (db.session.scalar(select(Coalition.id).where(Coalition.slug == slug)) for slug in (SLUG, second_coalition))
        moment = utcnow().replace(microsecond=0) - timedelta(days=1)

        def announcement(coalition_id, subject, at):
            return Announcement(coalition_id=coalition_id, subject=subject, body="Treść.", public=True, created_at=at)

        # Entered first, dated last: the date orders the feed, not the order of entry.
        db.session.add(announcement(ours, "Najnowszy", moment + timedelta(hours=1)))
        db.session.flush()
        # Sent within one second: the one sent later comes first.
        db.session.add_all([announcement(ours, f"Komunikat {n}", moment) for n in range(FEED_ENTRIES)])
        db.session.add(announcement(theirs, "Komunikat innej koalicji", moment + timedelta(hours=2)))
        db.session.commit()
    feed = feedparser.parse(client.get("/sasiedztwa/komunikaty.atom").data)
    expected = ["Najnowszy"] + [f"Komunikat {n}" for n in range(FEED_ENTRIES - 1, 0, -1)]  # the oldest is past the last 50
    assert [entry.title for entry in feed.entries] == expected


def test_the_count_of_a_coalition_without_allies_dates_from_its_creation(app, client, coalition):
    with app.app_context():
        created = utc_to_warsaw(db.session.scalar(select(Coalition.created_at).where(Coalition.slug == SLUG)))
    assert client.get("/sasiedztwa/count.json").get_json() == {
        "coalition": "sasiedztwa", "persons": 0, "organisations": 0, "total": 0,
        "updated": created.isoformat(timespec="seconds"),
    }


def test_the_home_page_counter_updates_itself_from_a_fragment(client, allies):
    home = client.get("/sasiedztwa/").get_data(as_text=True)
    stats = re.search(r'<p class="hero__stats"[^>]*>', home).group(0)
    assert 'data-hx-get="/sasiedztwa/licznik"' in stats and 'data-hx-trigger="every 60s"' in stats
    assert "/static/" in home and "live-count.js" in home  # cancels the poll in a hidden tab; no inline script
    assert '<strong class="big-number">4</strong>' in home  # without JavaScript: the count itself
    fragment = client.get("/sasiedztwa/licznik", headers={"HX-Request": "true"})
    assert fragment.headers["Cache-Control"].startswith("public")
    assert '<strong class="big-number">4</strong>' in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "refused"),
    [
        ("https://sasiedztwa.example.org/strona", "https://sasiedztwa.example.org/strona"),
        ("sasiedztwa.example.org", "sasiedztwa.example.org"),
        ("ftp://sasiedztwa.example.org", "ftp://sasiedztwa.example.org"),
        ("https://a.example.org\nhttps://b.example.org?x=1", "https://b.example.org?x=1"),
        ("https://user@sasiedztwa.example.org", "https://user@sasiedztwa.example.org"),
        ("https://sasiedztwa.example.org:99999", "https://sasiedztwa.example.org:99999"),
    ],
)
def test_an_allowed_site_is_an_origin_and_nothing_more(typed, refused):
    with pytest.raises(OriginRefused, match=re.escape(f"„{refused}” to nie jest adres strony")):
        frame_origins(typed)


def test_administrators_list_the_sites_allowed_to_frame_the_widgets(app, client, admin, coalition):  # noqa: F811
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    url = f"/panel/admin/koalicje/{SLUG}/ustawienia"
    data = {"name": "Koalicja na rzecz sąsiedztw", "organiser": "Fundacja Testowa", "contact_email": "kontakt@example.org",
            "brand_colour": "#1d5c4d"}

    def saved():
        with app.app_context():
            return db.session.scalar(select(Coalition.embed_origins).where(Coalition.slug == SLUG))

    typed = "https://sasiedztwa.example.org/blog"
    response = client.post(url, data={**data, "csrf_token": csrf_token_from(client.get(url)), "embed_origins": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "„https://sasiedztwa.example.org/blog” to nie jest adres strony" in page
    assert typed in page and saved() == ""  # the input kept next to its error, nothing saved

    typed = " https://Sasiedztwa.example.org/ \n\nhttp://127.0.0.2:8080\nhttps://sasiedztwa.example.org:443"
    response = client.post(url, data={**data, "csrf_token": csrf_token_from(client.get(url)), "embed_origins": typed})
    assert response.status_code == 303 and saved() == "https://sasiedztwa.example.org\nhttp://127.0.0.2:8080"
    embed = client.get("/sasiedztwa/osadz/licznik")
    assert frame_ancestors(embed) == "frame-ancestors 'self' https://sasiedztwa.example.org http://127.0.0.2:8080"


def test_coordinators_get_the_snippets_with_a_live_preview(client, auth, coalition):
    auth.login()
    page = client.get("/panel/koalicje/sasiedztwa/")
    assert "Osadź na swojej stronie" in page.get_data(as_text=True)
    response = client.get("/panel/koalicje/sasiedztwa/osadz")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "&lt;iframe src=&#34;http://localhost/sasiedztwa/osadz/sojusznicy&#34;" in html
    assert "data-koalicja-embed&gt;&lt;/iframe&gt;" in html and "koalicja-embed.js" in html
    assert '<iframe class="embed-preview" src="http://localhost/sasiedztwa/osadz/licznik"' in html
    assert "&lt;img src=&#34;http://localhost/sasiedztwa/osadz/licznik.svg&#34;" in html
    # Announcements are published on the site only when the coordinator ticks it.
    form = client.get("/panel/koalicje/sasiedztwa/komunikaty").get_data(as_text=True)
    assert 'name="public"' in form and 'checked' not in form.split('name="public"')[0][-200:]


def test_a_coordinator_publishes_an_announcement_on_the_site_by_ticking_it(app, client, auth, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, contact_allowed="y")
    auth.login()
    url = "/panel/koalicje/sasiedztwa/komunikaty"
    fields = {"subject": "Zbiórka podpisów", "body": "Spotykamy się w sobotę.", "public": "y"}
    preview = client.post(url, data={**fields, "csrf_token": csrf_token_from(client.get(url)), "action": "preview"})
    page = preview.get_data(as_text=True)
    assert "Komunikat zostanie też opublikowany na stronie koalicji" in page
    assert '<input type="hidden" name="public" value="y">' in page  # carried through the preview to the send button
    sent = client.post(url, data={**fields, "csrf_token": csrf_token_from(preview), "action": "send"})
    assert sent.status_code == 303
    titles = [entry.title for entry in feedparser.parse(client.get("/sasiedztwa/komunikaty.atom").data).entries]
    assert titles == ["Zbiórka podpisów"]
