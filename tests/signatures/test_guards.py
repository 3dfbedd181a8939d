"""Every guard of a signature's change of state, reached by calling the operation directly:
a change that no longer applies raises an error whose message names what happened, and
leaves no write, no e-mail, no audit entry and no new data version behind."""
import datetime
import io

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from koalicja.announcements.models import Announcement
from koalicja.coalitions.models import Coalition, DeclarationVersion, Endorsement, VersionKind
from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.declarations.operations import CannotEndorse, endorse_annex, invite_to_endorse
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.serving.version import DataVersion
from koalicja.signatures import operations
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.notifications import CONFIRM_PURPOSE, mail_about
from koalicja.signatures.operations import (
    AlreadyApproved,
    AlreadyRejected,
    AlreadySigned,
    AlreadyWithdrawn,
    ConfirmedMeanwhile,
    EntryGone,
    LinkUsed,
    NotConfirmedYet,
    SignOutcome,
    WithdrawnDecision,
    confirm_signature,
    decide_signature,
    decide_signatures,
    delete_signature,
    edit_signature,
    enter_paper_signature,
    resend_confirmation_links,
    send_withdraw_links,
    sign_declaration,
    withdraw_signature,
)
from koalicja.timeutil import utcnow
from koalicja.tokens import TokenInvalid, make_token

from ..conftest import VALID_PERSON, current_declaration


@pytest.fixture
def decider(ctx, coordinator):
    return db.session.get(Coordinator, coordinator)


def entry(status=SignatureStatus.CONFIRMED, email="zofia@example.org", **changes):
    """A signature in `status`, committed; the outbox emptied so that tests count only their own mail."""
    signature = sign_declaration(current_declaration(), {**VALID_PERSON, "email": email, **changes}).signature
    signature.status = status
    if status == SignatureStatus.APPROVED:
        signature.approved_at = signature.decided_at = utcnow()
        operations.refresh_listing(signature)
    if status == SignatureStatus.WITHDRAWN:
        signature.withdraw_nonce = None
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()
    return signature


def written():
    """What a refused change must leave as it was."""
    db.session.rollback()  # read afresh
    return {
        "mail": db.session.scalar(select(func.count(OutboxMessage.id))),
        "audit": db.session.scalar(select(func.count(AuditEntry.id))),
        "version": db.session.scalar(select(DataVersion.version)),
        "rows": [
            (s.id, s.status, s.listed, s.list_search_key, s.decided_at, s.full_name, s.email, s.last_mailed_at)
            for s in db.session.scalars(select(Signature).order_by(Signature.id))
        ],
    }


def refused(error_type, change):
    before = written()
    with pytest.raises(error_type) as error:
        change()
    assert written() == before, "a refused change wrote something"
    assert str(error.value.message)  # a message for the person who asked
    return error.value


# ---- decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, decision, error_type, message",
    [
        ("approved", "approve", AlreadyApproved, "Ten wpis został już zatwierdzony."),
        ("rejected", "reject", AlreadyRejected, "Ten wpis został już odrzucony."),
        ("unconfirmed", "approve", NotConfirmedYet, "osoba nie potwierdziła jeszcze podpisu"),
        ("withdrawn", "approve", WithdrawnDecision, "Ten wpis został już wycofany"),
        ("withdrawn", "reject", WithdrawnDecision, "Ten wpis został już wycofany"),
    ],
)
def test_a_decision_that_no_longer_applies_is_refused_with_its_reason(decider, status, decision, error_type, message):
    signature = entry(status)
    error = refused(error_type, lambda: decide_signature(signature, decision, decider))
    assert message in str(error.message)


@pytest.mark.parametrize(
    "seen, now, decision, error_type",
    [
        ("confirmed", "rejected", "approve", AlreadyRejected),  # another coordinator rejected it
        ("confirmed", "approved", "reject", AlreadyApproved),  # … or approved it
        ("rejected", "approved", "approve", AlreadyApproved),
        ("unconfirmed", "confirmed", "reject", ConfirmedMeanwhile),  # the signer confirmed it
        ("approved", "withdrawn", "reject", WithdrawnDecision),
    ],
)
def test_a_decision_on_an_entry_that_moved_on_since_it_was_shown_is_refused(decider, seen, now, decision, error_type):
    """The decision was taken on what the screen showed; the entry is something else now, so
    even a decision its new state would allow is not taken blindly."""
    signature = entry(now)
    refused(error_type, lambda: decide_signature(signature, decision, decider, seen=seen))
    outcome = decide_signatures([signature.id], decision, decider, seen=seen)
    assert (outcome.decided, outcome.skipped) == (0, {error_type: 1})


