"""Accessibility in a real browser: axe-core on every page and state, keyboard use, 200% zoom.

One site (the demo data plus events in every state, a second coalition with an empty list,
links with valid, used, expired and broken tokens) is built once for the module and served
on loopback; pages are reused per role and language. axe runs only the WCAG 2.1 A/AA rules
and the suite fails on any violation; the table of results is printed after the run.
"""
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD, DEMO_SLUG, seed_demo
from koalicja.events.models import Event, EventStatus, Registration
from koalicja.events.notifications import cancel_url, confirmation_url, ticket_url
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator
from koalicja.profiles.operations import profile_url, submit_profile
from koalicja.signatures.models import Signature, SignatureStatus, SignerKind
from koalicja.signatures.notifications import confirmation_token, withdraw_url
from koalicja.signatures.operations import confirm_signature, sign_declaration
from koalicja.timeutil import utcnow

from .accessibility import assert_accessible
from .support import TIMEOUT_MS, serving, site_app

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# 200% zoom of a 1280 px wide window: 640 CSS pixels across, each drawn with 2 device pixels.
ZOOM_200 = {"viewport": {"width": 640, "height": 900}, "device_scale_factor": 2}
LOCALES = {"pl": "pl-PL", "en": "en-GB", "uk": "uk-UA"}
HOME = f"/{DEMO_SLUG}/"
SIGN = f"/{DEMO_SLUG}/podpisz"
ALLIES = f"/{DEMO_SLUG}/sojusznicy"
EVENTS = f"/{DEMO_SLUG}/wydarzenia"
GALA = f"{EVENTS}/gala-sojusznikow-sasiedztw"
FULL_EVENT = f"{EVENTS}/wizyta-studyjna-wroclaw"
# Unlocking a kiosk signs its account out everywhere, so the tablet has an account of its own.
DOOR_EMAIL, DOOR_PASSWORD = "wejscie@example.org", "haslo-przy-wejsciu-2026"


@dataclass
class Site:
    """The served app and the paths of pages that need data or tokens."""

    base_url: str
    paths: dict = field(default_factory=dict)
    event_ids: dict = field(default_factory=dict)


def _path(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _add_event(coalition, slug, title, **values):
    start = utcnow().replace(microsecond=0) + timedelta(days=14)
    fields = {
        "summary": "Spotkanie sojuszników.",
        "description": "Zapraszamy na **spotkanie**.",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "venue": "Centrum Obywatelskie",
        "address": "ul. Przykładowa 10, Kraków",
        "accessibility": "Wejście bez schodów.",
        "capacity": 20,
        "status": EventStatus.PUBLISHED,
    }
    event = Event(coalition=coalition, slug=slug, title=title, **(fields | values))
    db.session.add(event)
    return event


def _expired_token_for(signature):
    """A confirmation link signed 30 days ago (links work for 7)."""
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 30 * 86400):
        return confirmation_token(signature)


