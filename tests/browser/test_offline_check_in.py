"""The door without a connection, in chromium: the network switched off and on again.

KOALICJA_OFFLINE_SCREENSHOT=docs/screenshots/check-in-offline-phone.png saves the phone's page
while offline, two check-ins waiting to be sent, for the README.
"""
import os
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import func, select

from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD
from koalicja.events.models import CheckInScan, Event
from koalicja.events.operations import attended_count
from koalicja.extensions import db
from koalicja.timeutil import utcnow

from .test_events import PHONE
from .test_flows import log_in

STORED = "() => (JSON.parse(localStorage.getItem('koalicja-door-event-%d')) || {registrants: []}).registrants.length > 0"
PAGE_CACHED = "() => caches.match(location.pathname).then(Boolean)"


def test_check_in_keeps_working_offline_and_sends_the_queue_when_the_network_returns(app, live_server, make_context, demo):
    with app.app_context():
        gala = db.session.scalar(select(Event).where(Event.slug == "gala-sojusznikow-sasiedztw"))
        gala.starts_at, gala.ends_at = utcnow() - timedelta(minutes=30), utcnow() + timedelta(hours=3)  # the gala is today
        db.session.commit()
        gala_id = gala.id
    context = make_context(**PHONE)
    page = context.new_page()
    log_in(page, live_server, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    page.goto(f"{live_server}/panel/wydarzenia/{gala_id}/wejscie")
    state = page.locator(".check-in-offline")
    expect(state.get_by_role("status")).to_have_text("Połączono z serwerem. 0 do wysłania")
    page.wait_for_function(STORED % gala_id)
    page.wait_for_function(PAGE_CACHED)

    context.set_offline(True)
    expect(state.get_by_role("status")).to_contain_text("Bez połączenia: obecność zapisujemy na tym urządzeniu")
    # A reload without a network: the service worker's copy of the page, the registrants from this device.
    assert page.reload().from_service_worker
    expect(page.locator("h1")).to_contain_text("Wejście: Gala Sojuszników Sąsiedztw")
    expect(state.get_by_role("status")).to_contain_text("Bez połączenia")

    page.locator("#q").fill("anna wisn")
    card = page.locator(".check-in-card", has_text="Anna Wiśniewska")
    card.get_by_role("button", name="Jest obecna/y").click()
    expect(page.locator(".check-in-card", has_text="Anna Wiśniewska")).to_contain_text("Obecna/y (zapisane na tym urządzeniu)")
    page.locator("#q").fill("Jan Żak")
    page.locator(".check-in-card", has_text="Jan Żak").get_by_role("button", name="Jest obecna/y").click()
    expect(state.get_by_role("status")).to_contain_text("2 do wysłania")
    expect(page.locator("#attended-count")).to_have_text("Obecne osoby (z towarzyszącymi): 3")  # Anna comes with one person
    # The QR code on a ticket opens the page with ?kod=: offline too, from this device's copy.
    page.goto(f"{live_server}/panel/wydarzenia/{gala_id}/wejscie?kod=DEMO0001")
    expect(page.locator("#check-in-results .check-in-card")).to_have_count(1)
    expect(page.locator("#check-in-results .check-in-card")).to_contain_text("Jan Żak")
    expect(page.locator("#check-in-results .check-in-card")).to_contain_text("Obecna/y (zapisane na tym urządzeniu)")
    expect(state.get_by_role("status")).to_contain_text("2 do wysłania")
    if os.environ.get("KOALICJA_OFFLINE_SCREENSHOT"):
        page.screenshot(path=os.environ["KOALICJA_OFFLINE_SCREENSHOT"])
    with app.app_context():
        assert attended_count(db.session.get(Event, gala_id)) == 0  # nothing reached the server yet

    context.set_offline(False)
    expect(state.get_by_role("status")).to_have_text("Połączono z serwerem. 0 do wysłania")
    expect(state.get_by_role("list")).to_contain_text("Anna Wiśniewska: Obecność zapisana.")
    expect(state.get_by_role("list")).to_contain_text("Jan Żak: Obecność zapisana.")
    expect(page.locator("#attended-count")).to_have_text("Obecne osoby (z towarzyszącymi): 3")
    with app.app_context():
        assert attended_count(db.session.get(Event, gala_id)) == 3
        assert db.session.scalar(select(func.count()).select_from(CheckInScan)) == 2
