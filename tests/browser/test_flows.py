"""The main paths in a real browser: htmx, plain forms without JavaScript, the coordinator's queue."""
import re
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from koalicja.coordinators.models import Coordinator
from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD, DEMO_SLUG
from koalicja.extensions import db
from koalicja.mail.operations import deliver_due
from koalicja.signatures.models import Signature
from koalicja.signatures.notifications import confirmation_token
from koalicja.signatures.operations import confirm_signature, decide_signature, sign_declaration

from ..conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, current_declaration, link_in

SIGN_PATH = "/sasiedztwa/podpisz"
ALLIES_PATH = "/sasiedztwa/sojusznicy"
QUEUE_PATH = "/panel/podpisy"


def log_in(page, base_url, email, password):
    page.goto(f"{base_url}/panel/logowanie")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#submit").click()
    expect(page).to_have_url(f"{base_url}{QUEUE_PATH}")


def mark_document(page):
    """A flag that only survives as long as this document: a full page load drops it."""
    page.evaluate("window.__sameDocument = true")


def assert_same_document(page):
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def fill_person(page, name="Zofia Łukasik", email="zofia@example.org"):
    page.locator("#full_name").fill(name)
    page.locator("#email").fill(email)
    page.locator("#city").fill("Kraków")
    page.locator("#accept_declaration").check()
    page.locator("#accept_privacy").check()
    page.locator("#public_name").check()


def test_sign_confirm_approve_and_find_on_public_list(app, live_server, make_context, coalition, coordinator, smtp_server):
    signer = make_context().new_page()
    signer.goto(live_server + SIGN_PATH)
    expect(signer.locator("#kind-0")).to_be_checked()
    fill_person(signer)
    signer.locator("#submit").click()
    expect(signer).to_have_url(re.compile(r"/sasiedztwa/podpisz/sprawdz-poczte$"))
    expect(signer.locator("h1")).to_have_text("Sprawdź pocztę")
    expect(signer.locator("main")).to_contain_text("zofia@example.org")

    with app.app_context():
        assert deliver_due().sent == 1
    [mail] = smtp_server.messages
    assert mail["To"] == "Zofia Łukasik <zofia@example.org>"
    signer.goto(live_server + urlsplit(link_in(mail)).path)
    signer.get_by_role("button", name="Potwierdzam").click()
    expect(signer).to_have_url(re.compile(r"/sasiedztwa/dziekujemy$"))
    expect(signer.locator("h1")).to_have_text("Dziękujemy! Podpis jest potwierdzony.")

    panel = make_context().new_page()
    log_in(panel, live_server, COORDINATOR_EMAIL, COORDINATOR_PASSWORD)
    row = panel.locator("tr", has_text="Zofia Łukasik")
    expect(row).to_have_count(1)
    row_id = row.get_attribute("id")
    assert re.fullmatch(r"signature-\d+", row_id)
    expect(row).to_contain_text("Czeka na decyzję")
    mark_document(panel)
    row.get_by_role("button", name="Zatwierdź", exact=True).click()
    swapped = panel.locator(f"#{row_id}")
    expect(swapped.locator(".status"), "the row should swap in place, showing its new status").to_have_text(
        "Zatwierdzony"
    )
    expect(swapped.get_by_role("button", name="Zatwierdź", exact=True)).to_have_count(0)
    assert panel.url == f"{live_server}{QUEUE_PATH}"
    assert_same_document(panel)
    # Keyboard focus lands on the row's new status, never on its remaining action (Enter twice must not reject).
    expect(swapped.locator(".status")).to_be_focused()
    # The tab counts refresh themselves (queueChanged, 1.5 s later); the decided row stays in view.
    expect(panel.locator("#queue-tabs a", has_text="Zatwierdzone").locator(".badge")).to_have_text("1")
    expect(swapped.locator(".status")).to_have_text("Zatwierdzony")
    assert_same_document(panel)

    signer.goto(live_server + ALLIES_PATH)
    expect(signer.locator("#allies-results .ally__name")).to_have_text(["Zofia Łukasik"])