def build_site(app, site):
    with app.app_context():
        seed_demo()
        demo = db.session.scalar(select(Coalition).where(Coalition.slug == DEMO_SLUG))
        empty = Coalition(slug="pusta", name="Koalicja bez sojuszników", description="Nowa koalicja.")
        db.session.add_all([empty, Declaration(coalition=empty, title="Deklaracja", body="Tekst deklaracji.")])
        now = utcnow()
        _add_event(demo, "zapisy-zamkniete", "Spotkanie z zamkniętymi zapisami", registration_closes_at=now - timedelta(days=1))
        _add_event(demo, "zapisy-wkrotce", "Spotkanie z zapisami wkrótce", registration_opens_at=now + timedelta(days=7))
        _add_event(demo, "odwolane", "Odwołane spotkanie", status=EventStatus.CANCELLED, cancelled_at=now)
        past = _add_event(demo, "zeszloroczne", "Zeszłoroczne spotkanie")
        past.starts_at, past.ends_at = now - timedelta(days=300), now - timedelta(days=300, hours=-2)
        draft = _add_event(demo, "szkic", "Szkic spotkania", status=EventStatus.DRAFT)
        db.session.commit()

        declaration = demo.current_declaration
        person = {"kind": "person", "full_name": "Halina Nowa", "email": "halina@example.org", "public_name": True}
        unconfirmed = sign_declaration(declaration, person).signature
        used = sign_declaration(declaration, {**person, "full_name": "Ula Użyta", "email": "ula@example.org"}).signature
        used_token = confirmation_token(used)
        confirm_signature(used_token)
        approved = db.session.scalar(select(Signature).where(Signature.full_name == "Zofia Łukasik"))
        gala = db.session.scalar(select(Event).where(Event.slug == "gala-sojusznikow-sasiedztw"))
        pending = db.session.scalar(select(Registration).where(Registration.code == "DEMO0002"))
        confirmed = db.session.scalar(select(Registration).where(Registration.code == "DEMO0000"))
        site.paths.update(
            confirm="/potwierdz/" + confirmation_token(unconfirmed),
            link_used="/potwierdz/" + used_token,
            link_expired="/potwierdz/" + _expired_token_for(unconfirmed),
            withdraw=_path(withdraw_url(approved)),
            event_confirm=_path(confirmation_url(pending)),
            event_cancel=_path(cancel_url(pending)),
            event_ticket=_path(ticket_url(confirmed)),
        )
        db.session.commit()
        organisation = db.session.scalars(
            select(Signature).where(
                Signature.declaration_id == declaration.id,
                Signature.kind == SignerKind.ORGANISATION,
                Signature.status == SignatureStatus.APPROVED,
            )
        ).first()
        door = create_coordinator(DOOR_EMAIL, "Osoba przy wejściu", DOOR_PASSWORD)
        door.coalitions.append(demo)
        db.session.commit()
        submit_profile(organisation, "https://example.org", "Działamy w sąsiedztwie od 2010 roku.")  # one to moderate
        site.paths.update(profile=_path(profile_url(organisation)), kiosk_closed=f"/kiosk/{gala.id}/podpisz")
        site.event_ids.update(gala=gala.id, draft=draft.id)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("a11y")
    app = site_app(workdir, "a11y")
    with app.app_context():
        db.create_all()
    with serving(app) as base_url:
        site = Site(base_url)
        build_site(app, site)
        yield site
    with app.app_context():
        db.engine.dispose()


def log_in_as_coordinator(page, site, email=DEMO_COORDINATOR_EMAIL, password=DEMO_COORDINATOR_PASSWORD):
    page.goto(site.base_url + "/panel/logowanie")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#submit").click()
    page.wait_for_url("**/panel/podpisy")


def unlock_kiosk(page, site):
    """As a coordinator does on the tablet: the door page's button, which logs the panel out there."""
    page.goto(f"{site.base_url}/panel/wydarzenia/{site.event_ids['gala']}/wejscie")
    page.get_by_role("button", name="Otwórz kiosk podpisów na tym urządzeniu").click()
    page.wait_for_url("**/kiosk/*/podpisz")


@pytest.fixture(scope="module")
def tabs(browser, site):
    """One tab per (role, language, device), opened on first use and kept for the module."""
    opened, contexts = {}, []

    def tab(role="public", language="pl", device=None):
        key = (role, language, device)
        if key not in opened:
            options = {"phone": PHONE, "zoom": ZOOM_200}.get(device, {})
            context = browser.new_context(locale=LOCALES[language], **options)
            context.set_default_timeout(TIMEOUT_MS)
            contexts.append(context)
            page = context.new_page()
            if role == "coordinator":
                log_in_as_coordinator(page, site)
            elif role == "kiosk":
                log_in_as_coordinator(page, site, DOOR_EMAIL, DOOR_PASSWORD)
                unlock_kiosk(page, site)
            opened[key] = page
        return opened[key]

    yield tab
    for context in contexts:
        context.close()


