"""Coordinators manage events, registrations, messages and the door."""
from sqlalchemy import func, select

from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import Event, Registration
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import refresh_listing, sign_declaration

from ..conftest import csrf_token_from, current_declaration
from .conftest import load_event, make_event

EVENT_FORM = {
    "title": "Wizyta studyjna we Wrocławiu",
    "summary": "Dwa dni w centrach aktywności lokalnej.",
    "description": "Program na miejscu.",
    "starts_at": "2027-06-28T08:00",
    "ends_at": "2027-06-29T18:00",
    "venue": "Dworzec Główny",
    "capacity": "20",
    "max_companions": "0",
    "hold_hours": "48",
    "reserved_for_allies": "",
    "allies_only": "y",
}


def add_registration(app, event_id, number, **extra):
    with app.app_context():
        data = {"full_name": f"Osoba {number}", "email": f"osoba{number}@example.org", **extra}
        return register(load_event(event_id), data).registration.id


def test_event_pages_need_login(client, coalition):
    assert client.get("/panel/wydarzenia/").status_code == 302
    assert client.post("/panel/wydarzenia/nowe").status_code in (302, 400)


def test_create_in_warsaw_time_publish_and_see_it(app, client, auth, coalition):
    auth.login()
    form_page = client.get("/panel/wydarzenia/nowe")
    response = client.post("/panel/wydarzenia/nowe", data={"csrf_token": csrf_token_from(form_page), **EVENT_FORM})
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.slug == "wizyta-studyjna-we-wroclawiu"
        assert event.starts_at.hour == 6  # 08:00 in Warsaw summer time is 06:00 UTC
        assert event.status == "draft" and event.allies_only and event.capacity == 20
    assert client.get("/sasiedztwa/wydarzenia/wizyta-studyjna-we-wroclawiu").status_code == 404
    client.post(f"/panel/wydarzenia/{event.id}/publikuj", data={"csrf_token": auth.csrf()})
    public = client.get("/sasiedztwa/wydarzenia/wizyta-studyjna-we-wroclawiu").get_data(as_text=True)
    assert "28 czerwca 2027, 08:00" in public

    edit_page = client.get(f"/panel/wydarzenia/{event.id}/edycja").get_data(as_text=True)
    assert 'value="2027-06-28T08:00"' in edit_page  # shown back in Warsaw time

    with app.app_context():
        log = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(entry.summary, entry.subject_id, entry.coordinator_name) for entry in log] == [
            ("Wizyta studyjna we Wrocławiu: utworzono wersję roboczą", event.id, "Koordynatorka Testowa"),
            ("Wizyta studyjna we Wrocławiu: opublikowano", event.id, "Koordynatorka Testowa"),
        ]


def test_event_form_errors_are_explained(client, auth, coalition):
    auth.login()
    token = csrf_token_from(client.get("/panel/wydarzenia/nowe"))
    response = client.post(
        "/panel/wydarzenia/nowe",
        data={"csrf_token": token, **EVENT_FORM, "ends_at": "2027-06-27T08:00", "capacity": "5", "reserved_for_allies": "9"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Koniec musi być później niż początek." in page
    assert "Zarezerwowanych miejsc nie może być więcej niż wszystkich." in page


def test_unticking_a_box_in_the_edit_form_sticks(app, client, auth, coalition):
    event_id = make_event(app, allies_only=True)
    auth.login()
    token = auth.csrf()
    data = {key: value for key, value in EVENT_FORM.items() if key != "allies_only"}
    assert client.post(f"/panel/wydarzenia/{event_id}/edycja", data={"csrf_token": token, **data}).status_code == 303
    with app.app_context():
        assert load_event(event_id).allies_only is False


def test_registrations_page_shows_needs_and_approval_buttons(app, client, auth, coalition):
    event_id = make_event(app, requires_approval=True)
    registration_id = add_registration(app, event_id, 1, needs="Dieta bezglutenowa")
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        registration.status = "approval"
        db.session.commit()
    auth.login()
    page = client.get(f"/panel/wydarzenia/{event_id}").get_data(as_text=True)
    assert "Dieta bezglutenowa" in page and "Przyjmij" in page
    response = client.post(
        f"/panel/wydarzenia/zapisy/{registration_id}/decyzja", data={"decision": "approve", "csrf_token": auth.csrf()}
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Registration, registration_id).status == "confirmed"


def test_cancel_event_needs_explicit_confirmation(app, client, auth, coalition):
    event_id = make_event(app)
    add_registration(app, event_id, 1)
    auth.login()
    client.post(f"/panel/wydarzenia/{event_id}/odwolaj", data={"csrf_token": auth.csrf()})
    with app.app_context():
        assert load_event(event_id).status == "published"
    client.post(f"/panel/wydarzenia/{event_id}/odwolaj", data={"csrf_token": auth.csrf(), "confirm": "tak"})
    with app.app_context():
        assert load_event(event_id).status == "cancelled"
        assert db.session.scalar(select(OutboxMessage.recipient).where(OutboxMessage.template == "event_cancelled_to_registrant")) == "osoba1@example.org"


def test_message_to_registrants_goes_through_the_outbox(app, client, auth, coalition):
    event_id = make_event(app, capacity=1)
    add_registration(app, event_id, 1)
    add_registration(app, event_id, 2)  # waiting list
    add_registration(app, make_event(app, slug="inne", title="Inne wydarzenie"), 3)  # another event's registration
    auth.login()
    token = csrf_token_from(client.get(f"/panel/wydarzenia/{event_id}/wiadomosc"))

    def send(audience, subject):
        client.post(
            f"/panel/wydarzenia/{event_id}/wiadomosc",
            data={"csrf_token": token, "audience": audience, "subject": subject, "body": "Spotykamy się w **sali B**."},
        )
        with app.app_context():
            return db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == subject)).all()

    messages = send("z-miejscem", "Zmiana sali")
    assert [m.recipient for m in messages] == ["osoba1@example.org"]
    assert "<strong>sali B</strong>" in messages[0].body_html and messages[0].template == "event_message_to_registrant"
    assert "Auto-Submitted" not in messages[0].headers  # a person wrote it: an answer is welcome
    assert sorted(m.recipient for m in send("wszyscy", "Do wszystkich")) == ["osoba1@example.org", "osoba2@example.org"]
    with app.app_context():
        summaries = db.session.scalars(select(AuditEntry.summary).order_by(AuditEntry.id)).all()
    assert summaries[-2:] == ["Gala Sojuszników Sąsiedztw: wiadomość do zapisanych osób: Zmiana sali",
                              "Gala Sojuszników Sąsiedztw: wiadomość do zapisanych osób: Do wszystkich"]


