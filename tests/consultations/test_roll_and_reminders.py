"""Who has a voice, and who is written to: the roll taken at the opening, one voice per
organisation and its representative, reminders to those who have not taken part, the resend
form that never tells who is a member, and what a withdrawal or the purge leaves of a voice."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from koalicja.coalitions.models import Declaration
from koalicja.consultations.models import Consultation, ConsultationMember, ConsultationOption
from koalicja.consultations.operations import (
    AlreadyClosed,
    AlreadyRepresentative,
    LinkReplaced,
    MeetingVoicesOnly,
    NotAnOrganisation,
    NotARepresentative,
    NotOpen,
    choose_representative,
    close_consultation,
    create_consultation,
    current_opinions,
    member_from_token,
    member_key,
    open_consultation,
    open_meeting_decision,
    organisation_entries,
    record_voice,
    resend_links,
    send_reminders,
    tick,
)
from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import Event
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.privacy.operations import purge
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import delete_signature, withdraw_signature
from koalicja.timeutil import utcnow

from ..conftest import current_declaration
from .conftest import (
    KRS,
    ROLL_SIZE,
    account,
    add_entry,
    consultation_data,
    member_in,
    member_of,
    open_now,
    option_id,
    voice_token_of,
)

WHY = "wysyłamy ją także osobom, które wypisały się z ogłoszeń"
LINKED = ["anna@zablocie.example.org", "ewa@example.org", "jan@example.org", "zofia@example.org"]


def mail(template):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template).order_by(OutboxMessage.id)).all()


def recipients(template):
    return sorted(message.recipient for message in mail(template))


def counts(consultation):
    return [o.votes for o in db.session.scalars(
        select(ConsultationOption)
        .where(ConsultationOption.consultation_id == consultation.id)
        .order_by(ConsultationOption.position)
    )]


# ---- the roll -------------------------------------------------------------------------------


def test_the_roll_is_the_approved_allies_at_the_opening_one_voice_per_organisation(ctx, allies, coordinator):
    consultation = open_now(coordinator)
    members = db.session.scalars(select(ConsultationMember).where(ConsultationMember.consultation_id == consultation.id)).all()
    assert consultation.roll_size == len(members) == ROLL_SIZE
    assert sorted(m.signature_id for m in members) == sorted(
        [allies.zofia, allies.jan, allies.unsubscribed, allies.anna, allies.paper]  # not bartek: anna holds the voice
    )
    assert sorted(m.member_key for m in members) == sorted(
        ["person:zofia@example.org", "person:jan@example.org", "person:ewa@example.org", f"krs:{KRS}", f"entry:{allies.paper}"]
    )
    assert [m.is_organisation for m in members if m.signature_id == allies.anna] == [True]
    assert {m.signature_id: m.invited_at is not None for m in members}[allies.paper] is False  # no address, no link

    # Invitations to every member with an address, also to the one who unsubscribed from announcements, saying why.
    assert recipients("consultation_invitation_to_member") == LINKED
    invitation = next(m for m in mail("consultation_invitation_to_member") if m.recipient == "ewa@example.org")
    assert WHY in invitation.body_text and WHY in invitation.body_html
    assert "/sasiedztwa/konsultacje/glos/" in invitation.body_text and "/wycofaj/" in invitation.body_text
    organisation = next(m for m in mail("consultation_invitation_to_member") if m.recipient == "anna@zablocie.example.org")
    assert "w imieniu organizacji Stowarzyszenie Sąsiedzi z Zabłocia" in organisation.body_text
    assert "w imieniu organizacji Stowarzyszenie Sąsiedzi z Zabłocia" in organisation.body_html
    assert member_in(organisation.body_html).signature_id == allies.anna  # each member's own link
    assert member_in(organisation.body_text).signature_id == allies.anna

    # An ally approved after the opening is not on this roll; the next consultation's roll has them
    # (and a mailbox that signed another of the coalition's declarations too is still one voice).
    add_entry(current_declaration(), "Nowa Sojuszniczka", "nowa@example.org", approved_days_ago=0)
    older = Declaration(coalition=consultation.coalition, title="Wcześniejsza deklaracja", is_current=False)
    add_entry(older, "Zofia Łukasik", "zofia@example.org", approved_days_ago=0)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(ConsultationMember.consultation_id == consultation.id)) == ROLL_SIZE
    assert open_now(coordinator, title="Następna").roll_size == ROLL_SIZE + 1


def test_what_makes_one_voice():
    """member_key: the same organisation by KRS, else NIP, else REGON, else its folded name; a
    person by mailbox; a paper entry without an address on its own."""
    def organisation(**columns):
        return Signature(id=9, kind="organisation", organisation_name="Koło  Gospodyń Wiejskich w Łące", email="a@b.pl",
                         email_key="a@b.pl", **{"krs": "", "nip": "", "regon": ""} | columns)

    assert member_key(organisation(krs="0000123456", nip="5260250995")) == "krs:0000123456"
    assert member_key(organisation(nip="5260250995", regon="012345678")) == "nip:5260250995"
    assert member_key(organisation(regon="012345678")) == "regon:012345678"
    assert member_key(organisation()) == "org:kolo gospodyn wiejskich w lace"
    assert member_key(Signature(id=3, kind="person", email="Ala@X.pl", email_key="ala@x.pl")) == "person:ala@x.pl"
    assert member_key(Signature(id=4, kind="person", email="", email_key="paper:abc")) == "entry:4"


def test_the_coordinator_gives_the_organisations_link_to_another_representative(ctx, allies, coordinator):
    consultation = open_now(coordinator, secret=True)
    organisation = member_of(consultation, allies.anna)
    old_token = voice_token_of(organisation)
    assert [s.id for s in organisation_entries(organisation)] == [allies.anna, allies.bartek]  # first approved first
    assert organisation_entries(member_of(consultation, allies.zofia)) == []
    record_voice(organisation, [option_id(consultation, 2)])

    refused_zofia = member_of(consultation, allies.zofia)
    with pytest.raises(NotAnOrganisation):
        choose_representative(refused_zofia, allies.zofia, account(coordinator))
    for not_theirs in (allies.zofia, allies.rejected, allies.withdrawn, 12345):
        with pytest.raises(NotARepresentative):
            choose_representative(organisation, not_theirs, account(coordinator))
    with pytest.raises(AlreadyRepresentative):
        choose_representative(organisation, allies.anna, account(coordinator))

    choose_representative(organisation, allies.bartek, account(coordinator))
    with pytest.raises(LinkReplaced):
        member_from_token(old_token)  # anna's link died
    moved = member_from_token(voice_token_of(organisation))
    assert moved.signature_id == allies.bartek and moved.id == organisation.id
    assert recipients("consultation_invitation_to_member") == sorted([*LINKED, "bartek@zablocie.example.org"])
    assert "przekazała Ci głos Twojej organizacji" in mail("consultation_invitation_to_member")[-1].body_text
    # The voice is the organisation's: still counted, and the new representative may change it.
    assert counts(consultation) == [0, 1, 0]
    record_voice(moved, [option_id(consultation, 3)])
    assert counts(consultation) == [0, 0, 1]
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.summary.endswith("link organizacji przekazano: Stowarzyszenie Sąsiedzi z Zabłocia")

    close_consultation(consultation, now=consultation.closes_at)
    with pytest.raises(AlreadyClosed):
        choose_representative(organisation, allies.anna, account(coordinator))


def test_a_representative_without_an_address_cannot_hold_the_link(ctx, allies, coordinator):
    declaration = current_declaration()
    paper_representative = add_entry(declaration, "Celina Papier", "", kind="organisation",
                                  organisation_name="Stowarzyszenie Sąsiedzi z Zabłocia", krs=KRS, origin="paper")
    db.session.commit()
    consultation = open_now(coordinator)
    organisation = member_of(consultation, allies.anna)
    assert paper_representative.id in [s.id for s in organisation_entries(organisation)]
    with pytest.raises(NotARepresentative):
        choose_representative(organisation, paper_representative.id, account(coordinator))


# ---- reminders ------------------------------------------------------------------------------


def test_the_automatic_reminder_goes_once_to_those_who_have_not_taken_part(ctx, allies, coordinator):
    consultation = open_now(coordinator, reminder_days=2)
    record_voice(member_of(consultation, allies.zofia), [option_id(consultation, 1)])
    due = consultation.closes_at - timedelta(days=2)

    assert tick(now=due - timedelta(minutes=1))["reminded"] == 0
    assert tick(now=due) == {"opened": 0, "reminded": 3, "closed": 0}
    assert recipients("consultation_reminder_to_member") == ["anna@zablocie.example.org", "ewa@example.org", "jan@example.org"]
    reminder = next(m for m in mail("consultation_reminder_to_member") if m.recipient == "ewa@example.org")
    assert WHY in reminder.body_text  # unsubscribed from announcements, still reminded of the vote
    assert tick(now=due + timedelta(hours=1))["reminded"] == 0  # once
    assert db.session.get(Consultation, consultation.id).reminder_sent_at == due

    without = open_now(coordinator, reminder_days=None, title="Bez przypomnienia")
    assert tick(now=without.closes_at - timedelta(minutes=1))["reminded"] == 0


def test_a_reminder_by_hand_skips_who_took_part_and_who_was_just_reminded(ctx, allies, coordinator):
    now = utcnow()
    consultation = open_now(coordinator, now=now, reminder_days=1)
    record_voice(member_of(consultation, allies.jan), [option_id(consultation, 1)], now=now)
    assert send_reminders(consultation, account(coordinator), now=now) == 3
    assert send_reminders(consultation, account(coordinator), now=now + timedelta(hours=1)) == 0  # a double click
    record_voice(member_of(consultation, allies.zofia), [option_id(consultation, 1)], now=now + timedelta(hours=2))
    assert send_reminders(consultation, account(coordinator), now=now + timedelta(hours=13)) == 2
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.summary.endswith("wysłano przypomnienie") and entry.details == {"recipients": 2}
    # The automatic one still goes to who has not voted since its window began.
    assert tick(now=consultation.closes_at - timedelta(days=1))["reminded"] == 2
    assert len(mail("consultation_reminder_to_member")) == 7


def test_reminders_only_while_it_takes_voices(ctx, allies, coordinator):
    now = utcnow()
    scheduled = create_consultation(
        db.session.get(Consultation, open_now(coordinator).id).coalition,
        consultation_data(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=3)),
        account(coordinator),
    )
    open_consultation(scheduled, account(coordinator), now=now)
    with pytest.raises(NotOpen):
        send_reminders(scheduled, account(coordinator), now=now)
    consultation = open_now(coordinator, now=now)
    with pytest.raises(AlreadyClosed):
        send_reminders(consultation, account(coordinator), now=consultation.closes_at)
    event = Event(coalition_id=consultation.coalition_id, title="Posiedzenie", slug="posiedzenie", starts_at=now, ends_at=now,
                  is_members_meeting=True)
    db.session.add(event)
    db.session.commit()
    decision = open_meeting_decision(event, consultation_data(kind="decision"), account(coordinator), now=now)
    with pytest.raises(MeetingVoicesOnly):
        send_reminders(decision, account(coordinator), now=now)
    assert mail("consultation_reminder_to_member") == []


# ---- "nie mam linku" ------------------------------------------------------------------------


def test_resend_says_nothing_and_mails_only_an_address_on_a_running_roll(ctx, allies, coordinator):
    consultation = open_now(coordinator)
    coalition = consultation.coalition
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    for address in ("nikt@example.org", "odrzucona@example.org", "bartek@zablocie.example.org", ""):  # not link holders
        assert resend_links(coalition, address) is None
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == before

    assert resend_links(coalition, "  ZOFIA@example.org ") is None  # the same answer
    resent = mail("consultation_invitation_to_member")[-1]
    assert resent.recipient == "zofia@example.org" and "prosisz o ponowne przesłanie linku" in resent.body_text
    assert member_in(resent.body_text).signature_id == allies.zofia  # her link, which still works

    close_consultation(consultation, now=consultation.closes_at)
    count = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    resend_links(coalition, "zofia@example.org")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == count  # nothing runs any more


# ---- withdrawal, deletion, purge ------------------------------------------------------------


def test_a_withdrawal_keeps_a_counted_secret_voice_counted_and_drops_waiting_mail(ctx, allies, coordinator):
    consultation = open_now(coordinator, secret=True)
    zofia, jan = member_of(consultation, allies.zofia), member_of(consultation, allies.jan)
    record_voice(zofia, [option_id(consultation, 1)])
    record_voice(jan, [option_id(consultation, 2)])
    withdraw_signature(allies.zofia)
    delete_signature(allies.jan, account(coordinator))  # removed for good: the roll's row stays, without its entry
    assert counts(consultation) == [1, 1, 0]
    assert db.session.get(ConsultationMember, jan.id).signature_id is None
    assert db.session.get(ConsultationMember, zofia.id).took_part_at is not None
    assert "zofia@example.org" not in recipients("consultation_invitation_to_member")  # the unsent invitation is gone
    assert "zofia@example.org" not in recipients("consultation_receipt_to_member")
    close_consultation(consultation, now=consultation.closes_at)
    assert counts(consultation) == [1, 1, 0]
    assert db.session.get(Consultation, consultation.id).roll_size == ROLL_SIZE
    assert db.session.scalar(select(func.count()).where(ConsultationMember.took_part_at.is_not(None))) == 2


def test_the_purge_never_deletes_a_consultation_or_its_results(ctx, allies, coordinator):
    consultation = open_now(coordinator, kind="opinions")
    record_voice(member_of(consultation, allies.zofia), [], {0: "Dobry projekt."})
    close_consultation(consultation, now=consultation.closes_at)
    later = consultation.closes_at + timedelta(days=400)
    db.session.execute(
        Signature.__table__.update().where(Signature.id == allies.waiting).values(status="unconfirmed")
    )  # an old unconfirmed entry the purge does delete
    db.session.commit()
    report = purge(after_days=14, now=later)
    assert report.signatures == 1 and report.messages >= 0
    assert db.session.get(Consultation, consultation.id).status == "closed"
    assert db.session.scalar(select(func.count()).where(ConsultationMember.consultation_id == consultation.id)) == ROLL_SIZE
    assert current_opinions(member_of(consultation, allies.zofia)) == {0: "Dobry projekt."}
