"""Races that really overlap: HTTP requests at once against the app served by gunicorn
(2 workers × 4 threads), on SQLite and on PostgreSQL (koalicja/locking.py's rule).

Each test runs several rounds and checks the invariants over all of them, then reports the
figures it saw: places held never above capacity, no registration both cancelled and
confirmed, exactly one e-mail and one audit entry per change of state. Rounds: 5 cancel ×
approve, 1 × 50 approve × approve, 6 × 20 posts of one confirmation link, 6 × 20
decisions on one registration, 3 × two `expire-holds` at once, 4 × "promote now" into the
last place by two coordinators (every other round with the person cancelling): 25 in all.
"""
import html
import itertools
import re
import secrets
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import HOLDING_PLACE, Event, EventStatus, Registration, RegistrationStatus
from koalicja.events.notifications import CANCEL_PURPOSE
from koalicja.events.operations import expire_holds
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator
from koalicja.timeutil import utcnow
from koalicja.tokens import make_token

from ..conftest import DATABASES
from ..served import Visitor, at_once, served_race

SLUG = "sasiedztwa"
PASSWORD = "bardzo-tajne-haslo-1"
COORDINATORS = ("ala@example.org", "ola@example.org")
TICKET = "registration_confirmed_to_registrant"
REJECTION = "registration_rejected_to_registrant"
OFFER = "registration_offer_to_registrant"
_counter = itertools.count(1)


# ---- the served app, one per engine for the whole module (a server start costs seconds) ----


def _coalition_and_two_coordinators():
    coalition = Coalition(slug=SLUG, name="Koalicja na rzecz sąsiedztw", contact_email="kontakt@example.org")
    db.session.add_all([coalition, Declaration(coalition=coalition, title="Deklaracja", body="Tekst")])
    db.session.commit()
    for number, email in enumerate(COORDINATORS):
        account = create_coordinator(email, f"Koordynatorka {number + 1}", PASSWORD)
        account.coalitions.append(coalition)
    db.session.commit()


@pytest.fixture(scope="module", params=DATABASES)
def race(request, tmp_path_factory):
    """(app in this process, database URL, base URL of the served app) on a fresh database of one engine."""
    with served_race(request, tmp_path_factory.mktemp(f"races-{request.param}"), _coalition_and_two_coordinators) as served:
        yield served


def make_event(app, **overrides):
    """A published event in ten days (a new slug each time); returns its id."""
    with app.app_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
        start = utcnow().replace(microsecond=0) + timedelta(days=10)
        number = next(_counter)
        values = {
            "coalition_id": coalition.id, "slug": f"gala-{number}", "title": f"Gala {number}", "starts_at": start,
            "ends_at": start + timedelta(hours=4), "capacity": 10, "status": EventStatus.PUBLISHED, **overrides,
        }
        event = Event(**values)
        db.session.add(event)
        db.session.commit()
        return event.id


def add_registrations(app, event_id, count, status, **values):
    """`count` registrations in `status`, made directly (the races are in what follows)."""
    with app.app_context():
        rows = []
        for _ in range(count):
            number = next(_counter)
            rows.append(
                Registration(
                    event_id=event_id, full_name=f"Osoba {number}", email=f"osoba{number}@example.org",
                    email_key=f"osoba{number}@example.org", status=status, code=secrets.token_hex(4).upper(),
                    confirm_nonce=secrets.token_hex(8) if status == RegistrationStatus.PENDING else None,
                    email_confirmed_at=utcnow() if status == RegistrationStatus.APPROVAL else None, **values,
                )
            )
        db.session.add_all(rows)
        db.session.commit()
        return [(row.id, row.code, row.email) for row in rows]


def coordinator(base_url, number):
    visitor = Visitor(base_url)
    visitor.login(COORDINATORS[number], PASSWORD)
    visitor.csrf = visitor.get("/panel/wydarzenia/").csrf_token
    return visitor


def tab(visitor):
    """Another tab of the same browser: the same session, its own cookie jar (flash messages)."""
    copy = Visitor(visitor.base_url)
    for cookie in visitor.cookies:
        copy.cookies.set_cookie(cookie)
    copy.csrf = visitor.csrf
    return copy


