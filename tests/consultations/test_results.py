"""Results of a consultation (koalicja/consultations/results.py): turnout, quorum, each deciding rule
and kind, counts per method, who voted how, opinions by section and the published names.

The data is written here directly (counters on the options, rows on the roll), as the voting
operations would leave it, so each rule is checked on exact numbers. Results are reads of data a fixture wrote, counted in
Python: `one_engine` (the voting operations that write them run on both engines)."""
from datetime import datetime, timedelta
from secrets import token_hex

import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationMember,
    ConsultationOpinion,
    ConsultationOption,
    ConsultationStatus,
    DecidingRule,
    DecisionOption,
    VoiceMethod,
)
from koalicja.consultations.results import published_name, results_of, results_visible
from koalicja.extensions import db
from koalicja.signatures.models import Signature, SignatureStatus

from ..conftest import SLUG

NOW = datetime(2026, 6, 1, 12, 0)
DECISION = (DecisionOption.FOR, DecisionOption.AGAINST, DecisionOption.ABSTAIN)

pytestmark = pytest.mark.one_engine


def consultation_with(votes, took_part=None, roll=None, kind=ConsultationKind.DECISION, rule=DecidingRule.MAJORITY,
                      quorum=None, secret=False, status=ConsultationStatus.CLOSED, methods=None, choices=None):
    """A consultation whose options carry `votes` (in order: za/przeciw/wstrzymuję się for a
    decision, else options "A", "B", …) and whose roll has `roll` rows, the first `took_part` of
    which took part (by `methods[i]`, link by default; an open ballot's `choices[i]` as positions)."""
    coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
    took_part = sum(votes) if took_part is None else took_part
    roll = took_part if roll is None else roll
    consultation = Consultation(
        coalition=coalition, title="Pytanie", body="Treść", kind=kind, rule=rule, quorum_percent=quorum,
        secret=secret, status=status, roll_size=roll, opens_at=NOW - timedelta(days=7), opened_at=NOW - timedelta(days=7),
        closes_at=NOW - timedelta(hours=1), closed_at=NOW - timedelta(hours=1) if status == ConsultationStatus.CLOSED else None,
    )
    for position, count in enumerate(votes):
        if kind == ConsultationKind.DECISION:
            consultation.options.append(ConsultationOption(position=position, code=DECISION[position], votes=count))
        else:
            consultation.options.append(ConsultationOption(position=position, label=chr(ord("A") + position), votes=count))
    db.session.add(consultation)
    db.session.flush()
    for index in range(roll):
        member = ConsultationMember(consultation=consultation, member_key=f"person:{index}@example.org", link_nonce=token_hex(8))
        if index < took_part:
            member.took_part_at = NOW - timedelta(hours=2)
            member.method = (methods or {}).get(index, VoiceMethod.LINK)
            if choices and not secret:
                member.choice = sorted(consultation.options[position].id for position in choices[index])
        db.session.add(member)
    db.session.flush()
    return consultation


def counts(results):
    return [(str(result.option.display_label), result.votes) for result in results.options]


def winners(results):
    return [str(option.display_label) for option in results.winners]


def test_majority_decision_counts_abstentions_as_cast(ctx, coalition):
    for votes, outcome in [
        ((4, 1, 1), "adopted"),  # 4 of 6: more than half
        ((3, 1, 2), "not_adopted"),  # 3 of 6: abstentions are votes cast, half is not a majority
        ((2, 2, 0), "not_adopted"),  # a tie
        ((0, 0, 0), "not_adopted"),  # nobody voted
    ]:
        results = results_of(consultation_with(votes))

        assert results.outcome == outcome, votes
        assert results.votes_cast == sum(votes)
        assert winners(results) == (["Za"] if outcome == "adopted" else [])
        assert counts(results) == [("Za", votes[0]), ("Przeciw", votes[1]), ("Wstrzymuję się", votes[2])]


def test_majority_decision_sentences(ctx, coalition):
    assert results_of(consultation_with((4, 1, 1))).outcome_text == "Decyzja została przyjęta: wymagana większość głosowała za."
    assert results_of(consultation_with((3, 1, 2))).outcome_text == (
        "Decyzja nie została przyjęta: za nie głosowała wymagana większość.")
    assert results_of(consultation_with((0, 0, 0))).outcome_text == "Decyzja nie została przyjęta: nikt nie oddał głosu."


