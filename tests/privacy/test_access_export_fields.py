"""The right of access (RODO art. 15) gives the person everything stored about them: every field
of each signature and registration, under its own name, with its value."""
import json

from sqlalchemy import select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Registration
from koalicja.events.operations import register, set_attendance
from koalicja.extensions import db
from koalicja.mail.operations import deliver_due
from koalicja.signatures.models import Signature
from koalicja.signatures.notifications import confirmation_token
from koalicja.signatures.operations import confirm_signature, sign_declaration

from ..conftest import VALID_ORGANISATION, VALID_PERSON, csrf_token_from, current_declaration
from ..declarations.test_allies import add_ally
from ..events.conftest import load_event, make_event

SIGNATURE_FIELDS = [
    "kind", "full_name", "email", "city", "district", "organisation_name", "role", "sector", "krs", "nip", "regon",
    "origin", "contact_allowed", "public_name", "public_organisation", "status", "consents",
]
REGISTRATION_FIELDS = ["full_name", "email", "organisation", "companions", "needs", "status", "consents"]


def export_of(client, email):
    page = client.get("/panel/dane-osobowe/")
    return json.loads(client.post("/panel/dane-osobowe/", data={"email": email, "csrf_token": csrf_token_from(page)}).data)


def iso(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def test_the_export_names_every_stored_field_with_its_value(app, client, auth, coalition, coordinator):
    event_id = make_event(app, max_companions=2)
    with app.app_context():
        db.session.get(Coordinator, coordinator).is_admin = True
        db.session.commit()
        signature_id = add_ally(
            coordinator, **{**VALID_ORGANISATION, "email": "ala@example.org", "city": "Kraków", "district": "XIII Podgórze",
                            "krs": "0000123456", "contact_allowed": "y"}
        ).id
        registration_id = register(
            load_event(event_id), {"full_name": "Ala Kot", "email": "ala@example.org", "organisation": "Sąsiedzi",
                                   "companions": 1, "needs": "wegańskie"}
        ).registration.id
    auth.login()
    page = client.get("/panel/dane-osobowe/")
    response = client.post("/panel/dane-osobowe/", data={"email": " ala@example.org ", "csrf_token": csrf_token_from(page)})
    data = json.loads(response.data)

    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        registration = db.session.get(Registration, registration_id)
        assert data["email"] == "ala@example.org" and data["generated_at"].endswith("Z")
        assert data["signatures"] == [{
            "coalition": "Koalicja na rzecz sąsiedztw",
            "declaration": "Deklaracja współpracy",
            "signed_version": 1,
            "created_at": iso(signature.created_at),
            "confirmed_at": iso(signature.confirmed_at),
            "decided_at": iso(signature.decided_at),
            **{name: getattr(signature, name) for name in SIGNATURE_FIELDS},
        }]
        assert signature.decided_at and signature.krs == "0000123456" and signature.contact_allowed
        assert data["event_registrations"] == [{
            "event": "Gala Sojuszników Sąsiedztw",
            "event_starts_at": iso(registration.event.starts_at),
            "created_at": iso(registration.created_at),
            "attended_at": None,
            **{name: getattr(registration, name) for name in REGISTRATION_FIELDS},
        }]
        assert registration.companions == 1 and registration.organisation == "Sąsiedzi"
    mails = data["emails_in_outbox"]
    assert {tuple(sorted(mail)) for mail in mails} == {("created_at", "sent_at", "status", "subject")}
    assert {mail["status"] for mail in mails} == {"pending"} and all(mail["created_at"].endswith("Z") for mail in mails)


def test_a_coordinators_export_holds_this_mailbox_in_their_coalitions_only_and_is_logged(app, client, auth, coordinator):
    """Gmail ignores dots: "a.la@gmail.com" and "al.a@gmail.com" are the mailbox asked about."""
    event_id = make_event(app)
    with app.app_context():
        other = Coalition(slug="obca", name="Obca Koalicja", organiser="Fundacja")
        db.session.add_all([other, Declaration(coalition=other, title="Obca deklaracja", body="Tekst")])
        db.session.commit()
        other_event = make_event(app, coalition_id=other.id, slug="obce")
        signature = sign_declaration(current_declaration(), {**VALID_PERSON, "email": "al.a@gmail.com"}).signature
        confirm_signature(confirmation_token(signature))
        sign_declaration(current_declaration("obca"), {**VALID_PERSON, "email": "ala@gmail.com"})
        ours = register(load_event(event_id), {"full_name": "Ala Kot", "email": "A.la@gmail.com"}).registration
        register(load_event(other_event), {"full_name": "Ala Kot", "email": "ala@gmail.com"})
        register(load_event(event_id), {"full_name": "Ktoś Inny", "email": "inny@example.org"})
        set_attendance(ours, True)
        deliver_due()
    auth.login()
    data = export_of(client, "ala@gmail.com")

    assert [(s["coalition"], s["email"]) for s in data["signatures"]] == [("Koalicja na rzecz sąsiedztw", "al.a@gmail.com")]
    assert data["signatures"][0]["confirmed_at"].endswith("Z")
    assert [(r["event"], r["email"]) for r in data["event_registrations"]] == [("Gala Sojuszników Sąsiedztw", "A.la@gmail.com")]
    assert data["event_registrations"][0]["attended_at"].endswith("Z")
    assert data["emails_in_outbox"] == []  # the outbox names no coalition: an administrator's to see
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
        assert (entry.summary, entry.details, entry.coordinator_name) == (
            "Dane osobowe jednej osoby (art. 15 RODO)", {"signatures": 1, "event_registrations": 1}, "Koordynatorka Testowa"
        )
        db.session.get(Coordinator, coordinator).is_admin = True
        db.session.commit()
    data = export_of(client, "ala@gmail.com")
    assert len(data["signatures"]) == len(data["event_registrations"]) == 2
    sent = [m for m in data["emails_in_outbox"] if m["sent_at"]]
    assert len(data["emails_in_outbox"]) == len(sent) == 4 and all(m["sent_at"].endswith("Z") for m in sent)
