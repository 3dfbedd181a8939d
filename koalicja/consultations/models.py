"""Consultations: a question put to every member of a coalition, answered by personal link.

The roll (`ConsultationMember`) is taken when the consultation opens: one row per voice (a
person, or an organisation however many of its representatives signed). Counts live on the
options (`ConsultationOption.votes`), written by the same transaction that records a voice.

A secret ballot keeps who took part (`ConsultationMember.took_part_at`) apart from what was
chosen (the options' counters): the member's row holds no choice in the clear, only a sealed
copy (`sealed_choice`, encrypted with a key derived from SECRET_KEY, which is not in the
database) so that the member can see and change it; the sealed copies are erased at the close.
No ballot row, id, timestamp or order exists that could be joined with the roll.
"""
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class ConsultationKind(StrEnum):
    DECISION = "decision"  # za / przeciw / wstrzymuję się
    SINGLE = "single"  # one choice among options
    MULTIPLE = "multiple"  # several choices (approval voting)
    OPINIONS = "opinions"  # comments on a draft, optionally per numbered section


KIND_LABELS = {
    ConsultationKind.DECISION: _l("Decyzja: za, przeciw, wstrzymuję się"),
    ConsultationKind.SINGLE: _l("Wybór jednej odpowiedzi"),
    ConsultationKind.MULTIPLE: _l("Wybór kilku odpowiedzi"),
    ConsultationKind.OPINIONS: _l("Tylko opinie (uwagi do projektu)"),
}


class DecidingRule(StrEnum):
    MAJORITY = "majority"  # more than half of the votes cast (abstentions are votes cast)
    TWO_THIRDS = "two_thirds"  # at least two thirds of the votes cast
    NO_OBJECTION = "no_objection"  # consensus: adopted unless somebody objects


RULE_LABELS = {
    DecidingRule.MAJORITY: _l("Większość oddanych głosów"),
    DecidingRule.TWO_THIRDS: _l("Dwie trzecie oddanych głosów"),
    DecidingRule.NO_OBJECTION: _l("Brak sprzeciwu (konsensus)"),
}


class ConsultationStatus(StrEnum):
    DRAFT = "draft"  # being written; only coordinators see it
    SCHEDULED = "scheduled"  # fixed, opens at opens_at (koalicja/consultations/operations.py tick)
    OPEN = "open"  # the roll is taken, members vote until closes_at
    CLOSED = "closed"


STATUS_LABELS = {
    ConsultationStatus.DRAFT: _l("wersja robocza"),
    ConsultationStatus.SCHEDULED: _l("zaplanowana"),
    ConsultationStatus.OPEN: _l("trwa"),
    ConsultationStatus.CLOSED: _l("zakończona"),
}


