"""The consultation's life and its voices, as operations (koalicja/consultations/operations.py):
drafts, opening, the tick, voices by link and by a coordinator, opinions, extension, close,
resolution, and every refusal on the way. Direct calls in an app context; the pages are tested
with the views."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from koalicja.coalitions.models import Coalition
from koalicja.consultations.models import (
    Consultation,
    ConsultationMember,
    ConsultationOpinion,
    ConsultationOption,
    ConsultationStatus,
)
from koalicja.consultations.operations import (
    AlreadyClosed,
    ClosingNotAfterOpening,
    ConsultationGone,
    EntryNotOnList,
    InvalidSettings,
    InvalidVoice,
    MeetingNotStarted,
    MeetingVoicesOnly,
    NoEarlyClose,
    NotADraft,
    NotAMeeting,
    NotClosedYet,
    NotLater,
    SealUnreadable,
    StillADraft,
    VotedByLink,
    close_consultation,
    consultations_of,
    create_consultation,
    current_choice,
    current_opinions,
    delete_draft,
    extend_closing,
    member_from_token,
    open_consultation,
    open_meeting_decision,
    public_consultations,
    record_voice,
    record_voice_by_coordinator,
    set_resolution,
    tick,
    update_draft,
)
from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import Event
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.operations import withdraw_signature
from koalicja.timeutil import utcnow

from ..conftest import SLUG
from .conftest import (
    CLOSES_AFTER,
    OPTIONS,
    ROLL_SIZE,
    account,
    consultation_data,
    member_of,
    open_now,
    option_id,
    voice_token_of,
)


def the_coalition():
    return db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))


def draft(coordinator, **overrides):
    return create_consultation(the_coalition(), consultation_data(**overrides), account(coordinator))


def outbox(template=None):
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        statement = statement.where(OutboxMessage.template == template)
    return db.session.scalars(statement).all()


def audit_texts():
    return [entry.summary for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def votes(consultation):
    return [
        option.votes
        for option in db.session.scalars(
            select(ConsultationOption)
            .where(ConsultationOption.consultation_id == consultation.id)
            .order_by(ConsultationOption.position)
        )
    ]


def refused(error_class, function, *args, **kwargs):
    with pytest.raises(error_class) as caught:
        function(*args, **kwargs)
    assert str(caught.value.message)  # a sentence for the person who asked
    return caught.value


# ---- drafts ---------------------------------------------------------------------------------


def test_a_draft_keeps_its_settings_and_a_decision_gets_the_three_fixed_options(ctx, coalition, coordinator):
    choice = draft(coordinator, quorum_percent="40", reminder_days="3", live_results=True, results_public=False)
    assert choice.status == ConsultationStatus.DRAFT
    assert [o.label for o in choice.options] == OPTIONS and choice.quorum_percent == 40 and choice.reminder_days == 3
    assert choice.live_results and not choice.results_public

    decision = draft(coordinator, kind="decision", options=["ignored"], rule="no_objection")
    assert [(o.position, o.code, o.label) for o in decision.options] == [(1, "for", ""), (2, "against", ""), (3, "abstain", "")]

    opinions = draft(coordinator, kind="opinions", options=["ignored"], sections=["§ 1 Cele", " ", "§ 2 Zasady"])
    assert opinions.options == [] and opinions.sections == ["§ 1 Cele", "§ 2 Zasady"]

    assert audit_texts() == [f"Konsultacja „{c.title}”: utworzono wersję roboczą" for c in (choice, decision, opinions)]
    assert outbox() == []  # a draft is nobody's business but the coordinators'


def test_a_draft_that_cannot_work_is_refused_with_a_reason(ctx, coalition, coordinator):
    for overrides in (
        {"title": "  "},
        {"kind": "ranking"},
        {"rule": "unanimity"},
        {"kind": "opinions", "secret": True},  # opinions are signed
        {"secret": True, "live_results": True},  # moving counts would tell who chose what
        {"kind": "single", "rule": "no_objection"},  # consensus is for decisions
        {"kind": "multiple", "options": ["Jedna", "  "]},
        {"quorum_percent": "0"},
        {"quorum_percent": "101"},
        {"quorum_percent": "połowa"},
        {"reminder_days": "-1"},
    ):
        refused(InvalidSettings, draft, coordinator, **overrides)
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 0
    assert audit_texts() == []


def test_a_draft_can_be_changed_and_deleted_until_it_is_opened(ctx, coalition, coordinator):
    consultation = draft(coordinator)
    update_draft(consultation, consultation_data(title="Nowy tytuł", options=["Tak", "Nie"]), account(coordinator))
    assert [o.label for o in consultation.options] == ["Tak", "Nie"]
    assert db.session.scalar(select(func.count()).select_from(ConsultationOption)) == 2  # the old rows are gone
    refused(InvalidSettings, update_draft, consultation, consultation_data(options=["Sama jedna"]), account(coordinator))
    assert [o.label for o in db.session.get(Consultation, consultation.id).options] == ["Tak", "Nie"]

    doomed = draft(coordinator, title="Do usunięcia")
    doomed_id = doomed.id
    delete_draft(doomed, account(coordinator))
    assert db.session.get(Consultation, doomed_id) is None
    refused(ConsultationGone, update_draft, doomed_id, consultation_data(), account(coordinator))
    assert "Konsultacja „Do usunięcia”: usunięto wersję roboczą" in audit_texts()


def test_nothing_but_the_closing_time_changes_once_it_is_open(ctx, allies, coordinator):
    consultation = open_now(coordinator)
    refused(NotADraft, update_draft, consultation, consultation_data(title="Inaczej"), account(coordinator))
    refused(NotADraft, delete_draft, consultation, account(coordinator))
    refused(NotADraft, open_consultation, consultation, account(coordinator))
    consultation = db.session.get(Consultation, consultation.id)
    assert consultation.title == "Kto zarządza partnerstwem w przyszłym roku?"
    assert db.session.scalar(select(func.count()).select_from(ConsultationMember)) == ROLL_SIZE  # one roll


# ---- opening and the tick -------------------------------------------------------------------


def test_opening_needs_a_closing_time_after_the_opening(ctx, allies, coordinator):
    now = utcnow()
    for opens_at, closes_at in (
        (None, None),
        (None, now),
        (None, now - timedelta(hours=1)),
        (now + timedelta(days=2), now + timedelta(days=1)),
        (now + timedelta(days=2), now + timedelta(days=2)),
    ):
        consultation = draft(coordinator, opens_at=opens_at, closes_at=closes_at)
        error = refused(ClosingNotAfterOpening, open_consultation, consultation, account(coordinator), now=now)
        assert str(error.message) == "Termin zamknięcia musi być późniejszy niż otwarcie."
        assert db.session.get(Consultation, consultation.id).status == ConsultationStatus.DRAFT
    assert db.session.scalar(select(func.count()).select_from(ConsultationMember)) == 0


def test_a_consultation_opening_later_is_scheduled_and_the_tick_opens_and_closes_it(ctx, allies, coordinator, runner):
    now = utcnow()
    opens_at, closes_at = now + timedelta(days=1), now + timedelta(days=8)
    consultation = draft(coordinator, opens_at=opens_at, closes_at=closes_at)
    open_consultation(consultation, account(coordinator), now=now)
    assert consultation.status == ConsultationStatus.SCHEDULED
    assert consultation.roll_size == 0 and outbox() == []  # the roll waits for the opening

    assert tick(now=opens_at - timedelta(minutes=1)) == {"opened": 0, "reminded": 0, "closed": 0}
    assert tick(now=opens_at) == {"opened": 1, "reminded": 0, "closed": 0}
    consultation = db.session.get(Consultation, consultation.id)
    assert consultation.status == ConsultationStatus.OPEN and consultation.opened_at == opens_at
    assert consultation.roll_size == ROLL_SIZE and len(outbox("consultation_invitation_to_member")) == 4

    assert tick(now=closes_at)["closed"] == 1
    consultation = db.session.get(Consultation, consultation.id)
    assert consultation.status == ConsultationStatus.CLOSED and consultation.closed_at == closes_at
    assert tick(now=closes_at + timedelta(days=1)) == {"opened": 0, "reminded": 0, "closed": 0}

    result = runner.invoke(args=["consultations-tick"])
    assert result.exit_code == 0 and "Konsultacje: otwarte 0, przypomnienia 0, zamknięte 0" in result.output


def test_a_scheduled_consultation_the_tick_missed_closes_with_its_roll_and_no_invitations(ctx, allies, coordinator):
    now = utcnow()
    consultation = draft(coordinator, opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2))
    open_consultation(consultation, account(coordinator), now=now)
    assert tick(now=now + timedelta(days=3)) == {"opened": 0, "reminded": 0, "closed": 1}
    consultation = db.session.get(Consultation, consultation.id)
    assert consultation.status == ConsultationStatus.CLOSED and consultation.roll_size == ROLL_SIZE
    assert outbox() == []  # nobody is invited to a consultation that is over


def test_consultations_of_the_coalition_and_those_the_public_sees(ctx, allies, coordinator):
    kept_draft = draft(coordinator, title="Robocza")
    running = open_now(coordinator, title="Trwa")
    assert [c.title for c in consultations_of(the_coalition())] == ["Trwa", "Robocza"]
    assert [c.title for c in consultations_of(the_coalition(), [ConsultationStatus.DRAFT])] == ["Robocza"]
    assert [c.id for c in public_consultations(the_coalition())] == [running.id]
    assert kept_draft.id not in [c.id for c in public_consultations(the_coalition())]


# ---- voices by link -------------------------------------------------------------------------


def test_a_voice_is_recorded_changed_and_the_same_voice_again_writes_nothing(ctx, allies, coordinator):
    consultation = open_now(coordinator)
    member = member_of(consultation, allies.zofia)
    first, second = option_id(consultation, 1), option_id(consultation, 2)
    at = consultation.opened_at + timedelta(hours=1)

    recorded = record_voice(member, [str(first)], now=at)  # as a form sends it
    assert recorded.changed and recorded.at == at
    assert votes(consultation) == [1, 0, 0] and current_choice(member) == [first]
    member = db.session.get(ConsultationMember, member.id)
    assert member.took_part_at == at and member.method == "link" and member.choice == [first]
    assert len(outbox("consultation_receipt_to_member")) == 1

    again = record_voice(member, [first], now=at + timedelta(hours=1))
    assert not again.changed and again.at == at  # nothing written: the time is the first one's
    assert len(outbox("consultation_receipt_to_member")) == 1 and votes(consultation) == [1, 0, 0]

    later = at + timedelta(days=1)
    assert record_voice(member, [second], now=later).changed
    assert votes(consultation) == [0, 1, 0] and current_choice(member) == [second]
    assert db.session.get(ConsultationMember, member.id).took_part_at == later
    receipts = outbox("consultation_receipt_to_member")
    assert len(receipts) == 2 and "został zmieniony" in receipts[1].body_text
    assert audit_texts() == ["Konsultacja „Kto zarządza partnerstwem w przyszłym roku?”: utworzono wersję roboczą",
                             "Konsultacja „Kto zarządza partnerstwem w przyszłym roku?”: otwarto"]  # a member's own act


def test_a_voice_must_fit_the_question(ctx, allies, coordinator):
    single = open_now(coordinator)
    member = member_of(single, allies.zofia)
    other = open_now(coordinator, kind="decision")
    for option_ids in ([], [option_id(single, 1), option_id(single, 2)], [option_id(other, 1)], ["x"], None):
        refused(InvalidVoice, record_voice, member, option_ids)

    multiple = open_now(coordinator, kind="multiple")
    member = member_of(multiple, allies.zofia)
    refused(InvalidVoice, record_voice, member, [])  # approval voting: at least one approved option
    assert record_voice(member, [option_id(multiple, 1), option_id(multiple, 3)]).changed
    assert votes(multiple) == [1, 0, 1]
    assert record_voice(member, [option_id(multiple, 2), option_id(multiple, 3)]).changed
    assert votes(multiple) == [0, 1, 1]
    assert db.session.scalar(select(func.count()).where(ConsultationMember.took_part_at.is_not(None))) == 1


def test_voices_are_refused_from_the_closing_time_even_before_the_tick_closes_it(ctx, allies, coordinator):
    consultation = open_now(coordinator)
    member = member_of(consultation, allies.zofia)
    assert record_voice(member, [option_id(consultation, 1)], now=consultation.closes_at - timedelta(seconds=1)).changed
    error = refused(AlreadyClosed, record_voice, member, [option_id(consultation, 2)], now=consultation.closes_at)
    assert str(error.message) == "Konsultacja jest już zamknięta: głosy nie są już przyjmowane."
    close_consultation(consultation, now=consultation.closes_at)
    refused(AlreadyClosed, record_voice, member, [option_id(consultation, 2)], now=consultation.closes_at - timedelta(days=1))
    assert votes(consultation) == [1, 0, 0]
    assert member_from_token(voice_token_of(member)).id == member.id  # the link now shows the results


def test_a_withdrawn_entry_cannot_vote_and_its_link_stops_working(ctx, allies, coordinator):
    consultation = open_now(coordinator)
    member = member_of(consultation, allies.jan)
    token = voice_token_of(member)
    withdraw_signature(allies.jan)
    with pytest.raises(EntryNotOnList):
        member_from_token(token)
    refused(EntryNotOnList, record_voice, member, [option_id(consultation, 1)])
    refused(EntryNotOnList, record_voice_by_coordinator, member, [option_id(consultation, 1)], "paper", "", account(coordinator))
    assert votes(consultation) == [0, 0, 0]


def test_opinions_per_section_changed_and_deleted_by_an_empty_text(ctx, allies, coordinator):
    consultation = open_now(coordinator, kind="opinions", sections=["§ 1 Cele", "§ 2 Zasady"])
    member = member_of(consultation, allies.zofia)
    assert record_voice(member, [], {"0": "Dobry projekt.", "2": "Za krótki termin."}).changed
    assert current_opinions(member) == {0: "Dobry projekt.", 2: "Za krótki termin."}
    assert not record_voice(member, [], {0: " Dobry projekt. "}).changed  # the same text (trimmed)
    assert record_voice(member, [], {2: "", 1: "Cele jasne."}).changed
    assert current_opinions(member) == {0: "Dobry projekt.", 1: "Cele jasne."}
    for opinions in ({3: "Nie ma takiej części."}, {"wstęp": "?"}, {0: "", 1: ""}, {0: "x" * 10001}):
        refused(InvalidVoice, record_voice, member, [], opinions)
    assert current_opinions(member) == {0: "Dobry projekt.", 1: "Cele jasne."}
    assert votes(consultation) == [] and db.session.scalar(select(func.count()).select_from(ConsultationOpinion)) == 2

    whole = open_now(coordinator, kind="opinions")
    refused(InvalidVoice, record_voice, member_of(whole, allies.jan), [], {1: "Bez części."})
    assert record_voice(member_of(whole, allies.jan), [], {0: "Uwaga do całości."}).changed


def test_a_secret_voice_whose_sealed_copy_no_longer_opens_is_not_changed(app, ctx, allies, coordinator):
    consultation = open_now(coordinator, secret=True)
    member = member_of(consultation, allies.zofia)
    record_voice(member, [option_id(consultation, 1)])
    app.config["SECRET_KEY"] = "another-secret"  # the key changed while the ballot ran
    assert current_choice(member) == []
    refused(SealUnreadable, record_voice, member, [option_id(consultation, 2)])
    assert votes(consultation) == [1, 0, 0]  # never counted twice


# ---- voices entered by a coordinator, meetings ----------------------------------------------


def test_a_coordinator_enters_a_paper_voice_audited_without_what(ctx, allies, coordinator):
    consultation = open_now(coordinator, secret=True)
    paper = member_of(consultation, allies.paper)
    note = " Karta z zebrania 3 V "
    recorded = record_voice_by_coordinator(paper, [option_id(consultation, 3)], "paper", note, account(coordinator))
    assert recorded.changed and votes(consultation) == [0, 0, 1]
    paper = db.session.get(ConsultationMember, paper.id)
    assert (paper.method, paper.note, paper.recorded_by_id, paper.choice) == ("paper", "Karta z zebrania 3 V", coordinator, None)
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.summary == (
        "Konsultacja „Kto zarządza partnerstwem w przyszłym roku?”: "
        f"wpisano głos (na papierze): osoba prywatna nr {allies.paper}"
    )
    assert entry.details == {"member": paper.id, "method": "paper"}
    assert not record_voice_by_coordinator(paper, [option_id(consultation, 3)], "paper", "Karta z zebrania 3 V",
                                           account(coordinator)).changed
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 3  # created, opened, one voice

    # A member's own voice is theirs: a coordinator does not overwrite it; the member may replace a paper one.
    zofia = member_of(consultation, allies.zofia)
    record_voice(zofia, [option_id(consultation, 1)])
    refused(VotedByLink, record_voice_by_coordinator, zofia, [option_id(consultation, 2)], "paper", "", account(coordinator))
    jan = member_of(consultation, allies.jan)
    record_voice_by_coordinator(jan, [option_id(consultation, 2)], "paper", "", account(coordinator))
    assert record_voice(member_of(consultation, allies.jan), [option_id(consultation, 1)]).changed
    assert db.session.get(ConsultationMember, member_of(consultation, allies.jan).id).method == "link"
    assert votes(consultation) == [2, 0, 1]
    with pytest.raises(ValueError):
        record_voice_by_coordinator(paper, [option_id(consultation, 1)], "link", "", account(coordinator))


def meeting(is_members_meeting=True):
    now = utcnow()
    event = Event(coalition_id=the_coalition().id, title="Posiedzenie grupy roboczej", slug=f"posiedzenie-{is_members_meeting}",
                  starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1), is_members_meeting=is_members_meeting)
    db.session.add(event)
    db.session.commit()
    return event


def test_a_decision_from_a_meeting_opens_at_once_without_mail_and_its_coordinator_closes_it(ctx, allies, coordinator):
    event = meeting()
    consultation = open_meeting_decision(event, consultation_data(kind="decision"), account(coordinator))
    assert consultation.status == ConsultationStatus.OPEN and consultation.meeting_event_id == event.id
    assert consultation.roll_size == ROLL_SIZE and consultation.reminder_days is None
    assert consultation.closes_at - consultation.opened_at == timedelta(days=30)
    assert outbox() == []
    zofia = member_of(consultation, allies.zofia)
    refused(MeetingVoicesOnly, record_voice, zofia, [option_id(consultation, 1)])
    record_voice_by_coordinator(zofia, [option_id(consultation, 1)], "meeting", "", account(coordinator))
    assert votes(consultation) == [1, 0, 0]
    refused(NoEarlyClose, close_consultation, consultation)  # only its coordinator closes it early
    close_consultation(consultation, coordinator=account(coordinator))
    assert db.session.get(Consultation, consultation.id).status == ConsultationStatus.CLOSED
    assert audit_texts()[-1] == "Konsultacja „Kto zarządza partnerstwem w przyszłym roku?”: zamknięto"

    refused(InvalidSettings, open_meeting_decision, event, consultation_data(kind="opinions"), account(coordinator))
    refused(NotAMeeting, open_meeting_decision, meeting(False), consultation_data(), account(coordinator))
    refused(MeetingNotStarted, open_meeting_decision, event, consultation_data(), account(coordinator),
            now=event.starts_at - timedelta(minutes=1))
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 1


# ---- extension, close, resolution -----------------------------------------------------------


def test_the_closing_time_can_only_be_moved_later_while_it_runs_and_members_are_told(ctx, allies, coordinator):
    now = utcnow()
    kept_draft = draft(coordinator, closes_at=now + CLOSES_AFTER)
    refused(StillADraft, extend_closing, kept_draft, now + timedelta(days=30), account(coordinator), now=now)

    consultation = open_now(coordinator, now=now)
    closes_at = consultation.closes_at
    for wrong in (None, closes_at, closes_at - timedelta(hours=1)):
        error = refused(NotLater, extend_closing, consultation, wrong, account(coordinator), now=now)
    assert str(error.message) == "Nowy termin zamknięcia musi być późniejszy niż obecny."
    refused(AlreadyClosed, extend_closing, consultation, closes_at + timedelta(days=1), account(coordinator), now=closes_at)

    invitations = len(outbox())
    extend_closing(consultation, closes_at + timedelta(days=3), account(coordinator), now=now)
    assert db.session.get(Consultation, consultation.id).closes_at == closes_at + timedelta(days=3)
    told = outbox("consultation_extended_to_member")
    assert len(told) == 4 and len(outbox()) == invitations + 4
    assert sorted(m.recipient for m in told) == sorted(
        ["zofia@example.org", "jan@example.org", "ewa@example.org", "anna@zablocie.example.org"]
    )
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.summary.endswith("przedłużono termin zamknięcia") and len(entry.details["closes_at"]) == 2

    close_consultation(consultation, now=closes_at + timedelta(days=3))
    refused(AlreadyClosed, extend_closing, consultation, closes_at + timedelta(days=9), account(coordinator), now=now)

    scheduled = draft(coordinator, opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=5))
    open_consultation(scheduled, account(coordinator), now=now)
    extend_closing(scheduled, now + timedelta(days=6), account(coordinator), now=now)
    assert len(outbox("consultation_extended_to_member")) == 4  # nobody is on a roll yet


def test_no_early_close_and_a_closed_consultation_stays_closed(ctx, allies, coordinator):
    refused(StillADraft, close_consultation, draft(coordinator), coordinator=account(coordinator))
    consultation = open_now(coordinator)
    refused(NoEarlyClose, close_consultation, consultation, coordinator=account(coordinator))
    refused(NoEarlyClose, close_consultation, consultation, now=consultation.closes_at - timedelta(seconds=1))
    close_consultation(consultation, now=consultation.closes_at)
    error = refused(AlreadyClosed, close_consultation, consultation, now=consultation.closes_at + timedelta(days=1))
    assert db.session.get(Consultation, consultation.id).closed_at == consultation.closes_at
    assert error.message


def test_the_resolution_is_added_after_the_close(ctx, allies, coordinator):
    consultation = open_now(coordinator)
    refused(NotClosedYet, set_resolution, consultation, "Uchwała nr 1", account(coordinator))
    close_consultation(consultation, now=consultation.closes_at)
    set_resolution(consultation, "  Uchwała nr 1/2026: partnerem zarządzającym jest Fundacja.  ", account(coordinator))
    resolution = db.session.get(Consultation, consultation.id).resolution
    assert resolution == "Uchwała nr 1/2026: partnerem zarządzającym jest Fundacja."
    assert audit_texts()[-1].endswith("zapisano uchwałę lub protokół")
