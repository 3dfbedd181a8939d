"""An ended session under htmx, in a real browser: the whole page goes to the login page, and
logging in brings the coordinator back to the queue they were on (issue 13)."""
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from koalicja.coordinators.models import Coordinator
from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD
from koalicja.extensions import db
from koalicja.signatures.models import Signature

from .test_flows import QUEUE_PATH, log_in


def test_an_htmx_action_after_the_session_ended_reloads_the_login_page_and_comes_back(app, live_server, page, demo):
    log_in(page, live_server, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    queue_url = f"{live_server}{QUEUE_PATH}?koalicja=sasiedztwa"
    page.goto(queue_url)
    with app.app_context():  # signed out elsewhere (another device's `Wyloguj`, a new password)
        db.session.scalar(select(Coordinator).where(Coordinator.email == DEMO_COORDINATOR_EMAIL)).session_token = "ended"
        db.session.commit()
        waiting = db.session.scalar(select(func.count(Signature.id)).where(Signature.status == "confirmed"))

    page.locator("table.queue tbody tr").first.get_by_role("button", name="Zatwierdź").click()
    expect(page).to_have_url(re.compile(r"/panel/logowanie\?next="))
    expect(page.locator("table.queue")).to_have_count(0)  # a page of its own, not swapped into a row
    expect(page.get_by_text("Zaloguj się, aby zobaczyć tę stronę.")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id)).where(Signature.status == "confirmed")) == waiting  # no decision

    page.locator("#email").fill(DEMO_COORDINATOR_EMAIL)
    page.locator("#password").fill(DEMO_COORDINATOR_PASSWORD)
    page.locator("#submit").click()
    expect(page).to_have_url(queue_url)  # the queue they were on, not the POST-only action (a 405)