# ---- the pages and their states --------------------------------------------------------
# Each visit takes (page, site) and leaves the page in the state to check.


def go(path):
    def visit(page, site):
        page.goto(site.base_url + site.paths.get(path, path))

    return visit


def submit_empty(path):
    """Send the page's form untouched: the state with every error."""

    def visit(page, site):
        page.goto(site.base_url + path.format(**site.event_ids))
        page.locator("#submit").click()
        page.locator(".error-summary").first.wait_for()

    return visit


def sign_as_organisation_with_errors(page, site):
    page.goto(site.base_url + SIGN)
    page.locator("#kind-1").check()
    page.locator("#submit").click()
    page.locator("#organisation_name-error").wait_for()


def inline_error(page, site):
    """The form after htmx swapped in a field's error as the person left it."""
    page.goto(site.base_url + SIGN)
    page.locator("#email").fill("nie-mail")
    page.locator("#email").press("Tab")
    page.locator("#email-error").wait_for()


def search_without_results(page, site):
    page.goto(site.base_url + ALLIES)
    page.locator("#q").fill("nikogo-takiego")
    expect(page.locator("#allies-results .empty")).to_be_visible()


def login_with_error(page, site):
    page.goto(site.base_url + "/panel/logowanie")
    page.locator("#email").fill(DEMO_COORDINATOR_EMAIL)
    page.locator("#password").fill("to-nie-jest-haslo")
    page.locator("#submit").click()
    page.locator(".error-summary").wait_for()


def panel(path):
    def visit(page, site):
        page.goto(site.base_url + path.format(**site.event_ids))

    return visit


def card_of_unconfirmed_entry(page, site):
    """Reached as a coordinator would: the entry's "Karta osoby" link in the unconfirmed tab."""
    page.goto(f"{site.base_url}/panel/podpisy?stan=unconfirmed")
    page.get_by_role("link", name="Karta osoby").first.click()
    page.wait_for_url("**/panel/osoby/*")


def address_correction_with_errors(page, site):
    card_of_unconfirmed_entry(page, site)
    page.get_by_role("link", name="Popraw adres e-mail").first.click()
    page.locator("#submit").click()
    page.locator(".error-summary").first.wait_for()


def check_in_search(page, site):
    page.goto(f"{site.base_url}/panel/wydarzenia/{site.event_ids['gala']}/wejscie")
    page.locator("#q").fill("Anna")
    page.locator("#check-in-results .check-in-card").first.wait_for()


def checked_in(page, site):
    check_in_search(page, site)
    card = page.locator(".check-in-card", has_text="Anna Wiśniewska")
    card.get_by_role("button").click()
    card.locator("[role=status]").wait_for()
    card.get_by_role("button").click()  # undo: leave the demo as it was
    card.locator("button.button--big").wait_for()


def profile_with_error(page, site):
    page.goto(site.base_url + site.paths["profile"])
    page.locator("#website_url").fill("nie adres strony")
    page.locator("#submit").click()
    page.locator(".error-summary").wait_for()


def wrong_password(page, site):
    page.goto(site.base_url + "/panel/haslo")
    page.locator("#current_password").fill("zle-haslo-123")
    page.locator("#new_password").fill("krotkie")
    page.locator("#submit").click()
    page.locator(".error-summary").wait_for()


