"""Fixing what people got wrong: a confirmation link sent again, a mistyped address corrected
(the new address confirms, nothing goes to the old one), an entry edited in coordinators' words.
Each change is audited and refused, changing nothing, when the entry moved on meanwhile."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import EntryGone, correct_email, delete_signature, resend_confirmation_link
from koalicja.timeutil import utcnow

from ..conftest import VALID_ORGANISATION, csrf_token_from
from .people import entry

TYPO = "zofia@exmaple.org"
FIXED = "zofia@example.org"


def outbox(app):
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.recipient, m.template, m.status, m.body_text) for m in messages]


def audit(app, action):
    with app.app_context():
        return [(e.details, e.summary) for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == action))]


def set_status(app, signature_id, status):
    with app.app_context():
        db.session.get(Signature, signature_id).status = status
        db.session.commit()


def mailed_long_ago(app, signature_id):
    with app.app_context():
        db.session.get(Signature, signature_id).last_mailed_at = utcnow() - timedelta(minutes=5)
        db.session.commit()


@pytest.fixture
def typo(app, coalition, coordinator):
    """An unconfirmed entry signed with a mistyped address; its confirmation e-mail still waits."""
    return entry(app, status=SignatureStatus.UNCONFIRMED, email=TYPO)


def test_a_confirmation_link_is_sent_again_once_per_interval_and_audited(app, client, auth, typo):
    auth.login()
    token = auth.csrf()
    mailed_long_ago(app, typo)
    response = client.post(f"/panel/podpisy/{typo}/nowy-link", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == f"/panel/osoby/{typo}"
    assert "Link do potwierdzenia wysłany ponownie" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert [m[:2] for m in outbox(app)] == [(TYPO, "signature_confirm_to_signer")] * 2
    assert [details for details, _ in audit(app, "confirmation_link")] == [{}]
    # Pressed again at once: the remail interval holds, nothing is sent or logged.
    client.post(f"/panel/podpisy/{typo}/nowy-link", data={"csrf_token": token})
    assert "Kolejny można wysłać po 2 minutach" in client.get(f"/panel/osoby/{typo}").get_data(as_text=True)
    assert len(outbox(app)) == 2 and len(audit(app, "confirmation_link")) == 1


def test_a_confirmed_or_withdrawn_entry_gets_no_new_link(app, client, auth, typo):
    auth.login()
    token = auth.csrf()
    mailed_long_ago(app, typo)
    set_status(app, typo, SignatureStatus.CONFIRMED)  # the person found the e-mail after all
    client.post(f"/panel/podpisy/{typo}/nowy-link", data={"csrf_token": token})
    card = client.get(f"/panel/osoby/{typo}").get_data(as_text=True)
    assert "Ten wpis nie czeka już na potwierdzenie e-mailem (teraz: Czeka na decyzję)" in card
    set_status(app, typo, SignatureStatus.WITHDRAWN)
    client.post(f"/panel/podpisy/{typo}/nowy-link", data={"csrf_token": token})
    assert "został już wycofany" in client.get(f"/panel/osoby/{typo}").get_data(as_text=True)
    assert len(outbox(app)) == 1 and audit(app, "confirmation_link") == []


def test_a_corrected_address_must_confirm_and_nothing_goes_to_the_old_one(app, client, auth, typo):
    auth.login()
    (old_link,) = [re.search(r"http://koalicja\.test(/potwierdz/\S+)", m[3]).group(1) for m in outbox(app)]
    page = client.get(f"/panel/podpisy/{typo}/adres")
    assert TYPO in page.get_data(as_text=True)
    response = client.post(f"/panel/podpisy/{typo}/adres", data={"email": FIXED, "csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    assert "Link do potwierdzenia poszedł na zofia@example.org" in client.get(response.headers["Location"]).get_data(as_text=True)
    # The confirmation waiting for the old address is dropped; one new link, to the new address only.
    mails = outbox(app)
    assert [(to, template, status) for to, template, status, _ in mails] == [(FIXED, "signature_confirm_to_signer", "pending")]
    new_link = re.search(r"http://koalicja\.test(/potwierdz/\S+)", mails[0][3]).group(1)
    (details, summary), = audit(app, "email_correction")
    assert details == {"fields": ["email"]} and "@" not in summary  # the log keeps no address
    # The old mailbox's link no longer confirms anything; the new one does.
    client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})
    old = client.get(old_link)
    assert old.status_code == 400 and "Potwierdzam" not in old.get_data(as_text=True)
    assert client.post(old_link, data={"csrf_token": csrf_token_from(old)}).status_code == 400
    with app.app_context():
        assert db.session.get(Signature, typo).status == SignatureStatus.UNCONFIRMED
    new = client.get(new_link)
    assert "Potwierdzam" in new.get_data(as_text=True)
    assert client.post(new_link, data={"csrf_token": csrf_token_from(new)}).status_code == 303
    with app.app_context():
        signature = db.session.get(Signature, typo)
        assert (signature.status, signature.email, signature.email_key) == (SignatureStatus.CONFIRMED, FIXED, FIXED)
        assert "zofia@example.org" in signature.panel_search_key


def test_an_address_is_not_corrected_once_the_entry_moved_on_or_to_one_already_signed(app, client, auth, typo):
    auth.login()
    page = client.get(f"/panel/podpisy/{typo}/adres")
    token = csrf_token_from(page)
    # The same mailbox, and an address already under the declaration: the form says so.
    same = client.post(f"/panel/podpisy/{typo}/adres", data={"email": TYPO.upper(), "csrf_token": token})
    assert same.status_code == 422 and "To ten sam adres" in same.get_data(as_text=True)
    entry(app, status=SignatureStatus.APPROVED, organisation=True)
    taken = client.post(f"/panel/podpisy/{typo}/adres", data={"email": VALID_ORGANISATION["email"], "csrf_token": token})
    assert taken.status_code == 422
    assert "Ten adres jest już pod deklaracją: Stowarzyszenie Sąsiedzi z Zabłocia" in taken.get_data(as_text=True)
    # Confirmed, then withdrawn, while the form was open: refused with what happened.
    moved_on = [(SignatureStatus.CONFIRMED, "nie czeka już na potwierdzenie"), (SignatureStatus.WITHDRAWN, "został już wycofany")]
    for status, message in moved_on:
        set_status(app, typo, status)
        response = client.post(f"/panel/podpisy/{typo}/adres", data={"email": FIXED, "csrf_token": token})
        assert response.status_code == 303 and message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert [m[0] for m in outbox(app)] == [TYPO, VALID_ORGANISATION["email"]]
    assert audit(app, "email_correction") == []
    with app.app_context():
        assert db.session.get(Signature, typo).email == TYPO


def test_an_entry_deleted_meanwhile_gets_neither(app, typo, coordinator):
    with app.app_context():
        account = db.session.get(Coordinator, coordinator)
        delete_signature(typo, account)
        for fix in (lambda: resend_confirmation_link(typo, account), lambda: correct_email(typo, FIXED, account)):
            with pytest.raises(EntryGone):
                fix()


def test_the_coordinator_s_edit_speaks_of_the_person_not_to_them(app, client, auth, coalition):
    signature_id = entry(app, status=SignatureStatus.APPROVED, organisation=True)
    auth.login()
    # The edit, and the paper entry too: the coordinator types in what the person answered.
    for url in (f"/panel/podpisy/{signature_id}/edycja", "/panel/koalicje/sasiedztwa/podpis-papierowy"):
        page = client.get(url).get_data(as_text=True)
        assert "Osoba zgodziła się na pokazanie nazwy organizacji" in page
        assert "Osoba oświadczyła, że może podpisać deklarację w imieniu tej organizacji." in page
        assert "Funkcja tej osoby w organizacji" in page
        for signer_wording in ("Jeśli zgodzisz się", "Twoja funkcja", "Zaznacz, na co się zgadzasz", "Podpisuję", "Oświadczam",
                               "jeśli podpisujesz"):
            assert signer_wording not in page, (url, signer_wording)


def test_an_address_signed_at_the_same_moment_is_refused_by_the_unique_key(app, typo, coordinator, monkeypatch):
    """On PostgreSQL the entry's row lock does not stop another signing with the new address
    between the check and the write: the unique key refuses it, and nothing is changed or sent."""
    from koalicja.signatures import operations

    entry(app, status=SignatureStatus.CONFIRMED, email=FIXED, full_name="Druga Zofia")
    looked_up = operations._signature_for_mailbox
    calls = []

    def misses_it_once(declaration, key):  # the other signature lands just after the check
        calls.append(key)
        return None if len(calls) == 1 else looked_up(declaration, key)

    monkeypatch.setattr(operations, "_signature_for_mailbox", misses_it_once)
    with app.app_context():
        with pytest.raises(operations.AddressTaken) as taken:
            correct_email(typo, FIXED, db.session.get(Coordinator, coordinator))
        assert taken.value.signature.full_name == "Druga Zofia"
    assert [m[0] for m in outbox(app)] == [TYPO, FIXED]  # the typo's own link and the other signer's, nothing new
    assert audit(app, "email_correction") == []
    with app.app_context():
        assert db.session.get(Signature, typo).email == TYPO
