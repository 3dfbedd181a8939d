"""The results of a consultation: turnout against the roll, quorum, counts, the outcome under its rule.

Pure reads: nothing here writes or commits, so a page may show results while voices are recorded.
All thresholds are compared in integers (votes * 3 >= cast * 2, not votes / cast >= 0.666…), so
exactly two thirds, or exactly the quorum, counts as reached.

"Votes cast" are the members who took part, whatever they chose: an abstention is a vote cast
(a decision's "wstrzymuję się" weighs against "za" under a majority), and so is an approval ballot
that approved nothing. For several choices (approval voting) each option is measured on its own
against the votes cast: it is approved when that share of the voters approved it; more than one
option, or none, may be approved. "No objection" is a decision's rule (adopted when at least one
voice was cast and nobody voted against); the form offers it only for decisions, and should a
choice ever carry it, an option passes only when every voter chose it (nobody chose otherwise).
"""
from dataclasses import dataclass, field
from typing import NamedTuple

from flask_babel import format_percent, gettext as _, lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..signatures.models import SignatureStatus
from ..text import search_key
from .models import (
    METHOD_LABELS,
    ConsultationKind,
    ConsultationMember,
    ConsultationOpinion,
    DecidingRule,
    DecisionOption,
    VoiceMethod,
)

UNNAMED_MEMBER = _l("członek/członkini koalicji")
WITHDRAWN_ENTRY = _l("wycofany wpis")

# Outcome codes (`Results.outcome`).
ADOPTED = "adopted"  # a decision passed under its rule
NOT_ADOPTED = "not_adopted"
ELECTED = "elected"  # one choice: the option that met the rule
APPROVED = "approved"  # several choices: at least one option met the rule
NO_MAJORITY = "no_majority"  # a choice where no option met the rule
NO_QUORUM = "no_quorum"  # too few took part: no decision, whatever the counts
OPINIONS_ONLY = "opinions_only"  # opinions decide nothing


def _percent(part, whole):
    return part * 100 / whole if whole else 0.0


def percent_text(value):
    """A share in the reader's language ("42,9%"), at most one decimal."""
    return format_percent(value / 100, "#,##0.#%")


class OptionResult(NamedTuple):
    option: object  # ConsultationOption
    votes: int
    percent: float  # of the votes cast

    @property
    def percent_text(self):
        return percent_text(self.percent)


class OpenVoice(NamedTuple):
    name: str  # published_name(member)
    labels: list  # the chosen options' labels, in the options' order
    method: str  # how it was given (METHOD_LABELS)
    note: str  # a paper or meeting voice: the coordinator's note

    @property
    def entered_by_coordinator(self):
        """A voice given on paper or at a meeting, which results and the protocol mark as such."""
        return str(self.method) != str(METHOD_LABELS[VoiceMethod.LINK])


class Opinion(NamedTuple):
    section: int  # 0: the whole draft; 1…n: the consultation's numbered sections
    title: str
    text: str
    name: str | None  # published_name(member); None would hide who wrote it