PUBLIC = {
    "index (two coalitions)": go("/"),
    "home": go(HOME),
    "sign form": go(SIGN),
    "sign form, errors": submit_empty(SIGN),
    "sign form, organisation errors": sign_as_organisation_with_errors,
    "sign form, inline error (htmx)": inline_error,
    "check your inbox": go(f"/{DEMO_SLUG}/podpisz/sprawdz-poczte"),
    "confirm signature": go("confirm"),
    "thank you": go(f"/{DEMO_SLUG}/dziekujemy"),
    "link problem: broken": go("/potwierdz/zepsuty-link"),
    "link problem: expired": go("link_expired"),
    "link problem: used": go("link_used"),
    "new link": go("/nowy-link"),
    "new link, errors": submit_empty("/nowy-link"),
    "new link sent": go("/nowy-link/wyslany"),
    "allies": go(ALLIES),
    "allies, empty list": go("/pusta/sojusznicy"),
    "allies, search without results": search_without_results,
    "allies, filtered": go(ALLIES + "?kto=ngo&kolejnosc=alfabetycznie"),
    "privacy notice": go(f"/{DEMO_SLUG}/prywatnosc"),
    "events": go(EVENTS),
    "events archive": go(EVENTS + "/archiwum"),
    "event: open": go(GALA),
    "event: full, waiting list": go(FULL_EVENT),
    "event: registration closed": go(EVENTS + "/zapisy-zamkniete"),
    "event: registration not yet open": go(EVENTS + "/zapisy-wkrotce"),
    "event: cancelled": go(EVENTS + "/odwolane"),
    "event: registration form": go(GALA + "/zapisz"),
    "event: registration errors": submit_empty(GALA + "/zapisz"),
    "event: registered": go(GALA + "/zapisano"),
    "event: confirm registration": go("event_confirm"),
    "event: cancel registration": go("event_cancel"),
    "event: ticket": go("event_ticket"),
    "event: broken link": go("/wydarzenia/potwierdz/zepsuty-link"),
    "withdraw: request": go("/wycofaj"),
    "withdraw: request, errors": submit_empty("/wycofaj"),
    "withdraw: broken link": go("/wycofaj/zepsuty-link"),
    "withdraw: confirm": go("withdraw"),
    "withdraw: done": go("/wycofano"),
    "not found": go("/nie-ma-takiej-strony/ani-tej"),
    "login": go("/panel/logowanie"),
    "login, error": login_with_error,
    "version history": go(f"/{DEMO_SLUG}/deklaracja/wersje"),
    "superseded version": go(f"/{DEMO_SLUG}/deklaracja/wersja-1"),
    "home with an annex": go("/partnerstwo-zielony-brzeg/"),
    "annex": go("/partnerstwo-zielony-brzeg/deklaracja/aneks-1"),
    "printable declaration": go("/partnerstwo-zielony-brzeg/deklaracja/druk"),
    "allies by district": go(ALLIES + "?dzielnica=xiii-podgorze"),
    "allies with identifiers' coalition": go("/reintegracja-krakow/sojusznicy"),
    "organisation profile: request a link": go("/profil-organizacji"),
    "organisation profile: request a link, errors": submit_empty("/profil-organizacji"),
    "organisation profile: form": go("profile"),
    "organisation profile: form, errors": profile_with_error,
    "kiosk closed": go("kiosk_closed"),
}