def decide(visitor, registration_id, decision):
    response = visitor.post(
        f"/panel/wydarzenia/zapisy/{registration_id}/decyzja", {"decision": decision, "csrf_token": visitor.csrf}
    )
    assert response.status == 303, (response.status, response.text[:300])
    return response


def rows(app, event_id):
    with app.app_context():
        found = db.session.scalars(select(Registration).where(Registration.event_id == event_id).order_by(Registration.id))
        result = {
            r.id: {"status": r.status, "cancelled_at": r.cancelled_at, "decided_at": r.decided_at, "places": r.places, "email": r.email}
            for r in found
        }
        db.session.remove()
        return result


def mails(app, template):
    """How many e-mails of `template` each address got (the outbox table)."""
    with app.app_context():
        found = db.session.execute(
            text("SELECT recipient FROM outbox_message WHERE template = :template"), {"template": template}
        ).scalars().all()
        db.session.remove()
        return Counter(found)


def audit_entries(app):
    """How many audit entries each registration has (the audit_entry table)."""
    with app.app_context():
        found = db.session.execute(
            text("SELECT subject_id FROM audit_entry WHERE subject_type = 'registration'")
        ).scalars().all()
        db.session.remove()
        return Counter(found)


def places_held(registrations):
    return sum(r["places"] for r in registrations.values() if r["status"] in HOLDING_PLACE)


def message_after(visitor, response):
    """The page the refused action redirected to (with its flash message)."""
    return html.unescape(visitor.get(response.headers["Location"]).text)


# ---- cancellation × approval --------------------------------------------------------------


def test_cancellation_racing_approval_never_overbooks(race):
    """10 of 10 places wait for approval, 6 people wait for a place; all 10 cancel while a
    coordinator approves them."""
    app, _url, base_url = race
    boss = coordinator(base_url, 0)
    seen = Counter()
    for _round in range(5):
        event_id = make_event(app, capacity=10, requires_approval=True)
        asking = add_registrations(app, event_id, 10, RegistrationStatus.APPROVAL)
        waiting = add_registrations(app, event_id, 6, RegistrationStatus.WAITING)
        people = []
        for registration_id, code, _email in asking:
            token = make_token_in(app, CANCEL_PURPOSE, {"r": registration_id, "n": code})
            person = Visitor(base_url)
            path = f"/wydarzenia/rezygnacja/{token}"
            people.append((person, path, person.get(path).csrf_token))
        tabs = [tab(boss) for _ in asking]

        def act(number):
            if number < 10:
                person, path, csrf = people[number]
                return person.post(path, {"csrf_token": csrf}).status
            return decide(tabs[number - 10], asking[number - 10][0], "approve").status

        statuses = at_once(20, act)
        assert set(statuses) == {303}, Counter(statuses)

        after = rows(app, event_id)
        tickets, offers, audit = mails(app, TICKET), mails(app, OFFER), audit_entries(app)
        seen["rounds"] += 1
        seen["max places held"] = max(seen["max places held"], places_held(after))
        seen["over capacity"] += places_held(after) > 10
        for registration_id, _code, email in asking:
            row = after[registration_id]
            seen["cancelled"] += row["status"] == RegistrationStatus.CANCELLED
            seen["confirmed with cancelled_at"] += row["status"] == RegistrationStatus.CONFIRMED and row["cancelled_at"] is not None
            seen["approved after cancelling (decided_at > cancelled_at)"] += bool(
                row["decided_at"] and row["cancelled_at"] and row["decided_at"] > row["cancelled_at"]
            )
            approved = row["decided_at"] is not None
            seen["ticket or audit count wrong"] += (tickets[email], audit[registration_id]) != (int(approved), int(approved))
        for registration_id, _code, email in waiting:
            offered = after[registration_id]["status"] == RegistrationStatus.OFFERED
            seen["offer e-mails wrong"] += offers[email] != int(offered)
            seen["offered"] += offered
    print(dict(seen))
    assert seen["over capacity"] == 0 and seen["max places held"] <= 10, dict(seen)
    assert seen["confirmed with cancelled_at"] == 0, dict(seen)
    assert seen["approved after cancelling (decided_at > cancelled_at)"] == 0, dict(seen)
    assert seen["cancelled"] == 10 * seen["rounds"], dict(seen)  # a cancellation always applies
    assert seen["offered"] == 6 * seen["rounds"], dict(seen)  # the freed places went to the waiting list
    assert seen["ticket or audit count wrong"] == 0 and seen["offer e-mails wrong"] == 0, dict(seen)


