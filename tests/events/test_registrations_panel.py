"""A coordinator runs an event's registrations in the panel: search, cancel for someone, resend
the ticket, add a person by hand, promote from the waiting list, change companions; and the
door without JavaScript. Each action through HTTP, each refusal with its Polish reason."""
import html
import secrets
from datetime import timedelta

from sqlalchemy import select

from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import Registration, RegistrationStatus
from koalicja.events.operations import forget_unconfirmed_registrations
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.timeutil import utcnow

from ..conftest import csrf_token_from
from .conftest import load_event, make_event

CANCELLED_MAIL = "registration_cancelled_to_registrant"
TICKET_MAIL = "registration_confirmed_to_registrant"
OFFER_MAIL = "registration_offer_to_registrant"


def add_row(app, event_id, name, status=RegistrationStatus.CONFIRMED, **values):
    """A registration in `status`, made directly (what the panel does with it is the test)."""
    with app.app_context():
        email = values.pop("email", f"{secrets.token_hex(3)}@example.org")
        registration = Registration(
            event_id=event_id, full_name=name, email=email, email_key=email.lower(), status=status,
            code=secrets.token_hex(4).upper(), search_text=values.pop("search_text", name.lower()), **values,
        )
        db.session.add(registration)
        db.session.commit()
        return registration.id, registration.code


def row(app, registration_id):
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        db.session.expunge(registration)
        return registration


def mails(app, template):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template)).all()