def test_two_thirds_counts_exactly_two_thirds_as_reached(ctx, coalition):
    exactly = results_of(consultation_with((4, 1, 1), rule=DecidingRule.TWO_THIRDS))  # 4 of 6
    short = results_of(consultation_with((3, 1, 1), rule=DecidingRule.TWO_THIRDS))  # 3 of 5 (60 %)
    nobody = results_of(consultation_with((0, 0, 0), rule=DecidingRule.TWO_THIRDS))
    single = results_of(consultation_with((4, 2), kind=ConsultationKind.SINGLE, rule=DecidingRule.TWO_THIRDS))
    single_short = results_of(consultation_with((5, 3), kind=ConsultationKind.SINGLE, rule=DecidingRule.TWO_THIRDS))

    assert exactly.outcome == "adopted"
    assert short.outcome == "not_adopted"
    assert nobody.outcome == "not_adopted"
    assert (single.outcome, winners(single)) == ("elected", ["A"])
    assert (single_short.outcome, winners(single_short)) == ("no_majority", [])  # 5 of 8 is less than 2/3


def test_no_objection_is_adopted_only_when_nobody_voted_against(ctx, coalition):
    one_against = results_of(consultation_with((5, 1, 1), rule=DecidingRule.NO_OBJECTION))
    none_against = results_of(consultation_with((3, 0, 2), rule=DecidingRule.NO_OBJECTION))
    only_abstentions = results_of(consultation_with((0, 0, 2), rule=DecidingRule.NO_OBJECTION))
    nobody = results_of(consultation_with((0, 0, 0), roll=5, rule=DecidingRule.NO_OBJECTION))

    assert (one_against.outcome, one_against.outcome_text) == (
        "not_adopted", "Decyzja nie została przyjęta: zgłoszono sprzeciw.")
    assert (none_against.outcome, none_against.outcome_text) == (
        "adopted", "Decyzja została przyjęta: nikt nie zgłosił sprzeciwu.")
    assert winners(none_against) == ["Za"]
    assert only_abstentions.outcome == "adopted"  # abstaining is not objecting
    assert nobody.outcome == "not_adopted"  # silence of the whole roll adopts nothing


def test_single_choice_with_a_winner_ranks_every_option(ctx, coalition):
    results = results_of(consultation_with((1, 4, 2), kind=ConsultationKind.SINGLE, roll=9))

    assert results.outcome == "elected"
    assert winners(results) == ["B"]
    assert results.outcome_text == "Wybrano: B."
    assert counts(results) == [("B", 4), ("C", 2), ("A", 1)]  # ranked by votes
    assert [results.ranks[result.option.id] for result in results.options] == [1, 2, 3]
    assert [result.percent_text for result in results.options] == ["57,1%", "28,6%", "14,3%"]
    assert (results.took_part, results.roll_size, results.turnout_text) == (7, 9, "77,8%")


def test_single_choice_without_a_majority_or_with_a_tie_elects_nobody(ctx, coalition):
    scattered = results_of(consultation_with((3, 2, 2), kind=ConsultationKind.SINGLE))  # 3 of 7
    tie = results_of(consultation_with((2, 2, 0), kind=ConsultationKind.SINGLE))

    assert (scattered.outcome, winners(scattered)) == ("no_majority", [])
    assert scattered.outcome_text == "Żadna odpowiedź nie uzyskała wymaganej większości."
    assert (tie.outcome, winners(tie)) == ("no_majority", [])
    assert [tie.ranks[result.option.id] for result in tie.options] == [1, 1, 3]  # a tie shares the place


def test_approval_voting_approves_each_option_with_the_share_of_the_voters(ctx, coalition):
    # Five voters; each approved some options: A 3, B 3, C 2 (60 %, 60 %, 40 %), one approved nothing.
    choices = [(0, 1), (0, 1, 2), (0, 2), (1,), ()]
    results = results_of(consultation_with((3, 3, 2), took_part=5, kind=ConsultationKind.MULTIPLE, choices=choices))
    two_thirds = results_of(consultation_with((4, 3, 0), took_part=6, kind=ConsultationKind.MULTIPLE,
                                              rule=DecidingRule.TWO_THIRDS))
    nothing = results_of(consultation_with((2, 1), took_part=4, kind=ConsultationKind.MULTIPLE))

    assert results.votes_cast == 5  # the voter who approved nothing is a vote cast
    assert (results.outcome, winners(results)) == ("approved", ["A", "B"])
    assert results.outcome_text == "Przyjęte odpowiedzi: A; B."
    assert [result.percent_text for result in results.options] == ["60%", "60%", "40%"]
    assert [results.ranks[result.option.id] for result in results.options] == [1, 1, 3]
    assert [voice.labels for voice in results.open_voices] == [["A", "B"], ["A", "B", "C"], ["A", "C"], ["B"], []]
    assert (two_thirds.outcome, winners(two_thirds)) == ("approved", ["A"])  # 4 of 6 yes, 3 of 6 no
    assert (nothing.outcome, winners(nothing)) == ("no_majority", [])  # 2 of 4 is not more than half


