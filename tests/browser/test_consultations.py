"""A consultation in a real browser, the whole path: a coordinator writes and opens it in the panel,
the member's personal link arrives through the real SMTP server, the member votes and changes
the vote, the consultation closes on time, and the results page and the printable protocol
show the outcome."""
import re
from datetime import timedelta
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from koalicja.consultations.models import Consultation
from koalicja.consultations.operations import tick
from koalicja.extensions import db
from koalicja.timeutil import utc_to_warsaw, utcnow

from ..conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, SLUG
from ..consultations.conftest import OPTIONS, allies  # noqa: F401  (the fixture: the coalition's roll to take)
from .accessibility import assert_accessible
from .test_events import deliver
from .test_flows import assert_same_document, log_in, mark_document

TITLE = "Kto zarządza partnerstwem w przyszłym roku?"
FIRST, SECOND = OPTIONS[0], OPTIONS[1]
BALLOT_LINK = re.compile(rf"http://koalicja\.test/{SLUG}/konsultacje/glos/\S+")


def ballot_path(message):
    """The personal link in a mail's plain-text part, as a path on the served app."""
    body = message.get_body(("plain",)).get_content()
    match = BALLOT_LINK.search(body)
    assert match, body
    return urlsplit(match.group(0)).path


def write_and_open(panel, closes_at):
    """The coordinator's side: a draft of a single choice, then opened with the box ticked."""
    panel.get_by_role("link", name="Konsultacje", exact=True).click()
    panel.get_by_role("link", name="Nowa konsultacja").click()
    panel.locator("#title").fill(TITLE)
    panel.locator("#body").fill("Wybieramy partnera zarządzającego na **rok**.")
    panel.get_by_label("Wybór jednej odpowiedzi").check()
    panel.locator("#options").fill("\n".join(OPTIONS))
    panel.locator("#closes_at").fill(utc_to_warsaw(closes_at).strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_role("button", name="Zapisz wersję roboczą").click()
    expect(panel.locator(".flash--success")).to_contain_text("Zapisano wersję roboczą.")
    expect(panel.locator("h1")).to_have_text(TITLE)
    # Five voices on the roll (the organisation's two representatives are one), four with an address.
    panel.get_by_label(re.compile(r"^Tak, otwieram\. Wyślemy teraz e-mail z osobistym linkiem do 4 osób")).check()
    panel.get_by_role("button", name="Otwórz konsultację").click()
    expect(panel.locator(".flash--success")).to_contain_text("Konsultacja jest otwarta.")
    expect(panel.locator("main")).to_contain_text("Wzięło udział: 0 z 5.")


def test_a_consultation_from_the_panel_to_the_protocol(app, live_server, make_context, allies, coordinator, smtp_server):  # noqa: F811
    closes_at = (utcnow() + timedelta(days=7)).replace(second=0, microsecond=0)
    panel = make_context().new_page()
    log_in(panel, live_server, COORDINATOR_EMAIL, COORDINATOR_PASSWORD)
    write_and_open(panel, closes_at)

    invitations = deliver(app, smtp_server, 4)
    # One voice per organisation: its first approved representative (anna), not bartek; the
    # member who unsubscribed from announcements (ewa) is invited too.
    assert sorted(invitations) == ["anna@zablocie.example.org", "ewa@example.org", "jan@example.org", "zofia@example.org"]
    invitation = invitations["zofia@example.org"]
    assert invitation["Subject"] == f"Twój głos w konsultacji: {TITLE}"
    link = live_server + ballot_path(invitation)

    member = make_context().new_page()
    member.goto(link)  # opening the link records nothing
    expect(member.locator("h1")).to_have_text(TITLE)
    ballot = member.locator("#ballot")
    expect(ballot.locator("#current-voice")).to_have_text("Nie oddano jeszcze głosu.")
    assert_accessible(member, "consultation ballot")
    mark_document(member)

    ballot.get_by_label(FIRST, exact=True).check()
    ballot.get_by_role("button", name="Zapisz głos").click()
    notice = member.locator("#ballot [role=status]")
    expect(notice).to_contain_text("Zapisaliśmy Twój głos (")
    expect(notice).to_contain_text("Potwierdzenie wysłaliśmy e-mailem.")
    current = member.locator("#current-voice")
    expect(current).to_contain_text(f"Zapisana odpowiedź: {FIRST}")
    expect(current).to_contain_text(re.compile(r"Zapisano \d{1,2} \w+ \d{4}, \d{2}:\d{2} przez osobisty link\."))

    member.locator("#ballot").get_by_label(SECOND, exact=True).check()
    member.locator("#ballot").get_by_role("button", name="Zmień głos").click()
    expect(notice).to_contain_text("Zapisaliśmy Twój zmieniony głos (")
    expect(current).to_contain_text(f"Zapisana odpowiedź: {SECOND}")
    expect(member.locator("#ballot").get_by_label(SECOND, exact=True)).to_be_checked()
    assert_same_document(member)  # htmx swapped the ballot in place
    assert_accessible(member, "consultation ballot, voice changed")

    deliver(app, smtp_server, 2)  # the first voice's receipt and the changed one's
    receipts = smtp_server.messages[4:]
    assert [message["Subject"] for message in receipts] == [f"Twój głos został zapisany: {TITLE}"] * 2
    for receipt in receipts:  # a receipt says that and when, never what
        body = receipt.get_body(("plain",)).get_content()
        assert FIRST not in body and SECOND not in body

    with app.app_context():  # the timer's tick, once the closing time has passed
        assert tick(now=closes_at + timedelta(minutes=1))["closed"] == 1
        consultation_id = db.session.scalar(select(Consultation.id).where(Consultation.title == TITLE))

    member.goto(link)  # after the close the same link shows the results
    expect(member.locator("#ballot .notice")).to_have_text("Konsultacja jest zamknięta: głosy nie są już przyjmowane.")
    expect(member.locator("#ballot form")).to_have_count(0)
    expect(member.locator("#current-voice")).to_contain_text(f"Zapisana odpowiedź: {SECOND}")

    public = make_context().new_page()
    public.goto(f"{live_server}/{SLUG}/konsultacje")
    public.get_by_role("link", name=TITLE).click()
    expect(public).to_have_url(f"{live_server}/{SLUG}/konsultacje/{consultation_id}")
    results = public.locator(".consultation-results")
    expect(results).to_contain_text("wzięło udział 1 z 5 (20%)")
    outcome = results.locator(".consultation-results__outcome")
    expect(outcome).to_contain_text(f"Rozstrzygnięcie: Wybrano: {SECOND}.")
    # An open ballot lists the voice under the published name (Zofia consented to show hers).
    expect(results.locator("tr", has_text="Zofia Łukasik")).to_contain_text(SECOND)
    assert_accessible(public, "consultation results")

    public.get_by_role("link", name="Protokół do druku").click()
    expect(public).to_have_url(f"{live_server}/{SLUG}/konsultacje/{consultation_id}/protokol")
    expect(public.locator("h1")).to_have_text(f"Protokół konsultacji: {TITLE}")
    protocol = public.locator("article.printable")
    expect(protocol.locator(".consultation-results__outcome")).to_contain_text(f"Rozstrzygnięcie: Wybrano: {SECOND}.")
    expect(protocol.locator("tr", has_text="Zofia Łukasik")).to_contain_text(SECOND)
    public.emulate_media(media="print")  # on paper: the article alone, without the site's header and hint
    expect(public.locator(".print-hint")).to_be_hidden()
    expect(public.locator(".site-header")).to_be_hidden()
    expect(protocol).to_be_visible()