def test_check_in_by_name_by_code_and_one_tap(app, client, auth, coalition):
    event_id = make_event(app)
    registration_id = add_registration(app, event_id, 1, full_name="Łucja Żak", email="lucja@example.org")
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        registration.status = "confirmed"
        code = registration.code
        db.session.commit()
        signature = sign_declaration(current_declaration(), {"kind": "person", "full_name": "Łucja Żak", "email": "lucja@example.org"}).signature
        signature.status = SignatureStatus.APPROVED
        refresh_listing(signature)
        db.session.commit()
    auth.login()
    found = client.get(f"/panel/wydarzenia/{event_id}/wejscie?q=lucja", headers={"HX-Request": "true"})
    fragment = found.get_data(as_text=True)
    assert "<html" not in fragment and "Łucja Żak" in fragment and "Jest obecna/y" in fragment
    by_code = client.get(f"/panel/wydarzenia/{event_id}/wejscie?kod={code[:4]}-{code[4:].lower()}").get_data(as_text=True)
    assert "Łucja Żak" in by_code
    tapped = client.post(
        f"/panel/wydarzenia/zapisy/{registration_id}/obecnosc",
        data={"attended": "1"},
        headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()},
    )
    assert "Obecna/y od" in tapped.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Registration, registration_id).attended_at is not None
    # The ally's record shows the event they attended.
    approved = client.get("/panel/podpisy?stan=approved").get_data(as_text=True)
    assert "Był(a) na: Gala Sojuszników Sąsiedztw" in approved
    assert "Nie ma zapisu z kodem" in client.get(f"/panel/wydarzenia/{event_id}/wejscie?kod=ZZZZ").get_data(as_text=True)


def test_a_decision_made_already_is_refused_and_named(app, client, auth, coalition):
    event_id = make_event(app, requires_approval=True)
    registration_id = add_registration(app, event_id, 1)
    with app.app_context():
        db.session.get(Registration, registration_id).status = "approval"
        db.session.commit()
    auth.login()
    token = auth.csrf()
    path = f"/panel/wydarzenia/zapisy/{registration_id}/decyzja"
    assert client.post(path, data={"decision": "approve", "csrf_token": token}).status_code == 303
    for decision in ("approve", "reject"):
        again = client.post(path, data={"decision": decision, "csrf_token": token})
        assert again.status_code == 303
        assert "To zgłoszenie zostało już przyjęte." in client.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Registration, registration_id).status == "confirmed"
        templates = db.session.scalars(select(OutboxMessage.template).where(OutboxMessage.recipient == "osoba1@example.org")).all()
        assert templates.count("registration_confirmed_to_registrant") == 1
        assert "registration_rejected_to_registrant" not in templates
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.subject_type == "registration")) == 1


def test_publishing_twice_says_it_is_published(app, client, auth, coalition):
    event_id = make_event(app, status="draft")
    auth.login()
    client.post(f"/panel/wydarzenia/{event_id}/publikuj", data={"csrf_token": auth.csrf()})
    again = client.post(f"/panel/wydarzenia/{event_id}/publikuj", data={"csrf_token": auth.csrf()})
    assert "To wydarzenie jest już opublikowane." in client.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


def test_a_second_tap_at_the_door_shows_the_first_one(app, client, auth, coalition):
    event_id = make_event(app)
    registration_id = add_registration(app, event_id, 1)
    auth.login()
    headers = {"HX-Request": "true", "X-CSRFToken": auth.csrf()}
    path = f"/panel/wydarzenia/zapisy/{registration_id}/obecnosc"
    client.post(path, data={"attended": "1"}, headers=headers)
    second = client.post(path, data={"attended": "1"}, headers=headers).get_data(as_text=True)
    assert "Obecność tej osoby jest już potwierdzona." in second and "Obecna/y od" in second
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


def test_the_csv_export_is_recorded_by_its_operation(app, client, auth, coalition):
    event_id = make_event(app)
    add_registration(app, event_id, 1)
    auth.login()
    assert client.get(f"/panel/wydarzenia/{event_id}/zapisy.csv").status_code == 200
    with app.app_context():
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert (entry.subject_type, entry.subject_id, entry.coordinator_name) == ("event", event_id, "Koordynatorka Testowa")
        assert entry.summary == "Gala Sojuszników Sąsiedztw: pobrano listę zapisów (CSV)"
