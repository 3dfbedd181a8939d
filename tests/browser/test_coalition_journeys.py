"""Today's coalition features end to end, as people meet them in a real chromium.

1. An administrator creates a coalition with a Polish name and invites its coordinator; the
   invitation e-mail's link lets the new coordinator choose a password, and then they see
   that coalition only.
2. A coordinator enters a paper signature with its scan: a renamed program is refused next to
   the field with every other answer kept, a real PNG is accepted, the entry is in the queue
   marked "papierowy" and its scan opens (for coordinators only).
3. A coordinator publishes an annex and invites the signers; one opens the e-mailed link,
   presses "Popieram aneks", and the public list says so.
4. The public list's Kraków district filter swaps the results with htmx and the address bar
   keeps the choice, so a reload shows the same.

One site (the demo data) is built and served once for the module; each journey works on a
different coalition, so they do not depend on each other's order. E-mails go to .eml files
(MAIL_BACKEND "file"); links in them start with BASE_URL and are opened on the served app.
"""
import email
import email.policy
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from koalicja.demo import (
    DEMO_COORDINATOR_EMAIL,
    DEMO_COORDINATOR_PASSWORD,
    DEMO_SCOPED_EMAIL,
    DEMO_SCOPED_PASSWORD,
    DEMO_SLUG,
    PARTNERSHIP_PARTNERS,
    PARTNERSHIP_SLUG,
    REINTEGRATION_SLUG,
    seed_demo,
)
from koalicja.extensions import db
from koalicja.mail.operations import deliver_due
from koalicja.signatures.models import Signature
from koalicja.timeutil import warsaw_today

from .support import TIMEOUT_MS, serving, site_app

BASE_URL = "http://koalicja.test"  # what links in e-mails start with
NOT_FOUND = "Nie ma takiej strony"


@dataclass
class Site:
    app: object
    base_url: str
    outbox: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("journeys")
    app = site_app(workdir, "journeys")
    with app.app_context():
        db.create_all()
        seed_demo()
    with serving(app) as base_url:
        yield Site(app, base_url, workdir / "outbox")
    with app.app_context():
        db.engine.dispose()
    app.extensions["koalicja.serving"].close()


@pytest.fixture
def new_page(browser):
    """A tab in a fresh browser context (own cookies), as another person on another computer."""
    contexts = []

    def make():
        context = browser.new_context(locale="pl-PL")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, site, email_address, password):
    page.goto(site.base_url + "/panel/logowanie")
    page.locator("#email").fill(email_address)
    page.locator("#password").fill(password)
    page.locator("#submit").click()
    expect(page).to_have_url(site.base_url + "/panel/podpisy")


def flash(page):
    return page.locator(".flashes")


def mailed_link(site, recipient, path):
    """Deliver the outbox to .eml files, then the link to `path` in `recipient`'s latest e-mail,
    made to point at the served app. Returns (message, url)."""
    with site.app.app_context():
        deliver_due()
    messages = [
        email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
        for file in sorted(site.outbox.glob("*.eml"))
    ]
    mine = [message for message in messages if message["To"].addresses[0].addr_spec == recipient]
    assert mine, f"no e-mail to {recipient}; sent to: {sorted({m['To'] for m in messages})}"
    message = mine[-1]
    body = message.get_body(("plain",)).get_content()
    links = [link for link in re.findall(r"https?://\S+", body) if urlsplit(link).path.startswith(path)]
    assert len(links) == 1, body
    assert links[0].startswith(BASE_URL + path), links[0]
    return message, site.base_url + links[0][len(BASE_URL):]


def png_bytes():
    """A real 1×1 PNG (a grey pixel), made here rather than read from disk."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1×1, 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")


def renamed_executable():
    """The start of a Windows program (an "MZ" header), as if renamed to skan.pdf."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode.\r\n"


# ---- 1. a new coalition and its coordinator --------------------------------------------