COORDINATOR = {
    "queue: waiting": panel("/panel/podpisy"),
    "queue: unconfirmed": panel("/panel/podpisy?stan=unconfirmed"),
    "queue: approved": panel("/panel/podpisy?stan=approved"),
    "queue: rejected (empty)": panel("/panel/podpisy?stan=rejected"),
    "queue: search with hits in another tab": panel("/panel/podpisy?q=LUKASIK"),
    "person's card": card_of_unconfirmed_entry,
    "correct an address, errors": address_correction_with_errors,
    "panel events": panel("/panel/wydarzenia/"),
    "panel event": panel("/panel/wydarzenia/{gala}"),
    "panel event, filtered": panel("/panel/wydarzenia/{gala}?stan=pending"),
    "panel event, draft": panel("/panel/wydarzenia/{draft}"),
    "panel new event": panel("/panel/wydarzenia/nowe"),
    "panel new event, errors": submit_empty("/panel/wydarzenia/nowe"),
    "panel edit event": panel("/panel/wydarzenia/{gala}/edycja"),
    "panel message": panel("/panel/wydarzenia/{gala}/wiadomosc"),
    "panel message, errors": submit_empty("/panel/wydarzenia/{gala}/wiadomosc"),
    "panel add a person, errors": submit_empty("/panel/wydarzenia/{gala}/dodaj-osobe"),
    "personal data export": panel("/panel/dane-osobowe/"),
    "personal data export, errors": submit_empty("/panel/dane-osobowe/"),
    "password": panel("/panel/haslo"),
    "password, errors": wrong_password,
    "coalitions": panel("/panel/koalicje/"),
    "coalition page": panel(f"/panel/koalicje/{DEMO_SLUG}/"),
    "coalition settings": panel(f"/panel/admin/koalicje/{DEMO_SLUG}/ustawienia"),
    "new coalition, errors": submit_empty("/panel/admin/koalicje/nowa"),
    "accounts": panel("/panel/admin/koordynatorzy"),
    "invite a coordinator, errors": submit_empty("/panel/admin/koordynatorzy/nowy"),
    "audit log": panel("/panel/admin/dziennik"),
    "queue with a duplicate organisation": panel("/panel/podpisy?koalicja=reintegracja-krakow"),
    "declaration versions (panel)": panel(f"/panel/koalicje/{DEMO_SLUG}/deklaracja"),
    "new version (panel)": panel(f"/panel/koalicje/{DEMO_SLUG}/deklaracja/nowa-wersja"),
    "annex with endorsements (panel)": panel("/panel/koalicje/partnerstwo-zielony-brzeg/deklaracja/aneks-1"),
    "annex invitation (panel)": panel("/panel/koalicje/partnerstwo-zielony-brzeg/deklaracja/aneks-1/zaproszenie"),
    "correct or delete an entry": panel("/panel/podpisy/1/edycja"),
    "paper signature": panel(f"/panel/koalicje/{DEMO_SLUG}/podpis-papierowy"),
    "paper signature, errors": submit_empty(f"/panel/koalicje/{DEMO_SLUG}/podpis-papierowy"),
    "announcements": panel(f"/panel/koalicje/{DEMO_SLUG}/komunikaty"),
    "announcements, errors": submit_empty(f"/panel/koalicje/{DEMO_SLUG}/komunikaty"),
    "organisation profiles to moderate": panel(f"/panel/koalicje/{DEMO_SLUG}/profile-organizacji"),
    "funder's report": panel(f"/panel/koalicje/{DEMO_SLUG}/sprawozdanie"),
    "funder's report, wrong period": panel(f"/panel/koalicje/{DEMO_SLUG}/sprawozdanie?od=2026-12-31&do=2026-01-01"),
    "walk-in": panel("/panel/wydarzenia/{gala}/wejscie/dopisz"),
    "walk-in, errors": submit_empty("/panel/wydarzenia/{gala}/wejscie/dopisz"),
}

# A tablet that a coordinator unlocked at the gala's door (a browser of its own: unlocking logs the panel out).
KIOSK = {
    "kiosk: sign form": panel("/kiosk/{gala}/podpisz"),
    "kiosk: thank you": panel("/kiosk/{gala}/dziekujemy"),  # it returns to the form by itself after 8 s
}

PHONE_PAGES = {
    "check-in (phone)": panel("/panel/wydarzenia/{gala}/wejscie"),
    "check-in, search (phone)": check_in_search,
    "check-in, checked in (phone)": checked_in,
    "check-in, QR code (phone)": panel("/panel/wydarzenia/{gala}/wejscie?kod=DEMO0001"),
    "check-in, unknown code (phone)": panel("/panel/wydarzenia/{gala}/wejscie?kod=NIEMA"),
}

# The pages most people see, checked in English and Ukrainian as well.
MAIN_PUBLIC = [
    "home", "sign form", "sign form, errors", "sign form, inline error (htmx)", "check your inbox", "confirm signature",
    "thank you", "link problem: expired", "allies", "allies, search without results", "privacy notice", "events",
    "event: open", "event: full, waiting list", "event: registration errors", "withdraw: confirm", "login, error",
]
MAIN_COORDINATOR = ["queue: waiting", "panel event", "panel new event, errors"]


