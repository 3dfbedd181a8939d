"""Races on the personal link that really overlap: HTTP requests at once against the app served by
gunicorn (2 workers × 4 threads), on SQLite and on PostgreSQL (the consultation's row is the lock
of every voice, koalicja/locking.py).

The same link POSTed 20 times at once records one voice and queues one receipt; 20 POSTs of two
different choices at once leave the counts equal to exactly one voice, the one the member's row
holds. Each on an open ballot and on a secret one (where the choice is sealed).
"""
import html
import itertools
import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.consultations.models import ConsultationMember, ConsultationOption
from koalicja.consultations.notifications import voice_token
from koalicja.consultations.operations import create_consultation, current_choice, open_consultation
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Signature
from koalicja.timeutil import utcnow

from ..conftest import DATABASES
from ..served import Visitor, at_once, served_race

SLUG = "sasiedztwa"
RECEIPT = "consultation_receipt_to_member"
AT_ONCE = 20
MEMBERS = 4  # one per round: each round votes with a link nobody used before
_numbers = itertools.count(1)


def _coalition_with_members():
    coalition = Coalition(slug=SLUG, name="Koalicja na rzecz sąsiedztw", contact_email="kontakt@example.org")
    declaration = Declaration(coalition=coalition, title="Deklaracja", body="Tekst")
    db.session.add_all([coalition, declaration])
    for number in range(MEMBERS):
        email = f"czlonek{number}@example.org"
        db.session.add(Signature(
            declaration=declaration, kind="person", full_name=f"Członek {number}", email=email, email_key=email,
            status="approved", approved_at=utcnow() - timedelta(days=1 + number), withdraw_nonce=f"n{number}",
        ))
    db.session.commit()
    account = create_coordinator("ala@example.org", "Koordynatorka", "bardzo-tajne-haslo-1")
    account.coalitions.append(coalition)
    db.session.commit()


@pytest.fixture(scope="module", params=DATABASES)
def race(request, tmp_path_factory):
    """(app in this process, base URL of the served app) with a coalition of MEMBERS approved allies."""
    directory = tmp_path_factory.mktemp(f"consultation-races-{request.param}")
    with served_race(request, directory, _coalition_with_members) as (app, _url, base_url):
        yield app, base_url


def open_ballot(app, member_number, **data):
    """A consultation opened now; returns (consultation id, member id, ballot path, option ids, e-mail)."""
    with app.app_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
        coordinator = db.session.scalar(select(Coordinator))
        values = {
            "title": f"Pytanie {next(_numbers)}", "kind": "single", "options": ["Pierwsza", "Druga", "Trzecia"],
            "closes_at": utcnow() + timedelta(days=7), **data,
        }
        consultation = open_consultation(create_consultation(coalition, values, coordinator), coordinator)
        email = f"czlonek{member_number}@example.org"
        member = db.session.scalar(
            select(ConsultationMember).join(Signature, Signature.id == ConsultationMember.signature_id)
            .where(ConsultationMember.consultation_id == consultation.id, Signature.email == email)
        )
        result = (
            consultation.id, member.id, f"/{SLUG}/konsultacje/glos/{voice_token(member)}",
            [option.id for option in consultation.options], email,
        )
        db.session.remove()
        return result


def state(app, consultation_id, member_id, email):
    """What the database says afterwards: votes per option, the member's row, receipts sent."""
    with app.app_context():
        votes = dict(db.session.execute(
            select(ConsultationOption.id, ConsultationOption.votes).where(ConsultationOption.consultation_id == consultation_id)
        ).all())
        member = db.session.get(ConsultationMember, member_id)
        receipts = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.template == RECEIPT, OutboxMessage.recipient == email)
        )
        result = {"votes": votes, "took_part": member.took_part_at is not None, "choice": current_choice(member), "receipts": receipts}
        db.session.remove()
        return result


def post_at_once(base_url, path, choices):
    """One browser per POST (each loads the ballot for its CSRF token first), all released together;
    returns what each was told on the page its POST led to."""
    visitors = [Visitor(base_url) for _ in choices]
    tokens = [visitor.get(path).csrf_token for visitor in visitors]

    def post(number):
        return visitors[number].post(path, {"csrf_token": tokens[number], "choice": choices[number]})

    responses = at_once(len(choices), post)
    assert Counter(r.status for r in responses) == {303: len(choices)}, Counter(r.status for r in responses)
    told = []
    for visitor, response in zip(visitors, responses):
        page = html.unescape(visitor.get(response.headers["Location"]).text)
        told.append(" ".join(re.findall(r'<p class="flash flash--\w+">([^<]*)</p>', page)))
    return told


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_one_link_posted_twenty_times_at_once_records_one_voice(race, secret):
    app, base_url = race
    consultation_id, member_id, path, options, email = open_ballot(app, 0 if not secret else 1, secret=secret)
    told = post_at_once(base_url, path, [options[1]] * AT_ONCE)
    after = state(app, consultation_id, member_id, email)
    print({"told": Counter(message.split(" (")[0] for message in told), **after})
    assert sum(after["votes"].values()) == 1 and after["votes"][options[1]] == 1
    assert after["took_part"] and after["choice"] == [options[1]]
    assert after["receipts"] == 1
    assert sum(message.startswith("Zapisaliśmy Twój głos (") for message in told) == 1
    assert sum(message.startswith("Twój głos był już zapisany") for message in told) == AT_ONCE - 1


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_two_choices_racing_leave_exactly_one_voice_counted(race, secret):
    app, base_url = race
    consultation_id, member_id, path, options, email = open_ballot(app, 2 if not secret else 3, secret=secret)
    told = post_at_once(base_url, path, [options[number % 2] for number in range(AT_ONCE)])
    after = state(app, consultation_id, member_id, email)
    recorded = sum(message.startswith("Zapisaliśmy Twój") for message in told)
    print({"recorded or changed": recorded, **after})
    assert sum(after["votes"].values()) == 1 and after["votes"][options[2]] == 0
    [counted] = [option for option, votes in after["votes"].items() if votes == 1]
    assert after["took_part"] and after["choice"] == [counted]  # the count is the voice the member's row holds
    assert after["receipts"] == recorded >= 1  # one receipt per voice recorded or changed, none for a repeat