def audit(app):
    with app.app_context():
        return [entry.summary for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def act(client, token, registration_id, action, **data):
    """Press a row's button (a plain form POST); the page it leads back to, unescaped."""
    response = client.post(f"/panel/wydarzenia/zapisy/{registration_id}/{action}", data={"csrf_token": token, **data})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def test_search_by_name_email_organisation_and_code_ignores_case_and_polish_letters(app, client, auth, coalition):
    event_id = make_event(app, capacity=10)
    _lucja, code = add_row(
        app, event_id, "Łucja Żółć", organisation="Fundacja Ślężanie", email="Lucja.Z@Przyklad.PL",
        search_text="lucja zolc fundacja slezanie",
    )
    add_row(app, event_id, "Jan Kowalski", status=RegistrationStatus.WAITING)
    auth.login()

    def found(query, **params):
        page = client.get(f"/panel/wydarzenia/{event_id}", query_string={"q": query, **params}).get_data(as_text=True)
        return [name for name in ("Łucja Żółć", "Jan Kowalski") if name in page]

    assert found("") == ["Łucja Żółć", "Jan Kowalski"]
    for query in ("ZOLC", "łucja żółć", "slezanie", "lucja.z@przyklad", f"{code[:4].lower()}-{code[4:]}"):
        assert found(query) == ["Łucja Żółć"], query
    assert found("kowalski", stan="confirmed") == []  # the search keeps to the tab
    nobody = client.get(f"/panel/wydarzenia/{event_id}?q=nikt", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in nobody and "Nikogo nie znaleziono" in html.unescape(nobody)  # the fragment only


def test_cancel_for_someone_tells_them_and_offers_the_place(app, client, auth, coalition):
    event_id = make_event(app, capacity=1)
    taken, _code = add_row(app, event_id, "Anna Nowak", email="anna@example.org")
    waiting, _code = add_row(app, event_id, "Jan Kowalski", status=RegistrationStatus.WAITING, email="jan@example.org")
    auth.login()
    token = auth.csrf()

    page = act(client, token, taken, "anuluj")  # the box not ticked: nothing happens
    assert "Zaznacz potwierdzenie, aby anulować zapis." in page and row(app, taken).status == "confirmed"

    page = act(client, token, taken, "anuluj", confirm="tak")
    assert "Zapis anulowany: Anna Nowak." in page
    assert row(app, taken).status == "cancelled" and row(app, waiting).status == "offered"
    [cancelled] = mails(app, CANCELLED_MAIL)
    assert cancelled.recipient == "anna@example.org"
    assert cancelled.subject == "Zapis anulowany: Gala Sojuszników Sąsiedztw"
    with app.app_context():
        contact = load_event(event_id).coalition.contact_email or app.config["MAIL_FROM"]
    assert f"napisz na adres {contact}" in cancelled.body_text  # whom to ask if it was a mistake
    assert [m.recipient for m in mails(app, OFFER_MAIL)] == ["jan@example.org"]
    assert audit(app) == [f"Gala Sojuszników Sąsiedztw: zgłoszenie nr {taken}: anulowane przez osobę koordynującą"]

    page = act(client, token, taken, "anuluj", confirm="tak")  # a second tab, a second press
    assert "To zgłoszenie zostało już anulowane." in page and len(mails(app, CANCELLED_MAIL)) == 1


def test_resend_the_ticket_only_for_a_confirmed_place(app, client, auth, coalition):
    event_id = make_event(app, capacity=5)
    confirmed, code = add_row(app, event_id, "Anna Nowak", email="anna@example.org")
    waiting, _code = add_row(app, event_id, "Jan Kowalski", status=RegistrationStatus.WAITING)
    cancelled, _code = add_row(app, event_id, "Ewa Lis", status=RegistrationStatus.CANCELLED)
    auth.login()
    token = auth.csrf()

    assert "Bilet wysłany ponownie: Anna Nowak." in act(client, token, confirmed, "bilet")
    [ticket] = mails(app, TICKET_MAIL)
    assert ticket.recipient == "anna@example.org" and code in ticket.body_text
    assert "/wydarzenia/bilet/" in ticket.body_text  # a lost e-mail is not a lost ticket
    assert "Bilet ma tylko osoba z potwierdzonym miejscem." in act(client, token, waiting, "bilet")
    assert "To zgłoszenie zostało już anulowane." in act(client, token, cancelled, "bilet")
    assert len(mails(app, TICKET_MAIL)) == 1
    assert audit(app) == [f"Gala Sojuszników Sąsiedztw: zgłoszenie nr {confirmed}: bilet wysłany ponownie"]


def test_add_a_person_by_hand(app, client, auth, coalition, coordinator):
    event_id = make_event(app, capacity=3, max_companions=0, registration_closes_at=utcnow() - timedelta(days=1))
    auth.login()
    path = f"/panel/wydarzenia/{event_id}/dodaj-osobe"
    form = client.get(path)
    assert "Wolne miejsca: 3." in form.get_data(as_text=True)
    person = {"full_name": "Teresa Wiśniewska", "email": "teresa@example.org", "organisation": "Klub Seniora", "companions": "1"}

    refused = client.post(path, data={"csrf_token": csrf_token_from(form), **person})  # consent not ticked
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "Bez zgody tej osoby nie możemy jej zapisać." in page
    assert 'value="Teresa Wiśniewska"' in page  # the answers stay

    added = client.post(path, data={"csrf_token": csrf_token_from(form), **person, "consent_given": "y"})
    assert added.status_code == 303  # registration closed a day ago: a coordinator may still add someone
    with app.app_context():
        registration = db.session.scalar(select(Registration))
        assert (registration.status, registration.places, registration.added_by_id) == ("confirmed", 2, coordinator)
        assert registration.email_confirmed_at is None
        assert registration.consents["given_to"] == "coordinator"
        assert registration.consents["coordinator_id"] == coordinator and registration.consents["privacy_notice_sha256"]
        # The unconfirmed-address purge leaves them: their consent is on record, not in an e-mail.
        assert forget_unconfirmed_registrations(utcnow() + timedelta(days=1)) == 0
    detail = html.unescape(client.get(added.headers["Location"]).get_data(as_text=True))
    assert "Dodano: Teresa Wiśniewska." in detail and "dodane ręcznie: Koordynatorka Testowa" in detail
    assert [m.recipient for m in mails(app, TICKET_MAIL)] == ["teresa@example.org"]
    assert audit(app) == [f"Gala Sojuszników Sąsiedztw: zgłoszenie nr {registration.id}: dodane ręcznie: Teresa Wiśniewska"]

    again = client.post(path, data={"csrf_token": csrf_token_from(form), **person, "companions": "0", "consent_given": "y"})
    assert again.status_code == 422
    assert "Ta osoba (ten adres e-mail) jest już zapisana na to wydarzenie." in html.unescape(again.get_data(as_text=True))
    full = client.post(
        path, data={"csrf_token": csrf_token_from(form), **person, "email": "inna@example.org", "consent_given": "y"}
    )
    assert full.status_code == 422  # 1 place left, 2 asked for
    assert "Wolnych miejsc jest 1, a potrzeba 2 (z osobami towarzyszącymi)." in html.unescape(full.get_data(as_text=True))
    assert len(mails(app, TICKET_MAIL)) == 1


def test_promote_from_the_waiting_list_now(app, client, auth, coalition):
    """The last place is reserved for allies; the coordinator gives it to the second person waiting."""
    event_id = make_event(app, capacity=3, reserved_for_allies=1, hold_hours=24)
    add_row(app, event_id, "Anna Nowak")
    add_row(app, event_id, "Ewa Lis")
    first, _code = add_row(app, event_id, "Jan Kowalski", status=RegistrationStatus.WAITING)
    second, _code = add_row(app, event_id, "Olga Mazur", status=RegistrationStatus.WAITING, email="olga@example.org")
    gone, _code = add_row(app, event_id, "Piotr Zając", status=RegistrationStatus.CANCELLED)
    auth.login()
    token = auth.csrf()

    page = act(client, token, second, "zapros")
    assert "Zaproszono z listy oczekujących: Olga Mazur." in page
    promoted = row(app, second)
    assert promoted.status == "offered" and promoted.confirm_nonce  # the usual offer: a link to confirm
    assert abs(promoted.hold_expires_at - (utcnow() + timedelta(hours=24))) < timedelta(minutes=1)
    assert [m.recipient for m in mails(app, OFFER_MAIL)] == ["olga@example.org"]

    assert "Ta osoba ma już zaproponowane miejsce." in act(client, token, second, "zapros")
    assert "Wolnych miejsc jest 0, a potrzeba 1 (z osobami towarzyszącymi)." in act(client, token, first, "zapros")
    assert "To zgłoszenie zostało już anulowane." in act(client, token, gone, "zapros")
    assert row(app, first).status == "waiting" and len(mails(app, OFFER_MAIL)) == 1
    assert audit(app) == [f"Gala Sojuszników Sąsiedztw: zgłoszenie nr {second}: zaproszone z listy oczekujących"]


def test_change_companions_within_capacity(app, client, auth, coalition):
    event_id = make_event(app, capacity=4)
    anna, _code = add_row(app, event_id, "Anna Nowak", companions=1)
    waiting, _code = add_row(app, event_id, "Jan Kowalski", status=RegistrationStatus.WAITING, companions=2)
    cancelled, _code = add_row(app, event_id, "Ewa Lis", status=RegistrationStatus.CANCELLED)
    auth.login()
    token = auth.csrf()

    assert "Zmieniono liczbę osób towarzyszących: Anna Nowak." in act(client, token, anna, "towarzyszace", companions="3")
    assert row(app, anna).places == 4
    assert "Wolnych miejsc jest 0, a potrzeba 1 (z osobami towarzyszącymi)." in act(
        client, token, anna, "towarzyszace", companions="4"
    )
    assert "Ta osoba ma już tyle osób towarzyszących: 3." in act(client, token, anna, "towarzyszace", companions="3")
    assert "To zgłoszenie zostało już anulowane." in act(client, token, cancelled, "towarzyszace", companions="1")

    # Fewer places for Anna: the person waiting (3 places) fits now and is offered them.
    act(client, token, anna, "towarzyszace", companions="0")
    assert (row(app, anna).places, row(app, waiting).status) == (1, "offered")
    assert len(mails(app, OFFER_MAIL)) == 1

    wrong = client.post(
        f"/panel/wydarzenia/zapisy/{anna}/towarzyszace", data={"csrf_token": token, "companions": "-2"}
    )
    page = html.unescape(wrong.get_data(as_text=True))
    assert wrong.status_code == 422 and "Wpisz liczbę od 0 do 50." in page
    assert f'id="companions-{anna}-error"' in page and 'value="-2"' in page  # next to that row's field
    assert [entry.split(": ", 2)[-1] for entry in audit(app)] == ["osoby towarzyszące: 1 → 3", "osoby towarzyszące: 3 → 0"]


def test_nothing_changes_for_a_cancelled_event(app, client, auth, coalition):
    event_id = make_event(app, capacity=5, status="cancelled")
    confirmed, _code = add_row(app, event_id, "Anna Nowak")
    waiting, _code = add_row(app, event_id, "Jan Kowalski", status=RegistrationStatus.WAITING)
    auth.login()
    token = auth.csrf()
    for registration_id, action, data in (
        (confirmed, "bilet", {}), (waiting, "zapros", {}), (confirmed, "towarzyszace", {"companions": "1"}),
    ):
        assert "To wydarzenie zostało odwołane." in act(client, token, registration_id, action, **data), action
    path = f"/panel/wydarzenia/{event_id}/dodaj-osobe"
    refused = client.post(
        path,
        data={"csrf_token": token, "full_name": "Ola", "email": "ola@example.org", "consent_given": "y"},
    )
    assert refused.status_code == 422 and "To wydarzenie zostało odwołane." in html.unescape(refused.get_data(as_text=True))
    assert audit(app) == [] and mails(app, TICKET_MAIL) == [] and mails(app, OFFER_MAIL) == []


def test_check_in_without_javascript_says_who_and_how_many(app, client, auth, coalition):
    event_id = make_event(app, capacity=5)
    registration_id, code = add_row(app, event_id, "Łucja Żółć", companions=1)
    auth.login()

    scanned = client.get(f"/panel/wydarzenia/{event_id}/wejscie?kod={code}").get_data(as_text=True)
    assert f'name="q" value="{code}"' in scanned  # the scanned code stands in the search box
    form_q = f'<input type="hidden" name="q" value="{code}">'
    assert form_q in scanned  # and goes with the tap, so the page comes back to this person

    answer = client.post(
        f"/panel/wydarzenia/zapisy/{registration_id}/obecnosc",
        data={"csrf_token": csrf_token_from(client.get(f"/panel/wydarzenia/{event_id}/wejscie")), "attended": "1", "q": code},
    )
    assert answer.status_code == 303
    page = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert "Obecność potwierdzona: Łucja Żółć." in page
    assert "Obecne osoby (z towarzyszącymi): 2" in page and "Obecna/y od" in page