def test_admin_creates_coalition_and_invited_coordinator_sees_only_it(site, new_page):
    name = "Koalicja Łąk i Źródeł Żółkiewskiego"
    slug = "koalicja-lak-i-zrodel-zolkiewskiego"  # Polish letters become plain ones
    admin = new_page()
    log_in(admin, site, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)

    admin.get_by_role("navigation", name="Menu panelu").get_by_role("link", name="Koalicje").click()
    admin.get_by_role("link", name="Nowa koalicja").click()
    expect(admin.locator("h1")).to_have_text("Nowa koalicja")
    admin.get_by_label("Nazwa koalicji").fill(name)
    admin.get_by_label("Administrator danych osobowych").fill("Fundacja Łąk, ul. Źródlana 5, 30-100 Kraków")
    admin.get_by_label("E-mail kontaktowy").fill("laki@example.org")
    admin.locator("#submit").click()
    expect(admin).to_have_url(f"{site.base_url}/panel/koalicje/{slug}/")
    expect(flash(admin)).to_contain_text("Zapisano ustawienia koalicji.")
    expect(admin.locator("h1")).to_have_text(name)

    # Public at once, but with nothing to sign until a coordinator publishes the text.
    visitor = new_page()
    visitor.goto(f"{site.base_url}/{slug}/")
    expect(visitor.locator("h1")).to_have_text(name)
    expect(visitor.locator("main")).to_contain_text("Ta koalicja nie opublikowała jeszcze deklaracji.")
    expect(visitor.locator("main").get_by_role("link", name="Podpisz deklarację")).to_have_count(0)
    assert visitor.goto(f"{site.base_url}/{slug}/podpisz").status == 404

    admin.get_by_role("link", name="Konta").click()
    admin.get_by_role("link", name="Zaproś osobę do panelu").click()
    admin.get_by_label("Imię i nazwisko").fill("Łucja Źrebięcka")
    admin.get_by_label("Adres e-mail").fill("lucja@example.org")
    admin.get_by_label(name).check()
    admin.get_by_role("button", name="Utwórz konto i wyślij zaproszenie").click()
    expect(admin).to_have_url(site.base_url + "/panel/admin/koordynatorzy")
    expect(flash(admin)).to_contain_text("Konto utworzone. Wysłaliśmy zaproszenie z linkiem do ustawienia hasła.")
    row = admin.locator("tr", has_text="Łucja Źrebięcka")
    expect(row).to_contain_text("Koordynator/ka")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("jeszcze nie")

    invitation, link = mailed_link(site, "lucja@example.org", "/panel/ustaw-haslo/")
    assert invitation["Subject"] == "Zaproszenie do panelu koordynatorów"

    coordinator = new_page()  # the invited person, on their own computer
    coordinator.goto(link)
    expect(coordinator.locator("h1")).to_have_text("Ustaw hasło")
    expect(coordinator.locator("main")).to_contain_text("Konto: lucja@example.org")
    coordinator.get_by_label("Nowe hasło", exact=True).fill("łąki-i-źródła-2026")
    coordinator.get_by_label("Powtórz nowe hasło").fill("łąki-i-źródła-2026")
    coordinator.get_by_role("button", name="Ustaw hasło").click()
    expect(coordinator).to_have_url(site.base_url + "/panel/logowanie")
    expect(flash(coordinator)).to_contain_text("Hasło ustawione. Zaloguj się nim.")

    log_in(coordinator, site, "lucja@example.org", "łąki-i-źródła-2026")
    menu = coordinator.get_by_role("navigation", name="Menu panelu")
    expect(menu).to_contain_text("Wyloguj (Łucja Źrebięcka)")
    expect(menu.get_by_role("link", name="Konta")).to_have_count(0)  # not an administrator
    menu.get_by_role("link", name="Koalicje").click()
    expect(coordinator.locator(".card h2")).to_have_text([name])
    coordinator.get_by_role("link", name=name).click()
    expect(coordinator).to_have_url(f"{site.base_url}/panel/koalicje/{slug}/")
    expect(coordinator.locator("h1")).to_have_text(name)
    expect(coordinator.get_by_role("link", name="Wpisz podpis papierowy (ze skanem)")).to_have_count(0)

    # Their first job: the declaration's text, which makes the coalition signable.
    coordinator.get_by_role("link", name="Deklaracja: wersje, aneksy i poparcia").click()
    expect(coordinator.locator("main")).to_contain_text("Ta koalicja nie ma jeszcze deklaracji.")
    coordinator.get_by_role("link", name="Nowa wersja tekstu").click()
    expect(coordinator.locator("#body")).to_have_value("")
    coordinator.locator("#title").fill("Deklaracja ochrony łąk")
    coordinator.locator("#body").fill("Chronimy łąki nad Wisłą i źródła w Żółkiewskiem.")
    coordinator.get_by_role("button", name="Zapisz szkic").click()
    expect(coordinator.locator("h1")).to_have_text("Wersja 1: Deklaracja ochrony łąk")
    coordinator.get_by_role("link", name="Opublikuj…").click()
    expect(coordinator.locator(".notice")).not_to_contain_text("„”")
    coordinator.get_by_role("button", name="Tak, publikuję").click()
    expect(flash(coordinator)).to_contain_text("Nowa wersja opublikowana.")
    visitor.goto(f"{site.base_url}/{slug}/")
    expect(visitor.locator("#declaration-title")).to_have_text("Deklaracja ochrony łąk")
    expect(visitor.locator(".declaration .prose")).to_have_text("Chronimy łąki nad Wisłą i źródła w Żółkiewskiem.")
    expect(visitor.locator("main").get_by_role("link", name="Podpisz deklarację").first).to_be_visible()
    coordinator.goto(f"{site.base_url}/panel/koalicje/{slug}/")
    expect(coordinator.get_by_role("link", name="Wpisz podpis papierowy (ze skanem)")).to_be_visible()

    response = coordinator.goto(f"{site.base_url}/panel/koalicje/{DEMO_SLUG}/")
    assert response.status == 404
    expect(coordinator.locator("h1")).to_have_text(NOT_FOUND)

    # The link worked once: opened again, it explains that it no longer does.
    response = coordinator.goto(link)
    assert response.status == 404
    expect(coordinator.locator("h1")).to_have_text("Link nie działa")