def test_a_decision_on_a_deleted_entry_is_refused(decider):
    signature_id = entry().id
    db.session.execute(db.delete(Signature).where(Signature.id == signature_id))
    db.session.commit()
    error = refused(EntryGone, lambda: decide_signature(signature_id, "approve", decider))
    assert "został usunięty" in str(error.message)


def test_the_decision_reads_the_row_again_not_the_object_it_was_given(decider):
    """The view loaded the row before the lock: a withdrawal committed since then wins."""
    signature = entry()
    db.session.execute(db.update(Signature).where(Signature.id == signature.id).values(status="withdrawn", withdraw_nonce=None))
    db.session.commit()
    signature.status = SignatureStatus.CONFIRMED  # what the caller still believes (stale)
    refused(WithdrawnDecision, lambda: decide_signature(signature, "approve", decider))


def test_an_approval_mails_once_and_logs_once_and_says_what_it_is_about(decider):
    signature = entry()
    decide_signature(signature, "approve", decider)
    mails = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.template, m.about) for m in mails] == [("signature_approved_to_signer", f"signature:{signature.id}")]
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1
    refused(AlreadyApproved, lambda: decide_signature(signature, "approve", decider))


def test_a_bulk_decision_counts_each_reason_and_writes_only_what_it_decides(decider):
    ready = entry(email="a@example.org")
    approved = entry("approved", email="b@example.org")
    unconfirmed = entry("unconfirmed", email="c@example.org")
    withdrawn = entry("withdrawn", email="d@example.org")
    ids = [ready.id, approved.id, unconfirmed.id, withdrawn.id, 999999]
    outcome = decide_signatures(ids, "approve", decider)
    assert outcome.decided == 1 and outcome.skipped_count == 4
    assert outcome.skipped == {AlreadyApproved: 1, WithdrawnDecision: 1, NotConfirmedYet: 1, EntryGone: 1}
    assert tuple(outcome) == (1, 4)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


def test_a_bulk_decision_with_nothing_left_to_decide_writes_nothing(decider):
    ids = [entry("approved", email="a@example.org").id, entry("withdrawn", email="b@example.org").id]
    before = written()
    outcome = decide_signatures(ids, "approve", decider)
    assert (outcome.decided, outcome.skipped) == (0, {AlreadyApproved: 1, WithdrawnDecision: 1})
    assert written() == before


def test_a_bulk_decision_skips_another_coalitions_entries_as_if_they_did_not_exist(app, ctx, coalition):
    from koalicja.panel.operations import create_coordinator

    stranger = create_coordinator("obca@example.org", "Obca Koordynatorka", "haslo-obcej-osoby")
    signature = entry()
    before = written()
    outcome = decide_signatures([signature.id], "approve", stranger)
    assert (outcome.decided, outcome.skipped) == (0, {EntryGone: 1})
    assert written() == before


# ---- withdrawal -------------------------------------------------------------------------------


def test_withdrawing_twice_is_refused_and_changes_nothing(ctx, coalition):
    signature = entry()
    withdraw_signature(signature)
    refused(AlreadyWithdrawn, lambda: withdraw_signature(signature))


def test_withdrawing_a_deleted_entry_is_refused(ctx, coalition):
    signature_id = entry().id
    db.session.execute(db.delete(Signature).where(Signature.id == signature_id))
    db.session.commit()
    refused(EntryGone, lambda: withdraw_signature(signature_id))


def test_withdrawal_after_approval_drops_the_approval_mail_not_yet_sent(decider):
    signature = entry()
    decide_signature(signature, "approve", decider)
    withdraw_signature(signature)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    row = db.session.get(Signature, signature.id)
    assert (row.status, row.listed, row.list_search_key, row.list_sort_key) == ("withdrawn", False, "", "")


