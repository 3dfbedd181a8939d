"""The right of access (RODO art. 15) gives the person everything stored about them: every field
of each signature and registration, under its own name, with its value."""
import json

from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Registration
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.signatures.models import Signature

from ..conftest import VALID_ORGANISATION, csrf_token_from
from ..declarations.test_allies import add_ally
from ..events.conftest import load_event, make_event

SIGNATURE_FIELDS = [
    "kind", "full_name", "email", "city", "district", "organisation_name", "role", "sector", "krs", "nip", "regon",
    "origin", "contact_allowed", "public_name", "public_organisation", "status", "consents",
]
REGISTRATION_FIELDS = ["full_name", "email", "organisation", "companions", "needs", "status", "consents"]


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