# ---- 2. a paper signature with its scan ---------------------------------------------------


def test_coordinator_enters_paper_signature_with_scan(site, new_page):
    signer = "Grażyna Źdźbło"
    signed_on = (warsaw_today() - timedelta(days=3)).isoformat()
    panel = new_page()
    log_in(panel, site, DEMO_SCOPED_EMAIL, DEMO_SCOPED_PASSWORD)
    panel.get_by_role("navigation", name="Menu panelu").get_by_role("link", name="Koalicje").click()
    panel.get_by_role("link", name="Koalicja na rzecz reintegracji społeczno-zawodowej").click()
    panel.get_by_role("link", name="Wpisz podpis papierowy (ze skanem)").click()
    paper_url = f"{site.base_url}/panel/koalicje/{REINTEGRATION_SLUG}/podpis-papierowy"
    expect(panel).to_have_url(paper_url)
    expect(panel.locator("h1")).to_have_text("Podpis papierowy")

    panel.get_by_label("osoba prywatna, we własnym imieniu").check()
    panel.locator("#full_name").fill(signer)
    panel.locator("#city").fill("Kraków")
    panel.locator("#district").select_option("XVIII Nowa Huta")
    panel.locator("#public_name").check()
    panel.locator("#signed_on").fill(signed_on)
    panel.locator("#signed_place").fill("Nowa Huta")
    panel.locator("#holds_signed_form").check()
    panel.locator("#scan").set_input_files(
        {"name": "skan.pdf", "mimeType": "application/pdf", "buffer": renamed_executable()}
    )
    panel.locator("#submit").click()

    refused = "Ten plik nie jest skanem w formacie PDF, JPEG ani PNG (sprawdzamy jego zawartość, nie nazwę). Wybierz inny plik."
    expect(panel.locator("#field-scan .error")).to_have_text(f"Błąd: {refused}")
    expect(panel.locator("#scan")).to_have_attribute("aria-invalid", "true")
    expect(panel.locator(".error-summary")).to_contain_text(refused)
    expect(panel.locator(".field--error")).to_have_count(1)  # only the scan is wrong
    # Everything else typed in is still there.
    expect(panel.locator("#full_name")).to_have_value(signer)
    expect(panel.locator("#city")).to_have_value("Kraków")
    expect(panel.locator("#district")).to_have_value("XVIII Nowa Huta")
    expect(panel.locator("#public_name")).to_be_checked()
    expect(panel.locator("#signed_on")).to_have_value(signed_on)
    expect(panel.locator("#signed_place")).to_have_value("Nowa Huta")
    expect(panel.locator("#holds_signed_form")).to_be_checked()
    with site.app.app_context():
        assert db.session.scalar(select(Signature).where(Signature.full_name == signer)) is None

    scan = png_bytes()
    panel.locator("#scan").set_input_files({"name": "formularz.png", "mimeType": "image/png", "buffer": scan})
    panel.locator("#submit").click()
    expect(panel).to_have_url(paper_url)
    expect(flash(panel)).to_contain_text(
        f"Zapisano podpis papierowy: {signer}. Jest wśród zatwierdzonych. Możesz wpisać kolejny."
    )
    expect(panel.locator("#full_name")).to_have_value("")  # a clean form for the next one

    panel.get_by_role("navigation", name="Menu panelu").get_by_role("link", name="Podpisy").click()
    panel.get_by_role("link", name=re.compile(r"^Zatwierdzone")).click()
    row = panel.locator("table.queue tbody tr", has_text=signer)
    expect(row).to_have_count(1)
    expect(row.locator(".badge--paper")).to_have_text("papierowy")
    expect(row.locator(".status")).to_have_text("Zatwierdzony")
    expect(row).to_contain_text("podpisany na papierze:")
    expect(row).to_contain_text("Nowa Huta")
    expect(row).to_contain_text("Koordynator Reintegracji")  # who entered it

    with panel.expect_response(re.compile(r"/panel/skany/\d+$")) as opened:
        row.get_by_role("link", name=re.compile(r"^Skan formularza \(zdjęcie\)")).click()
    response = opened.value
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert "no-store" in response.headers["cache-control"]
    assert response.body() == scan
    scan_url = panel.url

    # Nobody else gets the scan: a visitor is sent to the login page.
    visitor = new_page()
    visitor.goto(scan_url)
    expect(visitor).to_have_url(re.compile(r"/panel/logowanie\?next="))

    # Ticked "name on the list" on paper: listed at once, with the district.
    visitor.goto(f"{site.base_url}/{REINTEGRATION_SLUG}/sojusznicy")
    ally = visitor.locator("li.ally", has_text=signer)
    expect(ally).to_contain_text("osoba prywatna")
    expect(ally).to_contain_text("dzielnica XVIII Nowa Huta")