def test_withdrawal_drops_only_that_entrys_own_pending_mail(ctx, coalition):
    """The entry's own mail and its coalition's announcements to the address (in any letter
    case) are dropped; mail to the same mailbox about anything else (an event, another
    coalition's signature or announcement) is still delivered."""
    signature = entry(email="Zofia@Example.org")
    operations.notify_withdraw_link(signature)  # the entry's own
    event_mail = OutboxMessage(recipient="zofia@example.org", subject="Bilet", body_text="…", about="registration:7")
    other = OutboxMessage(recipient="ZOFIA@example.org", subject="Inna koalicja", body_text="…", about="signature:999999")
    unnamed = OutboxMessage(recipient="zofia@example.org", subject="Komunikat", body_text="…")
    elsewhere = Coalition(slug="inna", name="Inna koalicja")
    ours = Announcement(coalition_id=signature.declaration.coalition_id, subject="Spotkanie", body="…")
    theirs = Announcement(coalition=elsewhere, subject="Spotkanie", body="…")
    db.session.add_all([event_mail, other, unnamed, ours, theirs])
    db.session.flush()
    our_announcement = OutboxMessage(recipient="ZOFIA@example.org", subject="Spotkanie", body_text="…", announcement_id=ours.id)
    their_announcement = OutboxMessage(recipient="zofia@example.org", subject="Spotkanie", body_text="…", announcement_id=theirs.id)
    db.session.add_all([our_announcement, their_announcement])
    db.session.commit()
    kept = {event_mail.id, other.id, unnamed.id, their_announcement.id}
    withdraw_signature(signature)
    assert set(db.session.scalars(select(OutboxMessage.id))) == kept
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.about == mail_about(signature))) == 0


def test_no_reminder_or_link_is_mailed_to_a_withdrawn_entry(ctx, coalition):
    signature = entry()
    withdraw_signature(signature)
    before = written()
    send_withdraw_links("zofia@example.org")
    resend_confirmation_links("zofia@example.org")
    assert written() == before


# ---- confirmation -------------------------------------------------------------------------------


def confirmation_token(signature, nonce=None):
    return make_token(CONFIRM_PURPOSE, {"s": signature.id, "n": nonce or signature.confirm_nonce})


@pytest.mark.parametrize(
    "status, message",
    [
        ("confirmed", "jest już potwierdzony"),
        ("approved", "jest już potwierdzony"),
        ("rejected", "odrzucony"),
        ("withdrawn", "wycofany"),
    ],
)
def test_a_used_confirmation_link_is_refused_with_what_happened(ctx, coalition, status, message):
    signature = entry("unconfirmed")
    token = confirmation_token(signature)
    db.session.execute(db.update(Signature).where(Signature.id == signature.id).values(status=status, confirm_nonce=None))
    db.session.commit()
    error = refused(LinkUsed, lambda: confirm_signature(token))
    assert message in str(error.message)


def test_the_confirmation_link_works_once(ctx, coalition):
    signature = entry("unconfirmed")
    token = confirmation_token(signature)
    assert confirm_signature(token).status == "confirmed"
    refused(LinkUsed, lambda: confirm_signature(token))


def test_a_confirmation_link_with_another_nonce_is_invalid(ctx, coalition):
    signature = entry("unconfirmed")
    before = written()
    with pytest.raises(TokenInvalid):
        confirm_signature(confirmation_token(signature, nonce="0" * 16))
    assert written() == before


# ---- corrections and deletion ---------------------------------------------------------------------


def test_a_withdrawn_entry_cannot_be_corrected_back_to_life(decider):
    signature = entry()
    withdraw_signature(signature)
    refused(AlreadyWithdrawn, lambda: edit_signature(signature, {"full_name": "Zofia Łukasik", "city": "Kraków"}, decider))


def test_a_deleted_entry_cannot_be_corrected_or_deleted_again(decider):
    signature = entry()
    signature_id = signature.id
    delete_signature(signature, decider)
    refused(EntryGone, lambda: edit_signature(signature_id, {"city": "Wrocław"}, decider))
    refused(EntryGone, lambda: delete_signature(signature_id, decider))


def test_a_correction_that_changes_nothing_logs_nothing(decider):
    signature = entry()
    before = written()
    assert edit_signature(signature, {"city": signature.city, "public_name": True}, decider) == []
    assert written() == before


# ---- signing again -------------------------------------------------------------------------------


def test_a_second_signing_within_the_interval_is_throttled_and_writes_nothing(ctx, coalition):
    entry("unconfirmed")
    db.session.execute(db.update(Signature).values(last_mailed_at=utcnow()))
    db.session.commit()
    before = written()
    assert sign_declaration(current_declaration(), VALID_PERSON).outcome == SignOutcome.THROTTLED
    assert written() == before


