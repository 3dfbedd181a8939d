"""Shared fixtures of the consultation tests: a coalition with a roll to take, and a consultation
to vote in.

`allies` (needs `coalition` and `coordinator`) writes the coalition's entries and returns their
ids as an `Allies`:

    zofia, jan       approved persons with an address (zofia consented to show her name)
    unsubscribed     an approved person who unsubscribed from announcements
    anna, bartek     two approved representatives of one organisation (same KRS): one voice;
                     anna was approved first, so she gets its link
    paper            an approved paper entry without an e-mail address (on the roll, no link)
    withdrawn, rejected, waiting   not on the roll

`add_entry(declaration, name, email, ...)` adds another entry (the caller commits).

So a roll taken now has ROLL_SIZE = 5 voices, 4 of them with a link. In an app context (`ctx`):

    consultation = open_now(coordinator)                      # single choice, open ballot
    consultation = open_now(coordinator, kind="decision", secret=True, now=...)
    member = member_of(consultation, allies.zofia)           # the roll's row holding that entry
    record_voice(member, [option_id(consultation, 1)], now=...)
    ballot_path(member), voice_token_of(member)              # the personal link (path, token)
    member_in(message.body_text)                             # the member whose link an e-mail carries

Times: `open_now` opens at `now` (default: the real clock, so HTTP tests can vote at once) and
closes CLOSES_AFTER later; pass `now=` on to the operations to move the clock.
"""
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.consultations.models import ConsultationMember
from koalicja.consultations.notifications import voice_token
from koalicja.consultations.operations import create_consultation, member_from_token, open_consultation
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.signatures.models import Signature
from koalicja.timeutil import utcnow

from ..conftest import SLUG, current_declaration

ROLL_SIZE = 5
CLOSES_AFTER = timedelta(days=7)
KRS = "0000123456"
ORGANISATION = "Stowarzyszenie Sąsiedzi z Zabłocia"
OPTIONS = ["Fundacja Wspólna Sprawa", "Stowarzyszenie Sąsiedzi z Zabłocia", "Grupa Zielone Podwórko"]


@dataclass
class Allies:
    zofia: int
    jan: int
    unsubscribed: int
    anna: int
    bartek: int
    paper: int
    withdrawn: int
    rejected: int
    waiting: int


def add_entry(declaration, name, email, status="approved", approved_days_ago=30, **columns):
    """A signature under `declaration` (approved `approved_days_ago` days ago unless `status` says
    otherwise); the caller commits."""
    now = utcnow()
    values = {
        "kind": "person",
        "full_name": name,
        "email": email,
        "email_key": email or f"paper:{name}",
        "status": status,
        "withdraw_nonce": f"nonce-{email or name}"[:32],
        "created_at": now - timedelta(days=40),
        "approved_at": now - timedelta(days=approved_days_ago) if status == "approved" else None,
        "language": "pl",
        **columns,
    }
    signature = Signature(declaration=declaration, **values)
    db.session.add(signature)
    return signature


@pytest.fixture
def allies(app, coalition, coordinator):
    with app.app_context():
        declaration = current_declaration()
        organisation = {"kind": "organisation", "organisation_name": ORGANISATION, "krs": KRS, "public_organisation": True}
        entries = dict(
            zofia=add_entry(declaration, "Zofia Łukasik", "zofia@example.org", public_name=True, contact_allowed=True),
            jan=add_entry(declaration, "Jan Kowalski", "jan@example.org", contact_allowed=True),
            unsubscribed=add_entry(declaration, "Ewa Wypisana", "ewa@example.org", contact_allowed=False,
                                unsubscribed_at=utcnow() - timedelta(days=3)),
            anna=add_entry(declaration, "Anna Wiśniewska", "anna@zablocie.example.org", approved_days_ago=20, **organisation),
            bartek=add_entry(declaration, "Bartek Nowak", "bartek@zablocie.example.org", approved_days_ago=10, **organisation),
            paper=add_entry(declaration, "Stefan Papierowy", "", origin="paper"),
            withdrawn=add_entry(declaration, "", "", status="withdrawn", email_key="withdrawn:x"),
            rejected=add_entry(declaration, "Odrzucona Osoba", "odrzucona@example.org", status="rejected"),
            waiting=add_entry(declaration, "Czekająca Osoba", "czeka@example.org", status="confirmed"),
        )
        db.session.commit()
        return Allies(**{name: signature.id for name, signature in entries.items()})


def account(coordinator_id):
    return db.session.get(Coordinator, coordinator_id)


def consultation_data(**overrides):
    """create_consultation's data: a single choice among OPTIONS, open ballot, closing in a week."""
    return {
        "title": "Kto zarządza partnerstwem w przyszłym roku?",
        "body": "Wybieramy partnera zarządzającego na rok.",
        "kind": "single",
        "options": list(OPTIONS),
        "sections": [],
        "opens_at": None,
        "closes_at": None,
        "quorum_percent": None,
        "rule": "majority",
        "secret": False,
        "live_results": False,
        "results_public": True,
        "reminder_days": 2,
    } | overrides


def open_now(coordinator_id, now=None, **overrides):
    """A consultation created and opened at `now` (the roll taken, invitations queued), closing
    CLOSES_AFTER later unless `closes_at` is given. Call inside an app context."""
    now = now or utcnow()
    coordinator = account(coordinator_id)
    coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
    data = consultation_data(closes_at=now + CLOSES_AFTER) | overrides
    consultation = create_consultation(coalition, data, coordinator)
    return open_consultation(consultation, coordinator, now=now)


def member_of(consultation, signature_id):
    """The roll's row whose link goes to this entry (None: not on the roll, or not its holder)."""
    return db.session.scalar(
        select(ConsultationMember).where(
            ConsultationMember.consultation_id == consultation.id, ConsultationMember.signature_id == signature_id
        )
    )


def option_id(consultation, position):
    """The id of the consultation's option at `position` (1-based; a decision: 1 za, 2 przeciw, 3 wstrzymuję się)."""
    return next(option.id for option in consultation.options if option.position == position)


def voice_token_of(member):
    """The token of the member's personal link (read afresh: a new representative gets a new one)."""
    return voice_token(db.session.get(ConsultationMember, member.id))


def member_in(body):
    """The roll's row whose personal link a message body carries (tokens carry the second they
    were made, so compare members, not token strings)."""
    match = re.search(rf"/{SLUG}/konsultacje/glos/([\w.-]+)", body)
    assert match, body
    return member_from_token(match.group(1))


def ballot_path(member):
    """The member's personal link as a path for the test client."""
    return f"/{SLUG}/konsultacje/glos/{voice_token_of(member)}"