def test_quorum(ctx, coalition):
    for took_part, roll, quorum, met in [
        (3, 7, 50, False),  # 42.9 % of 7
        (4, 7, 50, True),  # 57.1 % of 7: 3.5 voices needed
        (4, 8, 50, True),  # exactly the quorum
        (0, 7, None, None),  # no quorum
    ]:
        results = results_of(consultation_with((took_part, 0, 0), roll=roll, quorum=quorum))

        assert results.quorum_met is met, (took_part, roll)
        assert (results.took_part, results.roll_size) == (took_part, roll)
        if met is False:
            # Every voter was for, yet nothing is decided.
            assert (results.outcome, results.winners) == ("no_quorum", [])
            assert results.outcome_text == (
                "Brak rozstrzygnięcia: nie osiągnięto kworum (wymagany udział: 50% uprawnionych).")
        elif met:
            assert results.outcome == "adopted"


def test_no_quorum_leaves_a_choice_without_a_winner(ctx, coalition):
    results = results_of(consultation_with((3, 0), kind=ConsultationKind.SINGLE, roll=10, quorum=40))

    assert (results.outcome, results.winners, results.quorum_met) == ("no_quorum", [], False)
    assert counts(results) == [("A", 3), ("B", 0)]  # the counts are still shown


def test_counts_per_method(ctx, coalition):
    methods = {1: VoiceMethod.PAPER, 2: VoiceMethod.PAPER, 3: VoiceMethod.MEETING}
    results = results_of(consultation_with((3, 2, 0), roll=8, methods=methods))

    assert results.by_method == {VoiceMethod.LINK: 2, VoiceMethod.PAPER: 2, VoiceMethod.MEETING: 1}
    assert [(str(label), count) for label, count in results.method_counts] == [
        ("przez osobisty link", 2), ("na papierze", 2), ("na posiedzeniu", 1)]
    assert (results.took_part, results.turnout_text) == (5, "62,5%")