def test_a_collision_with_a_row_that_is_gone_signs_anew(ctx, coalition, monkeypatch):
    """The unique key refused the insert, and the row it collided with was deleted before it
    could be read: the signer is not 'reminded' of nothing (it used to call
    _remind_existing_signer(None)); the signature is made afresh."""
    stale = entry("unconfirmed")
    stale_id = stale.id
    real_lookup = operations._signature_for_mailbox
    calls = []

    def lookup(declaration, key):
        calls.append(key)
        if len(calls) == 1:
            return None  # read before the other request's row was committed
        if len(calls) == 2:  # the collision: the other row is deleted before it is read
            db.session.execute(db.delete(Signature).where(Signature.id == stale_id))
            db.session.commit()
        return real_lookup(declaration, key)

    monkeypatch.setattr(operations, "_signature_for_mailbox", lookup)
    result = sign_declaration(current_declaration(), VALID_PERSON)
    assert result.outcome == SignOutcome.NEW and result.signature.id is not None
    assert db.session.scalars(select(Signature.email)).all() == ["zofia@example.org"]
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


def test_a_collision_with_a_row_that_is_there_reminds_its_signer(ctx, coalition, monkeypatch):
    entry("unconfirmed")
    db.session.execute(db.update(Signature).values(last_mailed_at=None))
    db.session.commit()
    real_lookup = operations._signature_for_mailbox
    calls = []
    monkeypatch.setattr(
        operations, "_signature_for_mailbox", lambda d, k: calls.append(k) or (None if len(calls) == 1 else real_lookup(d, k))
    )
    assert sign_declaration(current_declaration(), VALID_PERSON).outcome == SignOutcome.LINK_RESENT
    assert db.session.scalar(select(func.count(Signature.id))) == 1


def test_a_row_withdrawn_between_the_lookup_and_the_lock_lets_the_person_sign_anew(ctx, coalition, monkeypatch):
    signature = entry("confirmed")
    real_lock = operations.lock

    def lock_after_withdrawal(model, ident):
        db.session.execute(db.update(Signature).where(Signature.id == ident).values(status="withdrawn", email_key=f"withdrawn:{ident}"))
        db.session.commit()
        monkeypatch.setattr(operations, "lock", real_lock)
        return real_lock(model, ident)

    monkeypatch.setattr(operations, "lock", lock_after_withdrawal)
    result = sign_declaration(current_declaration(), VALID_PERSON)
    assert result.outcome == SignOutcome.NEW and result.signature.id != signature.id


def test_a_paper_entry_colliding_with_a_row_gone_again_says_so_without_a_name(app, decider, monkeypatch, tmp_path):
    """The address was free when looked up, taken at the insert, and free again when looked up
    after it: AlreadySigned(None) (the panel says so without a name), and no scan left behind."""
    app.config["SCAN_FOLDER"] = str(tmp_path / "scans")
    other = entry(email="papier@example.org")
    monkeypatch.setattr(operations, "_signature_for_mailbox", lambda d, k: None)
    scan = FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="skan.pdf", content_type="application/pdf")
    data = {**VALID_PERSON, "email": "papier@example.org", "signed_on": datetime.date(2024, 5, 1)}
    with pytest.raises(AlreadySigned) as error:
        enter_paper_signature(current_declaration(), data, scan, "application/pdf", decider)
    assert error.value.signature is None
    assert db.session.scalars(select(Signature.id)).all() == [other.id]
    assert not list((tmp_path / "scans").glob("*"))


# ---- annexes ----------------------------------------------------------------------------------------


def publish_annex():
    """Published after the entries were signed (signing endorses the annexes already there)."""
    declaration = current_declaration()
    annex = DeclarationVersion(
        declaration=declaration, kind=VersionKind.ANNEX, number=1, title="Aneks nr 1", body="Tekst.", published_at=utcnow()
    )
    db.session.add(annex)
    db.session.commit()
    return annex


def test_an_endorsement_after_the_withdrawal_is_refused(decider):
    signature = entry("approved")
    annex = publish_annex()
    withdraw_signature(signature)
    signature.status = SignatureStatus.APPROVED  # what the page opened before still believes
    error = refused(CannotEndorse, lambda: endorse_annex(signature, annex))
    assert error.annex is annex
    assert db.session.scalar(select(func.count(Endorsement.id))) == 0


def test_invitations_leave_out_entries_withdrawn_before_them(decider):
    kept = entry("approved", email="a@example.org")
    gone = entry("approved", email="b@example.org")
    annex = publish_annex()
    withdraw_signature(gone)
    assert invite_to_endorse(annex, decider) == 1
    assert db.session.scalars(select(OutboxMessage.about)).all() == [mail_about(kept)]