def test_inline_validation_shows_error_next_to_field(live_server, page, coalition):
    page.goto(live_server + SIGN_PATH)
    mark_document(page)
    page.locator("#email").fill("nie-mail")
    with page.expect_response(re.compile(r"/podpisz/pole/email$")) as validation:
        page.locator("#email").press("Tab")
    assert validation.value.status == 200
    error = page.locator("#email-error")
    expect(error).to_contain_text("To nie wygląda na adres e-mail")
    expect(page.locator("#field-email")).to_have_class(re.compile(r"\bfield--error\b"))
    email = page.locator("#email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", re.compile(r"\bemail-error\b"))
    expect(email).to_have_value("nie-mail")
    # Nothing was submitted: same page, no error summary, other fields untouched.
    assert page.url == live_server + SIGN_PATH
    assert_same_document(page)
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator("#full_name-error")).to_have_count(0)

    # Correcting the address clears the error the same way.
    page.locator("#email").fill("zofia@example.org")
    with page.expect_response(re.compile(r"/podpisz/pole/email$")):
        page.locator("#email").press("Tab")
    expect(page.locator("#email-error")).to_have_count(0)
    expect(page.locator("#email")).not_to_have_attribute("aria-invalid", "true")


def test_active_search_narrows_the_allies_list(live_server, page, demo):
    page.goto(f"{live_server}/{DEMO_SLUG}/sojusznicy")
    names = page.locator("#allies-results .ally__name")
    expect(names).to_have_count(8)
    mark_document(page)

    page.locator("#q").fill("zak")  # without the Polish letter, as people often type
    expect(names).to_have_text(["Jan Żak"])
    expect(page).to_have_url(re.compile(r"[?&]q=zak(&|$)"))
    expect(page.locator(".results-count")).to_contain_text("Znalezione wpisy: 1.")

    page.locator("#q").fill("")
    expect(names).to_have_count(8)
    page.locator("#kto").select_option(label="Samorząd")
    expect(names).to_have_text(["Rada Dzielnicy XIII"])
    expect(page).to_have_url(re.compile(r"[?&]kto="))
    assert_same_document(page)


def test_sign_form_works_without_javascript(live_server, make_context, coalition):
    page = make_context(java_script_enabled=False).new_page()
    page.goto(live_server + SIGN_PATH)
    page.locator("#submit").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Popraw zaznaczone pola")
    expect(summary.locator("li")).to_have_count(4)
    expect(page.locator("#full_name-error")).to_contain_text("Wpisz imię i nazwisko.")
    expect(page.locator("#email-error")).to_contain_text("Wpisz adres e-mail.")
    expect(page.locator("#accept_declaration-error")).to_be_visible()
    expect(page.locator("#accept_privacy-error")).to_be_visible()
    expect(page.locator("#full_name")).to_have_attribute("aria-invalid", "true")

    fill_person(page, name="Jan Żak", email="jan@example.org")
    page.locator("#submit").click()
    expect(page).to_have_url(re.compile(r"/sasiedztwa/podpisz/sprawdz-poczte$"))
    expect(page.locator("h1")).to_have_text("Sprawdź pocztę")