@pytest.mark.parametrize("name", list(PUBLIC))
def test_public_page_has_no_wcag_violations(tabs, site, name):
    page = tabs("public")
    PUBLIC[name](page, site)
    assert_accessible(page, name)


@pytest.mark.parametrize("name", list(COORDINATOR))
def test_coordinator_page_has_no_wcag_violations(tabs, site, name):
    page = tabs("coordinator")
    COORDINATOR[name](page, site)
    assert_accessible(page, name)


@pytest.mark.parametrize("name", list(PHONE_PAGES))
def test_check_in_on_a_phone_has_no_wcag_violations(tabs, site, name):
    page = tabs("coordinator", device="phone")
    PHONE_PAGES[name](page, site)
    assert_accessible(page, name)


@pytest.mark.parametrize("name", list(KIOSK))
def test_kiosk_page_has_no_wcag_violations(tabs, site, name):
    page = tabs("kiosk")
    KIOSK[name](page, site)
    assert_accessible(page, name)


@pytest.mark.parametrize("language", ["en", "uk"])
def test_main_pages_have_no_wcag_violations_in_other_languages(tabs, site, language):
    failures = []
    for role, names, pages in (("public", MAIN_PUBLIC, PUBLIC), ("coordinator", MAIN_COORDINATOR, COORDINATOR)):
        page = tabs(role, language)
        for name in names:
            pages[name](page, site)
            assert page.evaluate("document.documentElement.lang") == language, f"{name} is not in {language}"
            try:
                assert_accessible(page, name)
            except AssertionError as failure:
                failures.append(str(failure))
    assert not failures, "\n\n".join(failures)


# ---- 200% zoom ---------------------------------------------------------------------------

# Everything that sticks out of the viewport sideways, outside containers that scroll on purpose.
OVERFLOW_SCRIPT = """() => {
  const width = document.documentElement.clientWidth;
  const hidden = '.visually-hidden, .hp, .skip-link, [hidden]';
  const scrollsSideways = el => getComputedStyle(el).overflowX === 'auto' || getComputedStyle(el).overflowX === 'scroll';
  const insideScroller = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (scrollsSideways(p)) return true;
    return false;
  };
  const describe = (el, r) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
    + (r ? ` [${Math.round(r.left)}..${Math.round(r.right)}]` : '');
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest(hidden) || !el.getClientRects().length) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if ((r.right > width + 1 || r.left < -1) && !insideScroller(el)) out.push(describe(el, r));
    const control = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);  // their text scrolls inside them
    const clips = ['hidden', 'clip'].includes(getComputedStyle(el).overflowX);
    if (!control && clips && el.scrollWidth > el.clientWidth + 1) out.push(describe(el) + ' cuts its content');
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, out: out.slice(0, 10)};
}"""


@pytest.mark.parametrize(("role", "language"), [("public", "pl"), ("public", "uk"), ("coordinator", "pl")])
def test_pages_reflow_at_200_percent_zoom(tabs, site, role, language):
    """WCAG 1.4.10: at 200% zoom (640 CSS px across) nothing scrolls sideways or is cut off.

    Ukrainian too: its words are longer than the Polish ones the layout was drawn for."""
    page = tabs(role, language, device="zoom")
    pages = PUBLIC if role == "public" else COORDINATOR | PHONE_PAGES
    problems = []
    for name, visit in pages.items():
        if name.startswith("login") and role == "coordinator":
            continue
        visit(page, site)
        report = page.evaluate(OVERFLOW_SCRIPT)
        if report["scrollWidth"] > report["width"] or report["out"]:
            problems.append(f"{name}: scrollWidth {report['scrollWidth']} > {report['width']}: {report['out']}")
    assert not problems, "\n".join(problems)


