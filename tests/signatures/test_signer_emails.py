"""Every e-mail a signer gets says what it is about in its subject, carries the link to withdraw
the signature (RODO art. 7(3)) that opens the withdrawal page, and is filed under its entry (a
withdrawal drops what is still waiting); the links it is about work."""
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from koalicja.coalitions.models import VersionKind
from koalicja.coordinators.models import Coordinator
from koalicja.declarations.operations import invite_to_endorse, publish_version, start_draft
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import REMAIL_INTERVAL, decide_signature, send_withdraw_links, sign_declaration

from ..conftest import VALID_PERSON, current_declaration

COALITION = "Koalicja na rzecz sąsiedztw"
ALLIES_PAGE = "http://koalicja.test/sasiedztwa/sojusznicy"


def mails():
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def link(message, path):
    [found] = set(re.findall(rf"http://koalicja\.test/{path}/\S+", message.body_text))
    return urlsplit(found).path


def check(message, subject, signature_id, allies_link=False, withdraw_footer=True):
    assert message.recipient == VALID_PERSON["email"] and message.subject == subject
    assert message.about == f"signature:{signature_id}"
    assert COALITION in message.body_text
    assert (ALLIES_PAGE in message.body_text) == allies_link
    assert ("Chcesz wycofać podpis" in message.body_text) == withdraw_footer
    return link(message, "wycofaj")


def test_the_emails_of_a_signature_from_the_link_to_the_annex(app, client, coalition, coordinator):
    with app.app_context():
        signature = sign_declaration(current_declaration(), VALID_PERSON).signature
        signature_id = signature.id
        [confirm] = mails()
        withdraw = check(confirm, f"Potwierdź podpis pod deklaracją: {COALITION}", signature_id)
        assert "Link jest ważny przez 7 dni." in confirm.body_text
        confirm_path = link(confirm, "potwierdz")

    assert "Potwierdzam" in client.get(confirm_path).get_data(as_text=True)
    assert "wycofać" in client.get(withdraw).get_data(as_text=True)
    with app.app_context():
        boss = db.session.get(Coordinator, coordinator)
        signature = db.session.get(type(signature), signature_id)
        signature.status = SignatureStatus.CONFIRMED
        signature.last_mailed_at -= REMAIL_INTERVAL
        db.session.commit()
        sign_declaration(current_declaration(), VALID_PERSON)  # again, confirmed, a while later
        check(mails()[-1], f"Twój podpis pod deklaracją jest już zapisany: {COALITION}", signature_id, allies_link=True)

        decide_signature(signature_id, "approve", boss)
        check(mails()[-1], f"Witamy w gronie sojuszników: {COALITION}", signature_id, allies_link=True)

        db.session.get(type(signature), signature_id).last_mailed_at -= REMAIL_INTERVAL
        db.session.commit()
        send_withdraw_links(VALID_PERSON["email"])
        withdraw_link = mails()[-1]
        again = check(withdraw_link, f"Link do wycofania podpisu: {COALITION}", signature_id, withdraw_footer=False)
        assert again.split(".")[0] == withdraw.split(".")[0]  # the same entry and nonce, signed later

        coalition_row = current_declaration().coalition
        annex = start_draft(coalition_row, VersionKind.ANNEX, "Aneks o zespole", "Treść aneksu.", boss)
        publish_version(annex, boss)
        assert invite_to_endorse(annex, boss) == 1
        invitation = mails()[-1]
        check(invitation, f"Prośba o poparcie aneksu do deklaracji: {COALITION}", signature_id)
        assert "Link jest ważny przez 60 dni." in invitation.body_text
        assert "dodaliśmy aneks nr 1: „Aneks o zespole”." in invitation.body_text
        assert "http://koalicja.test/sasiedztwa/deklaracja/aneks-1" in invitation.body_text
        endorse_path = link(invitation, "poparcie")
    assert "Popieram aneks" in client.get(endorse_path).get_data(as_text=True)
