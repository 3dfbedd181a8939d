"""A coordinator takes back a decision made a moment ago ("Cofnij" in the queue row)."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from koalicja.coordinators.audit import AuditAction, AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage, OutboxStatus
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import (
    Decision,
    DecisionNotUndoable,
    decide_signature,
    edit_signature,
    sign_declaration,
    undo_decision,
    undoable_decisions,
)
from koalicja.timeutil import utcnow

from ..conftest import VALID_PERSON, Auth, current_declaration


def waiting_entry():
    signature = sign_declaration(current_declaration(), dict(VALID_PERSON)).signature
    signature.status = SignatureStatus.CONFIRMED
    signature.confirmed_at = utcnow()
    db.session.commit()
    return signature.id


def welcome_mail(signature_id):
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.about == f"signature:{signature_id}", OutboxMessage.template == "signature_approved_to_signer"
        )
    ).all()


def test_an_approval_undone_waits_again_unlisted_without_its_welcome_and_is_audited(app, coordinator):
    with app.app_context():
        account = db.session.get(Coordinator, coordinator)
        signature_id = waiting_entry()
        decide_signature(signature_id, Decision.APPROVE, account)
        assert len(welcome_mail(signature_id)) == 1
        assert undoable_decisions([db.session.get(Signature, signature_id)], account) == {signature_id}

        undone = undo_decision(signature_id, account)

        signature = db.session.get(Signature, signature_id)
        assert (signature.status, signature.listed, signature.decided_by_id, signature.approved_at) == (
            SignatureStatus.CONFIRMED, False, None, None)
        assert not undone.mail_already_sent and welcome_mail(signature_id) == []
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.subject_id) == (AuditAction.UNDO, signature_id)
        assert entry.details["status"] == ["approved", "confirmed"]
        # Approved again later, the person is welcomed then.
        decide_signature(signature_id, Decision.APPROVE, account)
        assert len(welcome_mail(signature_id)) == 1


def test_undo_after_the_welcome_went_says_so_and_a_new_approval_does_not_welcome_twice(app, coordinator):
    with app.app_context():
        account = db.session.get(Coordinator, coordinator)
        signature_id = waiting_entry()
        decide_signature(signature_id, Decision.APPROVE, account)
        welcome_mail(signature_id)[0].status = OutboxStatus.SENT
        db.session.commit()

        assert undo_decision(signature_id, account).mail_already_sent
        decide_signature(signature_id, Decision.APPROVE, account)
        assert len(welcome_mail(signature_id)) == 1


@pytest.mark.parametrize("meanwhile", ["edited", "too late", "another coordinator"])
def test_undo_is_refused_when_something_happened_since(app, coordinator, meanwhile):
    with app.app_context():
        account = db.session.get(Coordinator, coordinator)
        signature_id = waiting_entry()
        decide_signature(signature_id, Decision.REJECT, account)
        if meanwhile == "edited":
            edit_signature(signature_id, {"city": "Tarnów"}, account)
        elif meanwhile == "too late":
            db.session.get(Signature, signature_id).decided_at -= timedelta(minutes=11)
            db.session.commit()
        else:
            account = create_coordinator("inna@example.org", "Inna Koordynatorka", "inne-haslo-2026")
            account.is_admin = True
            db.session.commit()

        with pytest.raises(DecisionNotUndoable):
            undo_decision(signature_id, account)
        assert db.session.get(Signature, signature_id).status == SignatureStatus.REJECTED
        assert undoable_decisions([db.session.get(Signature, signature_id)], account) == set()


def test_cofnij_in_the_queue_returns_the_entry_and_a_second_press_is_refused_in_the_row(app, client, auth):
    auth.login()
    with app.app_context():
        signature_id = waiting_entry()
    token = Auth(client).csrf()
    decision = {"decision": "approve", "seen": "confirmed", "csrf_token": token}
    client.post(f"/panel/podpisy/{signature_id}/decyzja", data=decision, headers={"HX-Request": "true"})
    queue = client.get("/panel/podpisy?stan=approved").get_data(as_text=True)
    assert f'action="/panel/podpisy/{signature_id}/cofnij"' in queue

    undone = client.post(f"/panel/podpisy/{signature_id}/cofnij", data={"csrf_token": token})  # a plain form, no JavaScript
    assert undone.status_code == 303
    assert "Decyzja cofnięta: Zofia Łukasik znowu czeka na decyzję." in client.get(undone.location).get_data(as_text=True)
    again = client.post(f"/panel/podpisy/{signature_id}/cofnij", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert "Tej decyzji nie można już cofnąć" in again.get_data(as_text=True)
    assert "cofnij" not in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == SignatureStatus.CONFIRMED
