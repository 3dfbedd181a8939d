"""Share previews (meta tags, the share image), sitemap.xml and robots.txt, as a crawler sees them."""
import io
import os
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from markupsafe import escape
from PIL import Image

from koalicja.sharing.image import BOLD_FONT, MISSING_FONTS

from ..conftest import VALID_ORGANISATION, sign
from ..declarations.test_allies import add_ally
from ..events.conftest import make_event

pytestmark = pytest.mark.one_engine

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def app_config(tmp_path):
    return {"SHARE_IMAGE_FOLDER": str(tmp_path / "share-images")}


@pytest.fixture
def site(app, coalition, coordinator):
    with app.app_context():
        add_ally(coordinator, full_name="Łucja Żak", email="l@example.org")
        add_ally(coordinator, **VALID_ORGANISATION)
    make_event(app)
    make_event(app, slug="szkic", title="Szkic", status="draft")


def meta(page):
    """{property or name: content} of the page's <meta> tags."""
    return {
        (match.group(1) or match.group(2)): match.group(3)
        for match in re.finditer(r'<meta (?:property="([^"]+)"|name="([^"]+)") content="([^"]*)">', page)
    }


PAGES = [
    ("/sasiedztwa/", "Koalicja na rzecz sąsiedztw", "Otwarta sieć sąsiadów i sąsiadek."),
    ("/sasiedztwa/sojusznicy", "Sojusznicy · Koalicja na rzecz sąsiedztw",
     "Koalicja na rzecz sąsiedztw: 2 sojuszników i sojuszniczek"),
    ("/sasiedztwa/deklaracja/wersje", "Wersje i aneksy deklaracji · Koalicja na rzecz sąsiedztw", "Deklaracja współpracy"),
    # Markdown as plain text: raw HTML stays text (escaped in the attribute), the dropped link as written.
    ("/sasiedztwa/deklaracja/wersja-1", "Deklaracja współpracy",
     "Deklarujemy współpracę. <script>alert(1)</script> [zły link](javascript:alert(1))"),
    ("/sasiedztwa/wydarzenia", "Wydarzenia · Koalicja na rzecz sąsiedztw", "Otwarta sieć sąsiadów i sąsiadek."),
    ("/sasiedztwa/wydarzenia/gala", "Gala Sojuszników Sąsiedztw", "Zapraszamy na galę."),  # Markdown as plain text
]


def test_each_kind_of_public_page_carries_its_share_preview(client, site):
    for path, title, description in PAGES:
        response = client.get(path)
        page = response.get_data(as_text=True)
        tags = meta(page)
        assert tags["og:title"] == tags["twitter:title"] == title, path
        assert tags["description"] == tags["og:description"] == tags["twitter:description"] == str(escape(description)), path
        assert tags["og:url"] == f"http://koalicja.test{path}"
        assert f'<link rel="canonical" href="http://koalicja.test{path}">' in page
        assert tags["og:site_name"] == "Koalicja na rzecz sąsiedztw"
        assert tags["twitter:card"] == "summary_large_image"
        assert re.fullmatch(r"http://koalicja\.test/sasiedztwa/obraz-pl-\d+\.png", tags["og:image"])
        assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
        assert "robots" not in tags and "X-Robots-Tag" not in response.headers
    # A filtered list shares the list itself.
    assert meta(client.get("/sasiedztwa/sojusznicy?q=zak").get_data(as_text=True))["og:url"] == "http://koalicja.test/sasiedztwa/sojusznicy"


def test_the_share_image_is_a_1200_by_630_png_drawn_once_per_data_version(app, client, site, tmp_path, coordinator):
    if not BOLD_FONT.is_file():  # `make test` installs it (the `fonts` target)
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(MISSING_FONTS, pytrace=False)
        pytest.skip(MISSING_FONTS)
    url = meta(client.get("/sasiedztwa/").get_data(as_text=True))["og:image"]
    path = urlsplit(url).path
    first = client.get(path)
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert first.headers["Content-Security-Policy"] == "default-src 'none'"
    image = Image.open(io.BytesIO(first.data))
    assert (image.format, image.size) == ("PNG", (1200, 630))
    # The brand colour fills the background (the default: #1d5c4d).
    assert image.convert("RGB").getpixel((1199, 629)) == (0x1D, 0x5C, 0x4D)
    drawn = list((tmp_path / "share-images").iterdir())
    assert len(drawn) == 1
    stamp = (drawn[0].stat().st_ino, drawn[0].stat().st_mtime_ns)

    second = client.get(path)
    assert second.data == first.data
    assert (drawn[0].stat().st_ino, drawn[0].stat().st_mtime_ns) == stamp  # read from disk, not drawn again

    # A new ally: a new data version, a new URL on the page and a new image; the old one is gone.
    with app.app_context():
        add_ally(coordinator, full_name="Nowa Osoba", email="nowa@example.org")
    new_url = meta(client.get("/sasiedztwa/").get_data(as_text=True))["og:image"]
    assert new_url != url
    assert client.get(urlsplit(new_url).path).data != first.data
    drawn_now = urlsplit(new_url).path.rsplit("/", 1)[1].replace("obraz-", "1-")  # <coalition id>-<language>-<version>.png
    assert [path.name for path in (tmp_path / "share-images").iterdir()] == [drawn_now]
    # The old URL (a crawler that read the page before) is sent to the current image.
    stale = client.get(path)
    assert stale.status_code == 302 and stale.headers["Location"].endswith(urlsplit(new_url).path)


def test_sitemap_lists_every_public_page_and_no_page_that_is_never_indexed(client, site):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    locations = [element.text for element in ET.fromstring(response.data).iter(f"{SITEMAP}loc")]
    paths = [urlsplit(location).path for location in locations]
    assert paths == [
        "/sasiedztwa/",
        "/sasiedztwa/sojusznicy",
        "/sasiedztwa/deklaracja/wersje",
        "/sasiedztwa/deklaracja/wersja-1",
        "/sasiedztwa/wydarzenia",
        "/sasiedztwa/wydarzenia/gala",  # the draft event is not there
    ]
    assert all(location.startswith("http://koalicja.test/") for location in locations)
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200 and "X-Robots-Tag" not in page.headers


def test_robots_txt_keeps_crawlers_off_the_panel_and_one_time_links_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    disallowed = {line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")}
    assert {"/panel/", "/potwierdz/", "/wycofaj", "/wycofano", "/nowy-link", "/poparcie/", "/wypisz/",
            "/wydarzenia/potwierdz/", "/wydarzenia/rezygnacja/", "/*/dziekujemy"} <= disallowed
    assert not disallowed & {"/", "/*", "/*/"}
    assert "Sitemap: http://koalicja.test/sitemap.xml" in lines
    assert lines[0] == "User-agent: *"


def test_the_panel_and_pages_behind_e_mailed_links_say_noindex(client, coalition):
    for path in ("/panel/logowanie", "/wycofaj", "/nowy-link", "/potwierdz/zepsuty-token"):
        response = client.get(path)
        assert response.headers["X-Robots-Tag"] == "noindex", path
        assert '<meta name="robots" content="noindex">' in response.get_data(as_text=True)
    signed = sign(client, **VALID_ORGANISATION)
    assert client.get(signed.headers["Location"]).headers["X-Robots-Tag"] == "noindex"  # "Sprawdź pocztę"