def test_bulk_approve_in_the_queue(live_server, page, demo):
    log_in(page, live_server, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    # The demo administrator serves three coalitions; the queue narrows to one with its select.
    page.get_by_label("Koalicja", exact=True).select_option(label="Koalicja na rzecz sąsiedztw")
    page.get_by_role("button", name="Szukaj").click()
    expect(page).to_have_url(re.compile(r"koalicja=sasiedztwa"))
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Zaznacz: Michał Wróbel").check()
    page.get_by_label("Zaznacz: Agnieszka Śliwa").check()
    page.get_by_role("button", name="Zatwierdź zaznaczone").click()

    expect(page.locator(".flash--success")).to_have_text("Zatwierdzone wpisy: 2.")
    expect(page.locator(".flash--error")).to_have_count(0)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Barbara Sowa")
    expect(page.locator("#queue-tabs a", has_text="Zatwierdzone").locator(".badge")).to_have_text("11")


def test_organisation_signs_in_ukrainian_and_hears_back_in_ukrainian(
    app, live_server, make_context, coalition, coordinator, smtp_server
):
    """Olena switches the page to Ukrainian, signs for her group; every e-mail she gets is Ukrainian."""
    signer = make_context().new_page()
    signer.goto(live_server + SIGN_PATH)
    signer.get_by_role("navigation", name="Język").get_by_role("link", name="Українська").click()
    expect(signer).to_have_url(live_server + SIGN_PATH)
    expect(signer.locator("html")).to_have_attribute("lang", "uk")
    expect(signer.locator("h1")).to_have_text("Підписати декларацію")

    organisation_fields = signer.locator(".group--organisation")
    expect(organisation_fields).to_be_hidden()
    signer.get_by_label("від імені організації або установи").check()
    expect(organisation_fields).to_be_visible()
    signer.get_by_label("Ім’я та прізвище", exact=True).fill("Olena Kovalenko")
    signer.get_by_label("Адреса e-mail").fill("olena@ogrodki.example.org")
    signer.get_by_label("Назва організації або установи").fill("Grupa Sąsiedzka Ogródki")
    signer.get_by_label("Ваша посада в організації").fill("koordynatorka")
    signer.get_by_label("Тип організації").select_option(label="Неформальна група")
    signer.get_by_label("Заявляю, що можу підписати декларацію від імені цієї організації.").check()
    expect(signer.get_by_label("Назву організації можна показати в публічному списку союзників і союзниць.")).to_be_checked()
    signer.locator("#public_name").check()
    signer.locator("#accept_declaration").check()
    signer.locator("#accept_privacy").check()
    signer.get_by_role("button", name="Підписую декларацію").click()
    expect(signer).to_have_url(re.compile(r"/sasiedztwa/podpisz/sprawdz-poczte$"))
    expect(signer.locator("h1")).to_have_text("Перевірте пошту")

    with app.app_context():
        assert deliver_due().sent == 1
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Підтвердьте підпис під декларацією: Koalicja na rzecz sąsiedztw"
    signer.goto(live_server + urlsplit(link_in(mail)).path)
    signer.get_by_role("button", name="Підтверджую").click()
    expect(signer.locator("h1")).to_have_text("Дякуємо! Підпис підтверджено.")

    panel = make_context().new_page()  # the coordinator works in Polish
    log_in(panel, live_server, COORDINATOR_EMAIL, COORDINATOR_PASSWORD)
    row = panel.locator("tr", has_text="Olena Kovalenko")
    expect(row).to_contain_text("koordynatorka, Grupa Sąsiedzka Ogródki")
    expect(row).to_contain_text("Grupa nieformalna")
    row.get_by_role("button", name="Zatwierdź", exact=True).click()
    expect(panel.locator("tr", has_text="Olena Kovalenko").locator(".status")).to_have_text("Zatwierdzony")

    with app.app_context():
        assert deliver_due().sent == 1
    approved = smtp_server.messages[-1]
    assert approved["Subject"] == "Вітаємо серед союзників і союзниць: Koalicja na rzecz sąsiedztw"
    assert "Ваш підпис під декларацією «Deklaracja współpracy» затверджено." in approved.get_body(("plain",)).get_content()

    signer.goto(live_server + ALLIES_PATH)
    ally = signer.locator("#allies-results .ally")
    expect(ally.locator(".ally__name")).to_have_text(["Grupa Sąsiedzka Ogródki"])
    expect(ally.locator(".ally__meta")).to_have_text("Неформальна група · представляє: Olena Kovalenko")


def test_withdraw_a_signature_through_the_emailed_link(app, live_server, make_context, coalition, coordinator, smtp_server):
    """The link in the approval e-mail takes the ally off the list and erases the data."""
    with app.app_context():
        data = {"kind": "person", "full_name": "Jan Żak", "email": "jan@example.org", "public_name": True}
        signature = sign_declaration(current_declaration(), data).signature
        confirm_signature(confirmation_token(signature))
        decide_signature(signature, "approve", db.session.get(Coordinator, coordinator))
        assert deliver_due().sent == 2
    approved = smtp_server.messages[-1]
    assert approved["Subject"].startswith("Witamy w gronie sojuszników")
    withdraw_link = re.search(r"http://koalicja\.test/wycofaj/\S+", approved.get_body(("plain",)).get_content()).group(0)

    page = make_context().new_page()
    page.goto(live_server + ALLIES_PATH)
    expect(page.locator("#allies-results .ally__name")).to_have_text(["Jan Żak"])

    page.goto(live_server + urlsplit(withdraw_link).path)
    expect(page.locator("h1")).to_have_text("Wycofanie podpisu")
    expect(page.locator(".lead")).to_contain_text("Jan Żak, czy chcesz wycofać podpis")
    page.get_by_role("button", name="Wycofuję podpis i proszę o usunięcie danych").click()
    expect(page).to_have_url(live_server + "/wycofano")
    expect(page.locator("[role=status]")).to_contain_text("Podpis został wycofany, a Twoje dane usunięte.")

    page.goto(live_server + ALLIES_PATH)
    expect(page.locator("#allies-results .ally")).to_have_count(0)
    expect(page.locator(".empty")).to_contain_text("Lista jest jeszcze pusta.")
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.status == "withdrawn" and signature.full_name != "Jan Żak" and "jan@" not in signature.email

    # The same link again: nothing left to withdraw, and it says so.
    page.goto(live_server + urlsplit(withdraw_link).path)
    expect(page.locator("[role=status]")).to_contain_text("Ten podpis został już wycofany")