# WCAG 1.4.12: what a reader's own style sheet may set, and the page must survive.
TEXT_SPACING = (
    "* { line-height: 1.5 !important; letter-spacing: 0.12em !important; word-spacing: 0.16em !important; }"
    " p { margin-bottom: 2em !important; }"
)


def test_320_px_with_text_spacing_nothing_scrolls_sideways(make_context, site):
    """Long e-mail addresses and links wrap; the queue's status tabs wrap onto more lines."""
    # The spacing comes as an injected style sheet, like a reader's own, past the page's CSP.
    page = make_context(viewport={"width": 320, "height": 640}, bypass_csp=True).new_page()
    log_in_as_coordinator(page, site)
    problems = []
    for path in (HOME, "/reintegracja-krakow/", "/partnerstwo-zielony-brzeg/", SIGN, "/panel/podpisy"):
        page.goto(site.base_url + path)
        if path == SIGN:
            page.locator("#kind-1").check()  # the organisation's questions
        page.add_style_tag(content=TEXT_SPACING)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > 320:
            problems.append(f"{path}: {width} px wide: {page.evaluate(OVERFLOW_SCRIPT)['out']}")
    tabs = page.locator(".tabs")
    assert tabs.evaluate("tabs => tabs.scrollWidth <= tabs.clientWidth"), "the status tabs hide some of themselves"
    assert not problems, "\n".join(problems)


# ---- keyboard ----------------------------------------------------------------------------

FOCUS_SCRIPT = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  return {id: el.id, tag: el.tagName.toLowerCase(), type: el.type || '', text: (el.textContent || '').trim().slice(0, 40),
          focusVisible: el.matches(':focus-visible'), outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2};
}"""


def focused(page):
    return page.evaluate(FOCUS_SCRIPT)


def tab_to(page, element_id, limit=40):
    """Press Tab until the element with this id has focus; each stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = focused(page)
        assert state["focusVisible"] and state["outline"], f"focus is not visible on {state}"
        if state["id"] == element_id:
            return
    raise AssertionError(f"#{element_id} was not reached with Tab; focus is on {focused(page)}")


def test_sign_form_by_keyboard_alone(make_context, site):
    """Tab through the form, type, tick boxes with Space, submit with Enter: no mouse at all."""
    page = make_context().new_page()
    page.goto(site.base_url + SIGN)
    skip = page.locator(".skip-link")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    assert focused(page)["outline"], "the skip link shows no focus"

    tab_to(page, "kind-0")  # the first choice of the radio group; the group is one tab stop
    tab_to(page, "full_name")
    page.keyboard.type("Lucyna Klawiaturowa")
    page.keyboard.press("Tab")
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type("to-nie-adres")
    with page.expect_response(re.compile(r"/podpisz/pole/email$")):
        page.keyboard.press("Tab")
    # htmx swapped the e-mail field with its error; focus stayed on the next field.
    error = page.locator("#email-error")
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#email")).to_have_attribute("aria-describedby", re.compile(r"\bemail-error\b"))
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#city")).to_be_focused()
    page.keyboard.type("Kraków")
    expect(page.locator("#city")).to_have_value("Kraków")

    # Back to the e-mail (Shift+Tab) to correct it; the error goes and focus moves on again.
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("lucyna@example.org")
    with page.expect_response(re.compile(r"/podpisz/pole/email$")):
        page.keyboard.press("Tab")
    expect(page.locator("#email-error")).to_have_count(0)
    expect(page.locator("#city")).to_be_focused()

    tab_to(page, "public_name")
    page.keyboard.press("Space")
    tab_to(page, "accept_declaration")
    page.keyboard.press("Space")
    tab_to(page, "accept_privacy")
    page.keyboard.press("Space")
    for box in ("public_name", "accept_declaration", "accept_privacy"):
        expect(page.locator(f"#{box}")).to_be_checked()
    tab_to(page, "submit")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/podpisz/sprawdz-poczte$"))
    expect(page.locator("h1")).to_have_text("Sprawdź pocztę")