def signature(full_name, email, status=SignatureStatus.APPROVED, organisation="", public_name=False,
              public_organisation=False):
    coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
    entry = Signature(
        declaration=coalition.current_declaration, kind="organisation" if organisation else "person",
        full_name=full_name, email=email, email_key=email, organisation_name=organisation, public_name=public_name,
        public_organisation=public_organisation, status=status, approved_at=NOW - timedelta(days=30),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def test_open_ballot_lists_each_voice_by_its_published_name(ctx, coalition):
    consultation = consultation_with(
        (3, 1, 1), methods={3: VoiceMethod.PAPER, 4: VoiceMethod.MEETING}, choices=[(0,), (0,), (1,), (0,), (2,)])
    entries = [
        signature("Anna Nowak", "anna@example.org", organisation="Stowarzyszenie Zielony Kraków", public_organisation=True),
        signature("Jan Kowalski", "jan@example.org", organisation="Fundacja Cicha"),  # did not consent
        signature("Ewa Łęcka", "ewa@example.org", public_name=True),
        signature("Piotr Zięba", "piotr@example.org"),  # did not consent
        signature("", "", status=SignatureStatus.WITHDRAWN),  # withdrawn: its data erased
    ]
    members = db.session.scalars(
        select(ConsultationMember).where(ConsultationMember.consultation_id == consultation.id)
        .order_by(ConsultationMember.id)).all()
    for member, entry in zip(members, entries, strict=True):
        member.signature = entry
        member.is_organisation = bool(entry.organisation_name)
    members[3].note = "karta oddana w biurze"
    members[4].note = "posiedzenie 12 maja"
    db.session.flush()

    results = results_of(consultation)

    assert [(str(voice.name), [str(label) for label in voice.labels], str(voice.method), voice.note,
             voice.entered_by_coordinator) for voice in results.open_voices] == [
        ("członek/członkini koalicji", ["Za"], "przez osobisty link", "", False),
        ("członek/członkini koalicji", ["Za"], "na papierze", "karta oddana w biurze", True),
        ("Ewa Łęcka", ["Przeciw"], "przez osobisty link", "", False),
        ("Stowarzyszenie Zielony Kraków", ["Za"], "przez osobisty link", "", False),
        ("wycofany wpis", ["Wstrzymuję się"], "na posiedzeniu", "posiedzenie 12 maja", True),
    ]
    assert not db.session.dirty and not db.session.new  # results only read


def test_published_name_rule(ctx, coalition):
    consultation = consultation_with((0, 0, 0), roll=1)
    member = db.session.scalar(
        select(ConsultationMember).where(ConsultationMember.consultation_id == consultation.id))

    def name(entry, is_organisation=False):
        member.signature, member.is_organisation = entry, is_organisation
        return str(published_name(member))

    # An organisation is named by its name only with the representative's consent, never by the person.
    assert name(signature("Anna Nowak", "a@example.org", organisation="Klub Sąsiedzki", public_organisation=True,
                          public_name=True), True) == "Klub Sąsiedzki"
    assert name(signature("Jan Kowalski", "j@example.org", organisation="Klub Cichy", public_name=True),
                True) == "członek/członkini koalicji"
    assert name(signature("Ewa Łęcka", "e@example.org", public_name=True)) == "Ewa Łęcka"
    assert name(signature("Piotr Zięba", "p@example.org", public_organisation=True)) == "członek/członkini koalicji"
    assert name(signature("Olga Wycofana", "o@example.org", status=SignatureStatus.WITHDRAWN,
                          public_name=True)) == "wycofany wpis"
    assert name(None) == "wycofany wpis"  # the entry itself is gone (purged)


def test_secret_ballot_lists_nobody_but_keeps_the_counts(ctx, coalition):
    results = results_of(consultation_with((2, 1, 0), secret=True, methods={0: VoiceMethod.PAPER}))

    assert results.open_voices == []
    assert counts(results) == [("Za", 2), ("Przeciw", 1), ("Wstrzymuję się", 0)]
    assert results.by_method[VoiceMethod.PAPER] == 1
    assert results.outcome == "adopted"


def test_opinions_grouped_by_section(ctx, coalition):
    consultation = consultation_with((), took_part=3, roll=5, kind=ConsultationKind.OPINIONS, quorum=80)
    consultation.sections = ["Cele", "Budżet"]
    members = db.session.scalars(
        select(ConsultationMember).where(ConsultationMember.consultation_id == consultation.id)
        .order_by(ConsultationMember.id)).all()
    members[0].signature = signature("Ewa Łęcka", "ewa@example.org", public_name=True)
    members[1].signature = signature("Piotr Zięba", "piotr@example.org")  # did not consent; members[2] withdrew
    written = [(members[0], 2, "Za mało na festyn."), (members[1], 0, "Dobry projekt."),
               (members[0], 1, "Dopisać zieleń."), (members[2], 2, "Budżet w porządku.")]
    db.session.add_all(ConsultationOpinion(consultation_id=consultation.id, member=member, section=section, text=text)
                       for member, section, text in written)
    db.session.flush()

    results = results_of(consultation)

    assert results.outcome == "opinions_only"  # opinions decide nothing, quorum or not
    assert results.quorum_met is False
    assert results.outcome_text == "Konsultacja zbierała opinie: nie było głosowania ani rozstrzygnięcia."
    assert [(opinion.section, str(opinion.title), opinion.text, str(opinion.name)) for opinion in results.opinions] == [
        (0, "Uwagi do całości", "Dobry projekt.", "członek/członkini koalicji"),
        (1, "Cele", "Dopisać zieleń.", "Ewa Łęcka"),
        (2, "Budżet", "Za mało na festyn.", "Ewa Łęcka"),
        (2, "Budżet", "Budżet w porządku.", "wycofany wpis"),
    ]
    assert results.open_voices == []


def test_results_visible_after_the_close_or_live(ctx, coalition):
    closed = consultation_with((1, 0, 0))
    running = consultation_with((1, 0, 0), status=ConsultationStatus.OPEN)
    running.closes_at = NOW + timedelta(days=1)
    live = consultation_with((1, 0, 0), status=ConsultationStatus.OPEN, choices=[(0,)])
    live.closes_at, live.live_results = NOW + timedelta(days=1), True
    past_closing = consultation_with((1, 0, 0), status=ConsultationStatus.OPEN)  # the tick has not closed it yet
    draft = consultation_with((0, 0, 0), status=ConsultationStatus.DRAFT)

    assert results_visible(closed, NOW)
    assert not results_visible(running, NOW)
    assert results_visible(live, NOW)
    live_results = results_of(live)
    # Live results of an open ballot: the counts, but who voted how only after the close.
    assert (counts(live_results)[0], live_results.open_voices) == (("Za", 1), [])
    assert results_visible(past_closing, NOW)
    assert not results_visible(draft, NOW)