class DecisionOption(StrEnum):
    """The three fixed options of a decision (`ConsultationOption.code`), translated at display."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


DECISION_LABELS = {
    DecisionOption.FOR: _l("Za"),
    DecisionOption.AGAINST: _l("Przeciw"),
    DecisionOption.ABSTAIN: _l("Wstrzymuję się"),
}


class VoiceMethod(StrEnum):
    LINK = "link"  # the member's own personal link
    PAPER = "paper"  # a coordinator entered a voice given on paper
    MEETING = "meeting"  # a coordinator entered a voice given at a members' meeting


METHOD_LABELS = {
    VoiceMethod.LINK: _l("przez osobisty link"),
    VoiceMethod.PAPER: _l("na papierze"),
    VoiceMethod.MEETING: _l("na posiedzeniu"),
}


class Consultation(db.Model):
    """A question to the coalition's members. Nothing but `closes_at` (later, audited, members
    told) changes once it is open; its row is the lock of every voice recorded in it."""

    __table_args__ = (Index("ix_consultation_coalition_status", "coalition_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coalition_id: Mapped[int] = mapped_column(ForeignKey("coalition.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")  # safe Markdown, as declarations
    kind: Mapped[str] = mapped_column(String(20), default=ConsultationKind.DECISION)
    # Opinions per numbered section of the draft: the sections' titles, in order (empty: one opinion).
    sections: Mapped[list] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime | None]  # naive UTC, like every stored time; entered in Europe/Warsaw
    closes_at: Mapped[datetime | None]
    # Share of the roll (per cent) that must take part for the result to count; None: no quorum.
    quorum_percent: Mapped[int | None]
    rule: Mapped[str] = mapped_column(String(20), default=DecidingRule.MAJORITY)
    secret: Mapped[bool] = mapped_column(default=False)
    live_results: Mapped[bool] = mapped_column(default=False)  # counts shown while it runs
    results_public: Mapped[bool] = mapped_column(default=True)  # False: members only, by their link
    # How many days before the close the automatic reminder goes to those who have not taken part;
    # None: no automatic reminder. No column default: SQLAlchemy would put it in place of a None
    # on insert, and "no reminder" could not be stored (the panel's form proposes 2).
    reminder_days: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default=ConsultationStatus.DRAFT, index=True)
    roll_size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    # The resolution text or minutes a coordinator adds after the close, published with the protocol.
    resolution: Mapped[str] = mapped_column(Text, default="")
    # A decision taken at a members' meeting: its voices are entered from the meeting.
    meeting_event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)

    coalition = relationship("Coalition")
    created_by = relationship("Coordinator")
    meeting_event = relationship("Event")
    options: Mapped[list["ConsultationOption"]] = relationship(
        back_populates="consultation", order_by="ConsultationOption.position", cascade="all, delete-orphan"
    )

    @property
    def status_label(self):
        return STATUS_LABELS[ConsultationStatus(self.status)]

    @property
    def kind_label(self):
        return KIND_LABELS[ConsultationKind(self.kind)]

    @property
    def rule_label(self):
        return RULE_LABELS[DecidingRule(self.rule)]

    @property
    def is_draft(self):
        return self.status == ConsultationStatus.DRAFT

    @property
    def is_open(self):
        return self.status == ConsultationStatus.OPEN

    @property
    def is_closed(self):
        return self.status == ConsultationStatus.CLOSED

    @property
    def asks_opinions(self):
        return self.kind == ConsultationKind.OPINIONS

    @property
    def from_meeting(self):
        return self.meeting_event_id is not None

    def accepts_voices(self, now):
        """Open and before its closing time (the tick may not have closed it yet)."""
        return self.is_open and self.closes_at is not None and now < self.closes_at


class ConsultationOption(db.Model):
    """One answer. `votes` is the count of voices that chose it (for a multiple choice, each
    approved option counts once per voice)."""

    __table_args__ = (UniqueConstraint("consultation_id", "position", name="uq_consultation_option_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(300), default="")
    code: Mapped[str] = mapped_column(String(10), default="")  # DecisionOption of a decision's fixed options
    votes: Mapped[int] = mapped_column(default=0)

    consultation: Mapped[Consultation] = relationship(back_populates="options")

    @property
    def display_label(self):
        return DECISION_LABELS[DecisionOption(self.code)] if self.code else self.label


class ConsultationMember(db.Model):
    """One voice on the roll, taken when the consultation opened.

    `signature_id` is the entry whose address receives the personal link (for an organisation,
    the representative the coordinator picked: the first approved by default). `member_key`
    is what makes one voice: the organisation's KRS, NIP, REGON or folded name, or the person's
    address. When the entry is withdrawn, its data is erased; this row stays, so a counted voice
    stays counted."""

    __table_args__ = (UniqueConstraint("consultation_id", "member_key", name="uq_consultation_member_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id", ondelete="SET NULL"), index=True)
    member_key: Mapped[str] = mapped_column(String(320))
    is_organisation: Mapped[bool] = mapped_column(default=False)
    # Part of the personal link; a new one when the link goes to another representative.
    link_nonce: Mapped[str] = mapped_column(String(32))
    took_part_at: Mapped[datetime | None]  # the latest time the voice was recorded or changed
    method: Mapped[str | None] = mapped_column(String(10))  # VoiceMethod
    note: Mapped[str] = mapped_column(String(500), default="")  # a paper or meeting voice: where, on what
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    # An open ballot: the chosen options' ids, in the clear (results list each voice).
    choice: Mapped[list | None] = mapped_column(JSON)
    # A secret ballot: the chosen options' ids sealed (koalicja/consultations/sealing.py); erased at the close.
    sealed_choice: Mapped[str | None] = mapped_column(Text)
    invited_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]

    consultation = relationship("Consultation")
    signature = relationship("Signature")
    recorded_by = relationship("Coordinator")

    @property
    def took_part(self):
        return self.took_part_at is not None

    @property
    def method_label(self):
        return METHOD_LABELS[VoiceMethod(self.method)] if self.method else ""


class ConsultationOpinion(db.Model):
    """A member's opinion on the draft, or on one numbered section of it (`section` 0: the whole)."""

    __table_args__ = (UniqueConstraint("member_id", "section", name="uq_consultation_opinion_section"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("consultation_member.id", ondelete="CASCADE"), index=True)
    section: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    member = relationship("ConsultationMember")