def test_errors_are_announced_and_focus_goes_to_the_summary(make_context, site):
    """After a failed submit the summary (role=alert) has focus; each link leads to its field."""
    page = make_context().new_page()
    page.goto(site.base_url + SIGN)
    page.locator("#full_name").focus()
    page.keyboard.press("Enter")  # Enter in a text field submits the form
    summary = page.locator(".error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    expect(page.locator("[role=alert]")).to_have_count(1)  # announced once: the fields' errors are read with them
    for field_id in ("full_name", "email", "accept_declaration", "accept_privacy"):
        control = page.locator(f"#{field_id}")
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-error\b"))
        expect(page.locator(f"#{field_id}-error")).to_be_visible()
    # The first link in the summary takes keyboard focus to the first wrong field.
    page.keyboard.press("Tab")
    expect(summary.get_by_role("link").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#full_name")).to_be_focused()
    # On a small screen the field reached from the summary comes with its label in view.
    page.set_viewport_size({"width": 320, "height": 480})
    summary.get_by_role("link").nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#email")).to_be_focused()
    assert page.locator("label[for=email]").bounding_box()["y"] >= 0, "the label of the field is scrolled out of view"


def test_a_decision_by_keyboard_is_announced_leaves_focus_on_the_row_and_can_be_undone(tabs, site):
    """Enter on "Zatwierdź", then Enter again: the second press meets the row's status, not "Odrzuć"."""
    page = tabs("coordinator")
    page.goto(site.base_url + "/panel/podpisy")
    announcement = page.locator("#queue-announcement")
    expect(announcement).to_have_attribute("role", "status")
    expect(announcement).to_be_empty()
    row_id = page.locator("tbody tr").first.get_attribute("id")
    row = page.locator(f"#{row_id}")
    status = row.locator(".status")
    posts = []
    page.on("request", lambda request: posts.append(urlsplit(request.url).path) if request.method == "POST" else None)

    tab_to(page, row_id.replace("signature-", "select-"))
    for _ in range(5):  # past the row's links to its first button
        page.keyboard.press("Tab")
        if focused(page)["text"] == "Zatwierdź":
            break
    else:
        raise AssertionError(f"Tab did not reach the row's Zatwierdź; focus is on {focused(page)}")
    with page.expect_response(re.compile(r"/decyzja$")):
        page.keyboard.press("Enter")
    expect(status).to_have_text("Zatwierdzony")
    expect(status).to_be_focused()
    expect(announcement).to_contain_text("Zatwierdzono:")
    page.keyboard.press("Enter")

    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name=re.compile("^Cofnij"))).to_be_focused()
    with page.expect_response(re.compile(r"/cofnij$")):
        page.keyboard.press("Enter")
    expect(status).to_have_text("Czeka na decyzję")
    expect(status).to_be_focused()
    expect(announcement).to_contain_text("Decyzja cofnięta:")
    expect(row.get_by_role("button", name=re.compile("^Cofnij"))).to_have_count(0)
    number = row_id.removeprefix("signature-")
    assert posts == [f"/panel/podpisy/{number}/decyzja", f"/panel/podpisy/{number}/cofnij"]
    assert_accessible(page, "queue: a decision undone")


def test_check_in_by_keyboard_keeps_focus_on_the_card(tabs, site):
    """After htmx swaps the card, focus lands on its new state instead of falling back to the page."""
    page = tabs("coordinator")
    check_in_search(page, site)
    card = page.locator(".check-in-card", has_text="Anna Wiśniewska")
    card.get_by_role("button", name="Jest obecna/y").focus()
    page.keyboard.press("Enter")
    expect(card.locator("[role=status]")).to_be_focused()
    expect(card.locator("[role=status]")).to_contain_text("Obecna/y od")
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Cofnij")).to_be_focused()
    page.keyboard.press("Enter")
    expect(card.get_by_role("button", name="Jest obecna/y")).to_be_focused()
