"""Events in a real browser: the waiting list through e-mail links, check-in at the door on a phone, no-JS forms."""
import re
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD
from koalicja.events.models import Event
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.mail.operations import deliver_due

from ..events.conftest import event_url, load_event, make_event
from .test_flows import assert_same_document, log_in, mark_document

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CHECK_INBOX = re.compile(r"/sasiedztwa/wydarzenia/gala/zapisano$")


def link_path(message, kind):
    """The path of the /wydarzenia/<kind>/<token> link in a mail's plain-text part."""
    body = message.get_body(("plain",)).get_content()
    match = re.search(rf"https?://\S+/wydarzenia/{kind}/\S+", body)
    assert match, body
    return urlsplit(match.group(0)).path


def deliver(app, smtp_server, expected):
    """Send what is queued; returns the new messages by recipient."""
    before = len(smtp_server.messages)
    with app.app_context():
        assert deliver_due().sent == expected
    return {message["To"].addresses[0].addr_spec: message for message in smtp_server.messages[before:]}


def fill_registration(page, name, email):
    page.locator("#full_name").fill(name)
    page.locator("#email").fill(email)
    page.locator("#accept_privacy").check()


def assert_no_horizontal_scroll(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: scrollWidth {widths[0]} > innerWidth {widths[1]}"


def test_waiting_list_confirm_then_offered_place_after_cancellation(app, live_server, make_context, coalition, smtp_server):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        register(load_event(event_id), {"full_name": "Jan Żak", "email": "jan@example.org"})

    waiting = make_context().new_page()
    waiting.goto(live_server + event_url())
    expect(waiting.locator(".registration .notice[role=status]")).to_contain_text("Wszystkie miejsca są zajęte")
    waiting.get_by_role("link", name="Zapisz się na listę oczekujących").click()  # the form's own page
    expect(waiting.locator(".registration .notice[role=status]")).to_contain_text("Wszystkie miejsca są zajęte")
    submit = waiting.locator("#submit")
    expect(submit).to_have_text("Zapisz się na listę oczekujących")
    fill_registration(waiting, "Zofia Łukasik", "zofia@example.org")
    submit.click()
    expect(waiting).to_have_url(CHECK_INBOX)
    expect(waiting.locator("h1")).to_have_text("Sprawdź pocztę")
    expect(waiting.locator("main")).to_contain_text("zofia@example.org")

    mails = deliver(app, smtp_server, 2)
    assert mails["zofia@example.org"]["Subject"] == "Potwierdź zapis: Gala Sojuszników Sąsiedztw"
    assert "miejsce w kolejce: 1" in mails["zofia@example.org"].get_body(("plain",)).get_content()
    waiting.goto(live_server + link_path(mails["zofia@example.org"], "potwierdz"))
    waiting.get_by_role("button", name="Potwierdzam").click()
    expect(waiting.locator("h1")).to_have_text("Jesteś na liście oczekujących")
    expect(waiting.locator(".lead")).to_contain_text("Twoje miejsce w kolejce: 1.")

    # Jan gives up his place through the link in his own e-mail, in his own browser.
    holder = make_context().new_page()
    holder.goto(live_server + link_path(mails["jan@example.org"], "rezygnacja"))
    holder.get_by_role("button", name="Tak, rezygnuję").click()
    expect(holder.locator("[role=status]")).to_contain_text("Zapis jest odwołany")

    [offer] = deliver(app, smtp_server, 1).values()
    assert offer["To"] == "Zofia Łukasik <zofia@example.org>"
    assert offer["Subject"].startswith("Zwolniło się miejsce")
    waiting.goto(live_server + link_path(offer, "potwierdz"))
    expect(waiting.locator("main")).to_contain_text("Zwolniło się dla Ciebie miejsce")
    waiting.get_by_role("button", name="Potwierdzam").click()
    expect(waiting.locator("h1")).to_have_text("Dziękujemy! Masz miejsce.")

    [ticket] = deliver(app, smtp_server, 1).values()
    assert ticket["To"] == "Zofia Łukasik <zofia@example.org>"
    assert ticket["Subject"] == "Do zobaczenia: Gala Sojuszników Sąsiedztw"


def test_check_in_on_a_phone(app, live_server, make_context, demo):
    with app.app_context():
        gala_id = db.session.scalar(select(Event.id).where(Event.slug == "gala-sojusznikow-sasiedztw"))
    page = make_context(**PHONE).new_page()
    log_in(page, live_server, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    page.goto(f"{live_server}/panel/wydarzenia/{gala_id}/wejscie")
    expect(page.locator("h1")).to_contain_text("Wejście: Gala Sojuszników Sąsiedztw")
    expect(page.locator("#attended-count")).to_have_text("Obecne osoby (z towarzyszącymi): 0")
    assert_no_horizontal_scroll(page)
    mark_document(page)

    page.locator("#q").tap()
    page.locator("#q").press_sequentially("Anna")
    card = page.locator(".check-in-card", has_text="Anna Wiśniewska")
    expect(card).to_have_count(1)
    expect(page.locator("#check-in-results .check-in-card")).to_have_count(1)
    card_id = card.get_attribute("id")
    assert re.fullmatch(r"check-in-\d+", card_id)
    expect(card).to_contain_text("Dieta wegetariańska.")
    assert_no_horizontal_scroll(page)

    card.get_by_role("button", name="Jest obecna/y").tap()
    swapped = page.locator(f"#{card_id}")
    expect(swapped.locator("[role=status]")).to_contain_text("Obecna/y od")
    expect(swapped).to_have_class(re.compile(r"\bcheck-in-card--in\b"))
    expect(swapped.get_by_role("button", name="Jest obecna/y")).to_have_count(0)
    expect(swapped.get_by_role("button", name="Cofnij")).to_be_visible()
    # Anna comes with one accompanying person: the counter above counts both.
    expect(page.locator("#attended-count")).to_have_text("Obecne osoby (z towarzyszącymi): 2")
    assert_same_document(page)
    expect(page.locator("#q")).to_have_value("Anna")
    assert_no_horizontal_scroll(page)

    # The QR code on a ticket opens the page with ?kod=: the registration is shown at once.
    page.goto(f"{live_server}/panel/wydarzenia/{gala_id}/wejscie?kod=DEMO0001")
    expect(page.locator("#check-in-results .check-in-card")).to_have_count(1)
    expect(page.locator("#check-in-results .check-in-card__name")).to_have_text("Jan Żak")
    expect(page.get_by_role("button", name="Jest obecna/y")).to_be_visible()
    assert_no_horizontal_scroll(page)


def test_registration_form_works_without_javascript(app, live_server, make_context, coalition):
    make_event(app, max_companions=1)
    page = make_context(java_script_enabled=False).new_page()
    page.goto(live_server + event_url())
    page.get_by_role("link", name="Zapisz się").click()
    page.locator("#companions").fill("3")
    page.locator("#submit").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Popraw zaznaczone pola")
    expect(summary.locator("li")).to_have_count(4)
    expect(page.locator("#full_name-error")).to_contain_text("Wpisz imię i nazwisko.")
    expect(page.locator("#email-error")).to_contain_text("Wpisz adres e-mail.")
    expect(page.locator("#companions-error")).to_contain_text("Możesz zgłosić najwyżej 1 os. towarzyszących.")
    expect(page.locator("#accept_privacy-error")).to_contain_text("Bez tej zgody nie możemy przyjąć zapisu.")
    expect(page.locator("#full_name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#companions")).to_have_value("3")  # answers survive the round trip

    fill_registration(page, "Jan Żak", "jan@example.org")
    page.locator("#companions").fill("1")
    page.locator("#submit").click()
    expect(page).to_have_url(CHECK_INBOX)
    expect(page.locator("h1")).to_have_text("Sprawdź pocztę")
    expect(page.locator("main")).to_contain_text("jan@example.org")