def make_token_in(app, purpose, payload):
    with app.app_context():
        return make_token(purpose, payload)


# ---- two coordinators approve the same 50 --------------------------------------------------


def test_two_coordinators_approving_the_same_fifty_send_one_ticket_each(race):
    app, _url, base_url = race
    event_id = make_event(app, capacity=60, requires_approval=True)
    asking = add_registrations(app, event_id, 50, RegistrationStatus.APPROVAL)
    coordinators = [coordinator(base_url, 0), coordinator(base_url, 1)]
    tabs = [tab(coordinators[number % 2]) for number in range(100)]

    def act(number):
        return decide(tabs[number], asking[number // 2][0], "approve")

    responses = at_once(100, act)
    after = rows(app, event_id)
    tickets, audit = mails(app, TICKET), audit_entries(app)
    figures = {
        "confirmed": sum(r["status"] == RegistrationStatus.CONFIRMED for r in after.values()),
        "ticket e-mails": sum(tickets[email] for _id, _code, email in asking),
        "audit entries": sum(audit[registration_id] for registration_id, _code, _email in asking),
        "people with more than one ticket": sum(tickets[email] > 1 for _id, _code, email in asking),
    }
    print(figures)
    assert figures == {"confirmed": 50, "ticket e-mails": 50, "audit entries": 50, "people with more than one ticket": 0}
    # For each pair, the one who came second is told what happened (one page looked at per pair
    # would be 50 renders: a sample of the refused ones is enough).
    refused = [message_after(tabs[n], responses[n]) for n in range(0, 100, 10)]
    assert sum("To zgłoszenie zostało już przyjęte." in page for page in refused) >= 1


# ---- one confirmation link, 20 times at once ------------------------------------------------


def registration_form(visitor, event_path):
    """The public registration form: on the event page or its own page (`…/zapisz`)."""
    for path in (event_path, event_path + "/zapisz"):
        page = visitor.get(path)
        if page.status != 200:
            continue
        for form in re.findall(r"<form\b.*?</form>", page.text, re.S):
            if 'name="full_name"' in form:
                action = re.match(r'<form\b[^>]*\baction="([^"]*)"', form)
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
                return (html.unescape(action.group(1)) if action and action.group(1) else path), token
    raise AssertionError(f"no registration form at {event_path} or {event_path}/zapisz")


def test_one_confirmation_link_posted_twenty_times_sends_one_ticket(race):
    app, _url, base_url = race
    event_id = make_event(app, capacity=20)
    with app.app_context():
        event_path = f"/{SLUG}/wydarzenia/{db.session.get(Event, event_id).slug}"
        db.session.remove()
    seen = Counter()
    for _round in range(6):
        number = next(_counter)
        person = Visitor(base_url)
        action, csrf = registration_form(person, event_path)
        email = f"link{number}@example.org"
        answer = person.post(action, {"csrf_token": csrf, "full_name": f"Osoba {number}", "email": email, "accept_privacy": "y"})
        assert answer.status == 303, (answer.status, answer.text[:300])
        with app.app_context():
            body = db.session.execute(
                text("SELECT body_text FROM outbox_message WHERE recipient = :email"), {"email": email}
            ).scalar_one()
            db.session.remove()
        path = re.search(r"https?://[^/\s]+(/wydarzenia/potwierdz/\S+)", body).group(1)
        tabs = [Visitor(base_url) for _ in range(20)]
        tokens = [visitor.get(path).csrf_token for visitor in tabs]
        statuses = at_once(20, lambda n: tabs[n].post(path, {"csrf_token": tokens[n]}).status)
        seen["rounds"] += 1
        seen["confirmed (303)"] += statuses.count(303)
        seen["told the link was used (400)"] += statuses.count(400)
        seen["ticket e-mails"] += mails(app, TICKET)[email]
    print(dict(seen))
    assert seen["ticket e-mails"] == seen["rounds"], dict(seen)
    assert seen["confirmed (303)"] == seen["rounds"], dict(seen)
    assert seen["told the link was used (400)"] == 19 * seen["rounds"], dict(seen)
    assert all(r["status"] == RegistrationStatus.CONFIRMED for r in rows(app, event_id).values())


# ---- 20 decisions on one registration at once ------------------------------------------------


def test_twenty_decisions_on_one_registration_make_one(race):
    """Two coordinators, each pressing "Przyjmij" and "Odrzuć" in several tabs, for the one
    person who asks for the last place (one more waits behind them)."""
    app, _url, base_url = race
    coordinators = [coordinator(base_url, 0), coordinator(base_url, 1)]
    seen = Counter()
    for _round in range(6):
        event_id = make_event(app, capacity=1, requires_approval=True)
        [(asking, _code, email)] = add_registrations(app, event_id, 1, RegistrationStatus.APPROVAL)
        [(waiting, _code, waiting_email)] = add_registrations(app, event_id, 1, RegistrationStatus.WAITING)
        tabs = [tab(coordinators[number % 2]) for number in range(20)]
        responses = at_once(20, lambda n: decide(tabs[n], asking, "approve" if n // 2 % 2 == 0 else "reject"))
        after = rows(app, event_id)
        decision_mails = mails(app, TICKET)[email] + mails(app, REJECTION)[email]
        offers = mails(app, OFFER)[waiting_email]
        rejected = after[asking]["status"] == RegistrationStatus.REJECTED
        seen["rounds"] += 1
        seen["decided"] += after[asking]["status"] in (RegistrationStatus.CONFIRMED, RegistrationStatus.REJECTED)
        seen["decision e-mails"] += decision_mails
        seen["audit entries"] += audit_entries(app)[asking]
        seen["over capacity"] += places_held(after) > 1
        seen["offer wrong"] += (after[waiting]["status"], offers) != (
            (RegistrationStatus.OFFERED, 1) if rejected else (RegistrationStatus.WAITING, 0)
        )
        if _round == 0:
            pages = [message_after(tabs[n], responses[n]) for n in range(4)]
            seen["refusals that name the decision"] += sum(
                "To zgłoszenie zostało już przyjęte." in page or "To zgłoszenie zostało już odrzucone." in page
                for page in pages
            )
    print(dict(seen))
    rounds = seen["rounds"]
    assert (seen["decided"], seen["decision e-mails"], seen["audit entries"]) == (rounds, rounds, rounds), dict(seen)
    assert seen["over capacity"] == 0 and seen["offer wrong"] == 0, dict(seen)
    assert seen["refusals that name the decision"] >= 3, dict(seen)  # one of the four may be the one that decided


# ---- two servers' timers run expire-holds at the same moment -------------------------------


def run_expire_holds(app):
    with app.app_context():
        try:
            return expire_holds()
        finally:
            db.session.remove()


def test_expire_holds_run_by_two_servers_at_once_offers_each_place_once(race):
    app, _url, _base_url = race
    seen = Counter()
    for _round in range(3):
        event_id = make_event(app, capacity=3)
        past = utcnow() - timedelta(minutes=5)
        add_registrations(app, event_id, 3, RegistrationStatus.PENDING, hold_expires_at=past)
        waiting = add_registrations(app, event_id, 4, RegistrationStatus.WAITING)
        # Each thread is one server's timer: its own app context, session and connection.
        at_once(2, lambda _n: run_expire_holds(app))
        after = rows(app, event_id)
        offers = mails(app, OFFER)
        seen["rounds"] += 1
        seen["expired"] += sum(r["status"] == RegistrationStatus.EXPIRED for r in after.values())
        seen["offered"] += sum(after[registration_id]["status"] == RegistrationStatus.OFFERED for registration_id, _c, _e in waiting)
        seen["offer e-mails"] += sum(offers[email] for _id, _code, email in waiting)
        seen["over capacity"] += places_held(after) > 3
    print(dict(seen))
    rounds = seen["rounds"]
    assert (seen["expired"], seen["offered"], seen["offer e-mails"], seen["over capacity"]) == (
        3 * rounds, 3 * rounds, 3 * rounds, 0
    ), dict(seen)


# ---- "promote now" × "promote now" × the person cancelling -----------------------------------


def promote(visitor, registration_id):
    response = visitor.post(f"/panel/wydarzenia/zapisy/{registration_id}/zapros", {"csrf_token": visitor.csrf})
    assert response.status == 303, (response.status, response.text[:300])
    return response


def promotion_times(app, registration_ids):
    """When each registration was promoted by a coordinator (its audit entries)."""
    with app.app_context():
        found = db.session.execute(
            select(AuditEntry.subject_id, AuditEntry.at).where(AuditEntry.subject_type == "registration")
        ).all()
        db.session.remove()
    return {registration_id: [at for subject, at in found if subject == registration_id] for registration_id in registration_ids}


def test_promoting_into_the_last_place_never_gives_it_twice(race):
    """9 of 10 places are taken and the last one is kept for allies; the two people waiting are
    not allies, so only a coordinator can give it. Coordinator 1 promotes the first person while
    coordinator 2 promotes the second (pressing twice, in two tabs); in every other round the
    first person cancels at the same moment."""
    app, _url, base_url = race
    coordinators = [coordinator(base_url, 0), coordinator(base_url, 1)]
    seen = Counter()
    for _round in range(4):
        cancelling = _round % 2 == 0
        event_id = make_event(app, capacity=10, reserved_for_allies=1)
        add_registrations(app, event_id, 9, RegistrationStatus.CONFIRMED)
        (first, first_code, first_email), (second, _code, second_email) = add_registrations(
            app, event_id, 2, RegistrationStatus.WAITING
        )
        person = Visitor(base_url)
        cancel_path = f"/wydarzenia/rezygnacja/{make_token_in(app, CANCEL_PURPOSE, {'r': first, 'n': first_code})}"
        person_csrf = person.get(cancel_path).csrf_token
        tabs = [tab(coordinators[0]), tab(coordinators[1]), tab(coordinators[1])]

        def act(number):
            if number == 3:
                return person.post(cancel_path, {"csrf_token": person_csrf})
            return promote(tabs[number], first if number == 0 else second)

        responses = at_once(4 if cancelling else 3, act)
        after = rows(app, event_id)
        offers, promoted = mails(app, OFFER), promotion_times(app, (first, second))
        seen["rounds"] += 1
        seen["over capacity"] += places_held(after) > 10
        if cancelling:
            seen["first person not cancelled"] += after[first]["status"] != RegistrationStatus.CANCELLED
        else:
            seen["not exactly one promoted without a cancellation"] += bool(promoted[first]) + bool(promoted[second]) != 1
        seen["promoted twice"] += any(len(times) > 1 for times in promoted.values())
        seen["offer e-mails ≠ promotions"] += (offers[first_email], offers[second_email]) != (
            len(promoted[first]), len(promoted[second])
        )
        seen["second offered without its promotion"] += (after[second]["status"] == RegistrationStatus.OFFERED) != bool(
            promoted[second]
        )
        if promoted[first] and promoted[second]:  # only when the first person's cancellation freed the place
            seen["both promoted"] += 1
            seen["both held the last place"] += promoted[second][0] < after[first]["cancelled_at"]
        seen["first promoted"] += bool(promoted[first])
        seen["second promoted"] += bool(promoted[second])
        refusals = [message_after(tabs[n], responses[n]) for n in range(3)]
        seen["refusals named"] += sum(
            any(reason in page for reason in (
                "Wolnych miejsc jest 0, a potrzeba 1", "Ta osoba ma już zaproponowane miejsce.",
                "To zgłoszenie zostało już anulowane.",
            ))
            for page in refusals
        )
        seen["refusals"] += 3 - bool(promoted[first]) - bool(promoted[second])
    print(dict(seen))
    assert seen["over capacity"] == 0 and seen["first person not cancelled"] == 0, dict(seen)
    assert seen["not exactly one promoted without a cancellation"] == 0, dict(seen)
    assert seen["promoted twice"] == 0 and seen["offer e-mails ≠ promotions"] == 0, dict(seen)
    assert seen["second offered without its promotion"] == 0 and seen["both held the last place"] == 0, dict(seen)
    assert seen["refusals named"] == seen["refusals"], dict(seen)