@dataclass
class Results:
    kind: str
    rule: str
    roll_size: int
    took_part: int
    turnout_percent: float
    quorum_percent: int | None
    quorum_met: bool | None  # None: the consultation has no quorum
    votes_cast: int
    options: list  # OptionResult: a decision in its fixed order, choices ranked by votes
    by_method: dict  # VoiceMethod -> how many members took part that way (every method, zeros too)
    outcome: str
    winners: list = field(default_factory=list)  # the options that met the rule
    ranks: dict = field(default_factory=dict)  # option id -> place (ties share it); choices only
    open_voices: list = field(default_factory=list)  # OpenVoice, open ballots once closed
    opinions: list = field(default_factory=list)  # Opinion, by section

    @property
    def turnout_text(self):
        return percent_text(self.turnout_percent)

    @property
    def method_counts(self):
        """(label, count) for each way of voting, for the templates."""
        return [(METHOD_LABELS[method], count) for method, count in self.by_method.items()]

    @property
    def outcome_text(self):
        """The outcome as one Polish sentence, translated when shown."""
        if self.outcome == NO_QUORUM:
            return _("Brak rozstrzygnięcia: nie osiągnięto kworum (wymagany udział: %(quorum)s uprawnionych).",
                     quorum=percent_text(self.quorum_percent))
        if self.outcome == OPINIONS_ONLY:
            return _("Konsultacja zbierała opinie: nie było głosowania ani rozstrzygnięcia.")
        if self.outcome == ADOPTED:
            if self.rule == DecidingRule.NO_OBJECTION:
                return _("Decyzja została przyjęta: nikt nie zgłosił sprzeciwu.")
            return _("Decyzja została przyjęta: wymagana większość głosowała za.")
        if self.outcome == NOT_ADOPTED:
            if not self.votes_cast:
                return _("Decyzja nie została przyjęta: nikt nie oddał głosu.")
            if self.rule == DecidingRule.NO_OBJECTION:
                return _("Decyzja nie została przyjęta: zgłoszono sprzeciw.")
            return _("Decyzja nie została przyjęta: za nie głosowała wymagana większość.")
        if self.outcome == ELECTED:
            return _("Wybrano: %(option)s.", option=self.winners[0].display_label)
        if self.outcome == APPROVED:
            return _("Przyjęte odpowiedzi: %(options)s.",
                     options="; ".join(str(option.display_label) for option in self.winners))
        return _("Żadna odpowiedź nie uzyskała wymaganej większości.")


def published_name(member):
    """How results and the protocol name a member: the organisation's or person's name when they
    consented to publication, else "członek/członkini koalicji"; "wycofany wpis" once the entry is
    withdrawn or gone (the row stays on the roll, and a counted voice stays counted)."""
    signature = member.signature
    if signature is None or signature.status == SignatureStatus.WITHDRAWN:
        return WITHDRAWN_ENTRY
    if member.is_organisation:
        return signature.organisation_name if signature.public_organisation and signature.organisation_name \
            else UNNAMED_MEMBER
    return signature.full_name if signature.public_name and signature.full_name else UNNAMED_MEMBER


def results_visible(consultation, now):
    """Whether the results may be shown at all (who may see them, public or members only, is the
    views' business): after the close, or once its closing time passed (the counts can no longer
    move, even if the tick has not closed it yet), or while it runs when it shows live results."""
    if consultation.is_closed:
        return True
    return consultation.is_open and (consultation.live_results or not consultation.accepts_voices(now))


def _meets(rule, kind, votes, cast, against=0):
    if rule == DecidingRule.MAJORITY:
        return votes * 2 > cast
    if rule == DecidingRule.TWO_THIRDS:
        return cast > 0 and votes * 3 >= cast * 2
    if kind == ConsultationKind.DECISION:  # NO_OBJECTION
        return cast > 0 and against == 0
    return cast > 0 and votes == cast


def _ranks(option_results):
    """Competition ranking ("1, 1, 3"): equal counts share a place."""
    ranks, place = {}, 0
    for index, result in enumerate(option_results):
        if index == 0 or result.votes != option_results[index - 1].votes:
            place = index + 1
        ranks[result.option.id] = place
    return ranks


def _members(consultation):
    return db.session.scalars(
        select(ConsultationMember)
        .where(ConsultationMember.consultation_id == consultation.id, ConsultationMember.took_part_at.is_not(None))
        .options(selectinload(ConsultationMember.signature))
        .order_by(ConsultationMember.id)
    ).all()


def _open_voices(consultation, members):
    by_id = {option.id: option for option in consultation.options}
    voices = []
    for member in members:
        chosen = sorted((by_id[option_id] for option_id in member.choice or () if option_id in by_id),
                        key=lambda option: option.position)
        voices.append(OpenVoice(published_name(member), [option.display_label for option in chosen],
                                member.method_label, member.note))
    # Alphabetical, as a protocol lists people (folded, so "Ł" sorts with "L").
    return sorted(voices, key=lambda voice: search_key(str(voice.name)))


