"""Retention (`flask purge`) and the right of access (export for one address)."""
import json
from datetime import timedelta

from sqlalchemy import func, select

from koalicja.coordinators.models import Coordinator
from koalicja.events.models import Registration
from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.mail.operations import deliver_due
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import sign_declaration

from ..conftest import VALID_PERSON, csrf_token_from, current_declaration
from ..declarations.test_allies import add_ally
from ..events.conftest import load_event, make_event


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def test_purge_forgets_stale_unconfirmed_entries_and_delivered_mail(app, runner, coalition, coordinator):
    event_id = make_event(app, capacity=1)
    with app.app_context():
        old = sign_declaration(current_declaration(), {**VALID_PERSON, "email": "stary@example.org"}).signature
        old.created_at -= timedelta(days=15)
        sign_declaration(current_declaration(), {**VALID_PERSON, "email": "nowy@example.org"})
        add_ally(coordinator, email="sojusznik@example.org")
        stale_holder = register(load_event(event_id), {"full_name": "Stary", "email": "s@example.org"}).registration
        stale_holder.created_at -= timedelta(days=15)
        waiting = register(load_event(event_id), {"full_name": "Czeka", "email": "c@example.org"}).registration
        db.session.commit()
        assert waiting.status == "waiting"
        deliver_due()

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "podpisy niepotwierdzone 1" in result.output and "zapisy niepotwierdzone 1" in result.output
    with app.app_context():
        emails = set(db.session.scalars(select(Signature.email)).all())
        assert emails == {"nowy@example.org", "sojusznik@example.org"}
        assert [r.full_name for r in db.session.scalars(select(Registration))] == ["Czeka"]
        # The purged registration held the only place: the waiting person is offered it.
        assert db.session.scalar(select(Registration.status)) == "offered"
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert "sent" not in statuses and statuses == ["pending"]  # only the new offer is left


def test_purge_drops_the_pending_mail_of_what_it_forgets(app, runner, coalition):
    """An SMTP server down for two weeks: the old entry's confirmation e-mail, still waiting,
    goes with the entry (its link would lead nowhere); the newer signer's stays."""
    with app.app_context():
        old = sign_declaration(current_declaration(), {**VALID_PERSON, "email": "stary@example.org"}).signature
        old.created_at -= timedelta(days=15)
        sign_declaration(current_declaration(), {**VALID_PERSON, "email": "nowy@example.org"})
        db.session.commit()
    assert "podpisy niepotwierdzone 1" in runner.invoke(args=["purge"]).output
    with app.app_context():
        pending = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.status == "pending")).all()
    assert pending == ["nowy@example.org"]


def test_purge_days_are_configurable(app, runner, coalition):
    with app.app_context():
        signature = sign_declaration(current_declaration(), VALID_PERSON).signature
        signature.created_at -= timedelta(days=3)
        db.session.commit()
    assert "podpisy niepotwierdzone 0" in runner.invoke(args=["purge"]).output
    assert "podpisy niepotwierdzone 1" in runner.invoke(args=["purge", "--days", "2"]).output


def test_administrator_exports_everything_about_one_address(app, client, auth, coalition, coordinator):
    """An administrator's export: every coalition's data and the e-mails in the outbox."""
    event_id = make_event(app)
    with app.app_context():
        db.session.get(Coordinator, coordinator).is_admin = True
        db.session.commit()
        add_ally(coordinator, email="Ala@Example.org", full_name="Ala Kot", city="Kraków")
        register(load_event(event_id), {"full_name": "Ala Kot", "email": "ala@example.org", "needs": "wegańskie"})
        sign_declaration(current_declaration(), {**VALID_PERSON, "email": "inna@example.org"})
    auth.login()
    page = client.get("/panel/dane-osobowe/")
    response = client.post("/panel/dane-osobowe/", data={"email": "ala@example.org", "csrf_token": csrf_token_from(page)})
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.data)
    assert [s["full_name"] for s in data["signatures"]] == ["Ala Kot"]
    assert data["signatures"][0]["city"] == "Kraków" and data["signatures"][0]["consents"]["declaration_sha256"]
    assert [r["needs"] for r in data["event_registrations"]] == ["wegańskie"]
    assert {m["subject"].split(":")[0] for m in data["emails_in_outbox"]} >= {"Potwierdź podpis pod deklaracją", "Potwierdź zapis"}
    assert "inna@example.org" not in response.get_data(as_text=True)


def test_export_is_for_coordinators_only(client, coalition):
    assert client.get("/panel/dane-osobowe/").status_code == 302
