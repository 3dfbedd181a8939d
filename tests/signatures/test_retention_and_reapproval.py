"""Behaviour of signatures that a sample of mutants showed no test pinned down (issue #19):
the purge forgets only what was never confirmed, and a re-approval after a rejection does
not welcome the signer a second time."""
from datetime import timedelta

from sqlalchemy import func, select

from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.privacy.operations import purge
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import edit_signature, refresh_listing, sign_declaration

from ..conftest import VALID_ORGANISATION, VALID_PERSON, Auth, current_declaration

OLD = timedelta(days=400)  # far older than any cutoff


def old_signature(email, full_name, status):
    """A signature made OLD ago, in `status` (approved ones listed), committed."""
    signature = sign_declaration(current_declaration(), {**VALID_PERSON, "email": email, "full_name": full_name}).signature
    signature.created_at -= OLD
    signature.status = status
    if status == SignatureStatus.APPROVED:
        signature.approved_at = signature.decided_at = signature.created_at + timedelta(days=1)
        refresh_listing(signature)
    db.session.commit()
    return signature.id


def test_the_purge_forgets_old_unconfirmed_signatures_and_keeps_old_confirmed_approved_and_rejected_ones(app, client, coalition):
    with app.app_context():
        kept = {
            status: old_signature(f"{status.value}@example.org", f"Osoba {status.value}", status)
            for status in (SignatureStatus.CONFIRMED, SignatureStatus.APPROVED, SignatureStatus.REJECTED)
        }
        stale = old_signature("stara@example.org", "Stara Niepotwierdzona", SignatureStatus.UNCONFIRMED)
        fresh = sign_declaration(current_declaration(), {**VALID_PERSON, "email": "nowa@example.org"}).signature.id

        assert purge(14).signatures == 1

        db.session.expire_all()
        assert db.session.get(Signature, stale) is None
        assert db.session.get(Signature, fresh) is not None
        assert {status: db.session.get(Signature, id).status for status, id in kept.items()} == {
            status: status for status in kept
        }
    allies = client.get(f"/{coalition}/sojusznicy").get_data(as_text=True)
    assert "Osoba approved" in allies


def decide_http(client, signature_id, decision, seen):
    return client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": decision, "seen": seen, "csrf_token": Auth(client).csrf()},
    )


def approval_mails(email):
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.recipient == email, OutboxMessage.template == "signature_approved_to_signer"
        )
    )


def test_approving_again_after_a_rejection_sends_no_second_welcome(app, client, auth, coalition):
    auth.login()
    with app.app_context():
        signature = sign_declaration(current_declaration(), dict(VALID_PERSON)).signature
        signature.status = SignatureStatus.CONFIRMED
        db.session.commit()
        signature_id, email = signature.id, signature.email

    assert decide_http(client, signature_id, "approve", "confirmed").status_code == 303
    with app.app_context():
        first_approved_at = db.session.get(Signature, signature_id).approved_at
        assert approval_mails(email) == 1
    assert decide_http(client, signature_id, "reject", "approved").status_code == 303
    assert decide_http(client, signature_id, "approve", "rejected").status_code == 303

    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.status == SignatureStatus.APPROVED
        assert signature.approved_at == first_approved_at  # the list keeps the first date
        assert approval_mails(email) == 1
    assert VALID_PERSON["full_name"] in client.get(f"/{coalition}/sojusznicy").get_data(as_text=True)


def test_a_refused_bulk_decision_decides_nothing_and_says_why(app, client, auth, coalition):
    auth.login()
    with app.app_context():
        signature = sign_declaration(current_declaration(), dict(VALID_PERSON)).signature  # unconfirmed
        db.session.commit()
        signature_id = signature.id
        before = db.session.scalar(select(func.count(OutboxMessage.id)))

    response = client.post(
        "/panel/podpisy/decyzje",
        data={"decision": "approve", "ids": [str(signature_id)], "seen": "confirmed", "csrf_token": Auth(client).csrf()},
    )

    assert response.status_code == 303
    page = client.get("/panel/podpisy").get_data(as_text=True)
    assert "Zatwierdzone wpisy: 0." in page and "Pominięte wpisy: 1" in page
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert (signature.status, signature.approved_at, signature.decided_by_id) == (SignatureStatus.UNCONFIRMED, None, None)
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == before


def approved_entry(**changes):
    signature = sign_declaration(current_declaration(), {**VALID_PERSON, **changes}).signature
    signature.status = SignatureStatus.APPROVED
    signature.approved_at = signature.decided_at = signature.created_at
    refresh_listing(signature)
    db.session.commit()
    return signature


def test_a_correction_never_shows_an_organisation_the_signer_hid_but_may_hide_one_shown(ctx, coalition, coordinator):
    editor = db.session.get(Coordinator, coordinator)
    hidden = approved_entry(**{**VALID_ORGANISATION, "email": "ukryta@example.org", "public_organisation": False})
    shown = approved_entry(**{**VALID_ORGANISATION, "email": "jawna@example.org"})

    assert edit_signature(hidden, {"public_name": True, "public_organisation": True}, editor) == []
    assert edit_signature(shown, {"public_name": True, "public_organisation": False}, editor) == ["public_organisation"]

    db.session.expire_all()
    assert (hidden.public_organisation, shown.public_organisation) == (False, False)
    assert not hidden.listed and not shown.listed