def _opinions(consultation):
    rows = db.session.scalars(
        select(ConsultationOpinion)
        .where(ConsultationOpinion.consultation_id == consultation.id)
        .options(selectinload(ConsultationOpinion.member).selectinload(ConsultationMember.signature))
        .order_by(ConsultationOpinion.section, ConsultationOpinion.id)
    ).all()
    sections = consultation.sections or []
    opinions = []
    for row in rows:
        if row.section == 0:
            title = _l("Uwagi do całości")
        else:
            title = sections[row.section - 1] if row.section <= len(sections) else ""
        # Opinions are never secret (the form refuses it), but should one be, its author stays hidden.
        name = None if consultation.secret else published_name(row.member)
        opinions.append(Opinion(row.section, title, row.text, name))
    return opinions


def results_of(consultation):
    """Everything the results and the protocol show. Call it only when `results_visible` (or for
    coordinators); it reads the counters as they are."""
    kind = ConsultationKind(consultation.kind)
    rule = DecidingRule(consultation.rule)
    roll_size = consultation.roll_size
    by_method = dict.fromkeys(VoiceMethod, 0)
    for method, count in db.session.execute(
        select(ConsultationMember.method, func.count())
        .where(ConsultationMember.consultation_id == consultation.id, ConsultationMember.took_part_at.is_not(None))
        .group_by(ConsultationMember.method)
    ):
        by_method[VoiceMethod(method)] += count
    took_part = sum(by_method.values())
    votes_cast = took_part
    if consultation.quorum_percent is None:
        quorum_met = None
    else:
        quorum_met = took_part * 100 >= consultation.quorum_percent * roll_size

    options = [OptionResult(option, option.votes, _percent(option.votes, votes_cast)) for option in consultation.options]
    ranks = {}
    if kind in (ConsultationKind.SINGLE, ConsultationKind.MULTIPLE):
        options.sort(key=lambda result: (-result.votes, result.option.position))
        ranks = _ranks(options)

    winners = []
    if kind == ConsultationKind.OPINIONS:
        outcome = OPINIONS_ONLY
    elif quorum_met is False:
        outcome = NO_QUORUM
    elif kind == ConsultationKind.DECISION:
        votes = {result.option.code: result.votes for result in options}
        adopted = _meets(rule, kind, votes.get(DecisionOption.FOR, 0), votes_cast, votes.get(DecisionOption.AGAINST, 0))
        winners = [result.option for result in options if adopted and result.option.code == DecisionOption.FOR]
        outcome = ADOPTED if adopted else NOT_ADOPTED
    else:
        winners = [result.option for result in options if _meets(rule, kind, result.votes, votes_cast)]
        # One choice: no two options can both pass any of the rules (a tie passes neither).
        outcome = (ELECTED if kind == ConsultationKind.SINGLE else APPROVED) if winners else NO_MAJORITY

    # Who voted how only once it is closed: live results of an open ballot show the counts, not
    # names, so that nobody votes under the eyes of those who voted first.
    lists_voices = consultation.is_closed and not consultation.secret and kind != ConsultationKind.OPINIONS
    members = _members(consultation) if lists_voices else []
    return Results(
        kind=kind,
        rule=rule,
        roll_size=roll_size,
        took_part=took_part,
        turnout_percent=_percent(took_part, roll_size),
        quorum_percent=consultation.quorum_percent,
        quorum_met=quorum_met,
        votes_cast=votes_cast,
        options=options,
        by_method=by_method,
        outcome=outcome,
        winners=winners,
        ranks=ranks,
        open_voices=_open_voices(consultation, members),
        opinions=_opinions(consultation) if kind == ConsultationKind.OPINIONS else [],
    )