# ---- 3. an annex and its endorsement by e-mail ---------------------------------------------


def test_annex_published_signer_endorses_by_emailed_link(site, new_page):
    organisation, signer_email = PARTNERSHIP_PARTNERS[3][0], "partner3@example.org"  # "Szkoła Podstawowa nr 1"
    allies_url = f"{site.base_url}/{PARTNERSHIP_SLUG}/sojusznicy"
    visitor = new_page()
    visitor.goto(allies_url)
    school = visitor.locator("li.ally", has_text=organisation)
    expect(school).to_have_count(1)
    expect(school).not_to_contain_text("poparcie aneksu")  # it never endorsed annex 1

    panel = new_page()
    log_in(panel, site, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    panel.goto(f"{site.base_url}/panel/koalicje/{PARTNERSHIP_SLUG}/")
    panel.get_by_role("link", name="Deklaracja: wersje, aneksy i poparcia").click()
    panel.get_by_role("link", name="Nowy aneks").click()
    expect(panel.locator("h1")).to_have_text("Nowy aneks (szkic)")
    panel.locator("#title").fill("Współpraca ze szkołami")
    panel.locator("#body").fill("Partnerzy zapraszają do wspólnych działań **młodzież szkolną** i jej opiekunów.")
    panel.get_by_role("button", name="Zapisz szkic").click()
    expect(flash(panel)).to_contain_text("Szkic zapisany.")
    expect(panel.locator("h1")).to_have_text("Aneks nr 2: Współpraca ze szkołami")
    expect(panel.locator(".preview-box strong")).to_have_text("młodzież szkolną")

    panel.get_by_role("link", name="Opublikuj…").click()
    expect(panel.locator("main")).to_contain_text("Po opublikowaniu treści nie będzie można zmienić.")
    panel.get_by_role("button", name="Tak, publikuję").click()
    expect(flash(panel)).to_contain_text("Aneks opublikowany. Możesz teraz zaprosić sojuszników i sojuszniczki do jego poparcia.")
    expect(panel.locator("main")).to_contain_text("Nikt jeszcze nie poparł tego aneksu.")
    annex_url = panel.url

    panel.get_by_role("link", name="Zaproś do poparcia aneksu").click()
    partners = len(PARTNERSHIP_PARTNERS)  # every partner signed with an e-mail address
    expect(panel.locator(".notice")).to_have_text(f"Liczba osób, które dostaną zaproszenie: {partners}.")
    panel.get_by_role("button", name="Wyślij zaproszenia").click()
    expect(flash(panel)).to_contain_text(f"Zaproszenia czekają w kolejce do wysłania: {partners}.")

    invitation, link = mailed_link(site, signer_email, "/poparcie/")
    assert invitation["Subject"].startswith("Prośba o poparcie aneksu do deklaracji: Partnerstwo")

    signer = new_page()
    signer.goto(link)
    expect(signer.locator("h1")).to_have_text("Poparcie aneksu do deklaracji")
    expect(signer.locator(".summary dd")).to_have_text(organisation)
    expect(signer.locator("#annex-title")).to_have_text("Aneks nr 2: Współpraca ze szkołami")
    signer.get_by_role("button", name="Popieram aneks").click()
    expect(flash(signer)).to_contain_text("Dziękujemy! Zapisaliśmy Twoje poparcie aneksu.")
    expect(signer.locator("main")).to_contain_text("Twoje poparcie tego aneksu jest zapisane")
    expect(signer.get_by_role("button", name="Popieram aneks")).to_have_count(0)

    # The same visitor, without a session. Their browser may keep the list for max-age seconds
    # (Cache-Control: public); reloading asks again (If-None-Match), and the app's page cache
    # and ETag must already know the endorsement.
    visitor.goto(allies_url)
    visitor.reload()
    expect(school).to_contain_text("poparcie aneksu 2")
    expect(visitor.locator("li.ally", has_text="poparcie aneksu 2")).to_have_count(1)

    panel.goto(annex_url)
    endorsed = panel.locator("section[aria-labelledby=endorsements-title] tbody tr")
    expect(endorsed).to_have_count(1)
    expect(endorsed).to_contain_text(organisation)
    expect(endorsed).to_contain_text("przez link w e-mailu")


# ---- 4. the district filter on the public list --------------------------------------------


def test_district_filter_swaps_results_and_url_keeps_it(site, new_page):
    page = new_page()
    page.goto(f"{site.base_url}/{DEMO_SLUG}/sojusznicy")
    names = page.locator("#allies-results .ally__name")
    expect(page.locator("#allies-results .results-count")).to_contain_text("Wpisy na liście: 8.")
    expect(page.locator(".district-counts")).to_contain_text("XIII Podgórze: 2")
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Dzielnica Krakowa").select_option(label="XIII Podgórze")
    expect(page).to_have_url(re.compile(r"/sasiedztwa/sojusznicy\?.*dzielnica=xiii-podgorze"))
    expect(page.locator("#allies-results .results-count")).to_contain_text("Znalezione wpisy: 2.")
    expect(names).to_have_text(["Zofia Łukasik", "Stowarzyszenie Sąsiedzi z Zabłocia"])  # newest first
    expect(page.locator("#allies-results .ally")).to_contain_text(["dzielnica XIII Podgórze"] * 2)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded instead of swapped"

    page.reload()  # what the address bar says is what the server shows
    expect(page.get_by_label("Dzielnica Krakowa")).to_have_value("xiii-podgorze")
    expect(names).to_have_text(["Zofia Łukasik", "Stowarzyszenie Sąsiedzi z Zabłocia"])
    expect(page.get_by_role("link", name="XIII Podgórze: 2")).to_have_attribute("aria-current", "true")

    page.get_by_label("Dzielnica Krakowa").select_option(label="Wszystkie dzielnice")
    expect(page.locator("#allies-results .results-count")).to_contain_text("Wpisy na liście: 8.")
    assert "dzielnica=xiii-podgorze" not in page.url
