"""Every kind of e-mail the app sends, as the sender composes it, scored by Debian's SpamAssassin
(`spamassassin -t -L`: stock rules, no network tests): each must score under 1.0.

The messages come from the flows themselves (signing, deciding, inviting, registering, …),
taken from the outbox and composed by the sender's own `compose`. All of them go through one
`spamassassin --mbox` process: loading the rules takes a second or more, scoring a message
only a little. Without the package the test is skipped, except on CI (`CI=true`).
"""
import email
import email.policy
import mailbox
import os
import re
import shutil
import subprocess
from datetime import timedelta
from email.headerregistry import Address
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from koalicja.announcements.operations import send_announcement
from koalicja.coalitions.models import Coalition, VersionKind
from koalicja.consultations.models import ConsultationMember
from koalicja.consultations.operations import (
    create_consultation,
    extend_closing,
    open_consultation,
    record_voice,
    send_reminders,
)
from koalicja.coordinators.models import Coordinator
from koalicja.declarations.operations import invite_to_endorse, publish_version, start_draft
from koalicja.events.models import Event
from koalicja.events.notifications import confirmation_url
from koalicja.events.operations import (
    AUDIENCE_ALL,
    cancel_event,
    cancel_registration,
    confirm_registration,
    decide_registration,
    message_registrants,
    register,
)
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.mail.operations import compose
from koalicja.panel.operations import invite_coordinator
from koalicja.profiles.operations import send_profile_links
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import decide_signature, send_withdraw_links, sign_declaration
from koalicja.timeutil import utcnow

from ..conftest import SLUG, VALID_ORGANISATION, VALID_PERSON, current_declaration
from ..events.conftest import make_event

pytestmark = pytest.mark.one_engine

MISSING_SPAMASSASSIN = (
    "Brak SpamAssassina: zainstaluj pakiet Debiana 'spamassassin' (apt-get install spamassassin), "
    "inaczej test punktacji e-maili zostanie pominięty."
)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "emails"
MAX_SCORE = 1.0


def spamassassin_binary():
    binary = shutil.which("spamassassin")
    if binary:
        return binary
    if os.environ.get("CI") == "true":
        pytest.fail(MISSING_SPAMASSASSIN)
    pytest.skip(MISSING_SPAMASSASSIN)


def _confirm_by_link(registration):
    token = urlsplit(confirmation_url(registration)).path.rsplit("/", 1)[1]
    confirm_registration(token, max_age_seconds=86400)


def send_every_kind_of_email(app, coordinator_id):
    """Run each flow that e-mails someone; must run in an app context."""
    coordinator = db.session.get(Coordinator, coordinator_id)
    coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))

    # Signers: the confirmation link, "you signed already", the welcome, the withdrawal link.
    signature = sign_declaration(current_declaration(), {**VALID_PERSON, "contact_allowed": "y"}).signature
    signature.status = SignatureStatus.CONFIRMED
    a_day_later(signature)
    sign_declaration(current_declaration(), VALID_PERSON)
    decide_signature(signature, "approve", coordinator)
    a_day_later(signature)
    send_withdraw_links(VALID_PERSON["email"])
    organisation = sign_declaration(current_declaration(), VALID_ORGANISATION).signature
    organisation.status = SignatureStatus.CONFIRMED
    db.session.commit()
    decide_signature(organisation, "approve", coordinator)
    send_profile_links(VALID_ORGANISATION["email"])

    # An annex earlier signers are asked to endorse, and an announcement a coordinator writes.
    annex = start_draft(coalition, VersionKind.ANNEX, "Aneks nr 1", "Dodajemy **wspólne spotkania** co kwartał.", coordinator)
    publish_version(annex, coordinator)
    invite_to_endorse(annex, coordinator)
    send_announcement(
        coalition,
        "Spotkanie sojuszników i sojuszniczek w czerwcu",
        "Zapraszamy na spotkanie w Centrum Obywatelskim, 12 czerwca o 17:00.\n\n"
        "Porozmawiamy o planach na jesień i o tym, jak włączyć kolejne organizacje z dzielnicy.",
        coordinator,
    )

    # Members: a consultation's personal link, a receipt, a later close, a reminder.
    consultation = create_consultation(
        coalition,
        {"title": "Kto zarządza partnerstwem w przyszłym roku?", "body": "Wybieramy partnera zarządzającego na rok.",
         "kind": "decision", "closes_at": utcnow() + timedelta(days=7), "rule": "majority"},
        coordinator,
    )
    open_consultation(consultation, coordinator)
    voter = db.session.scalar(select(ConsultationMember).where(ConsultationMember.signature_id == signature.id))
    record_voice(voter, [consultation.options[0].id])
    extend_closing(consultation, consultation.closes_at + timedelta(days=3), coordinator)
    send_reminders(consultation, coordinator)  # to the organisation, which has not voted

    # A new coordinator's invitation to the panel.
    invite_coordinator("nowa.koordynatorka@example.org", "Maria Kowalczyk", [coalition], False, coordinator)

    # Registrants: link, ticket, "registered already", waiting list offer, cancelled by a
    # coordinator, a coordinator's message, the cancellation of the event; approval, rejection.
    gala = db.session.get(Event, make_event(app, capacity=1))
    zofia = {"full_name": "Zofia Łukasik", "email": "zofia@example.org"}
    first = register(gala, zofia).registration
    waiting = register(gala, {"full_name": "Jan Kowalski", "email": "jan@example.org"}).registration
    _confirm_by_link(first)
    a_day_later(first)
    register(gala, zofia)
    cancel_registration(first, by=coordinator)  # the place goes to the first on the waiting list
    _confirm_by_link(waiting)
    message_registrants(gala, "Zmiana sali", "Spotykamy się w sali nr 2 na pierwszym piętrze.", AUDIENCE_ALL, coordinator)
    cancel_event(gala, by=coordinator)

    study_visit = db.session.get(Event, make_event(app, slug="wizyta", title="Wizyta studyjna", requires_approval=True))
    approval = register(study_visit, {"full_name": "Olena Kovalenko", "email": "olena@example.org"}).registration
    _confirm_by_link(approval)
    decide_registration(approval, False, coordinator)


def a_day_later(entry):
    """As if the last e-mail went out a day ago: a repeated request is answered, not throttled."""
    entry.last_mailed_at = None
    db.session.commit()


def _scored(messages, binary, tmp_path):
    """{Message-ID: (score, the report)} for every message, from one spamassassin process."""
    box_path = tmp_path / "messages.mbox"
    box = mailbox.mbox(box_path)
    for message in messages:
        box.add(bytes(message))
    box.flush()
    box.close()
    with open(box_path, "rb") as box_file:
        result = subprocess.run([binary, "-t", "-L", "--mbox"], stdin=box_file, capture_output=True, timeout=120, check=True)
    (tmp_path / "scored.mbox").write_bytes(result.stdout)
    scores = {}
    scored_box = mailbox.mbox(tmp_path / "scored.mbox")
    for scored in scored_box:
        status = " ".join(scored["X-Spam-Status"].split())
        report = scored.as_bytes().decode("utf-8", "replace")
        details = report[report.find("Content analysis details"):]
        scores[scored["Message-ID"]] = (float(re.search(r"score=(-?[\d.]+)", status).group(1)), details)
    scored_box.close()
    return scores


@pytest.fixture
def app_config():
    return {"MAIL_FROM": "Koalicja Sąsiedztw <koalicja@example.org>"}


def test_every_email_the_app_sends_scores_under_one_point_with_headers_a_server_trusts(app, coalition, coordinator, tmp_path):
    binary = spamassassin_binary()
    with app.app_context():
        send_every_kind_of_email(app, coordinator)
        messages = {}
        for row in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            if row.template not in messages:  # one of each kind is enough
                messages[row.template] = compose(row, app.config)

    every_template = {path.stem for path in TEMPLATES.glob("*.txt") if not path.name.startswith("_")}
    assert set(messages) == every_template, "a kind of e-mail without a flow in this test (or a flow without its template)"

    scores = _scored(messages.values(), binary, tmp_path)
    too_high = {
        template: scores[message["Message-ID"]]
        for template, message in messages.items()
        if scores[message["Message-ID"]][0] >= MAX_SCORE
    }
    assert not too_high, "\n\n".join(f"{template}: {score}\n{details}" for template, (score, details) in too_high.items())

    for template, composed in messages.items():
        message = email.message_from_bytes(bytes(composed), policy=email.policy.default)
        assert message["Date"].datetime.utcoffset() in (timedelta(hours=1), timedelta(hours=2)), template  # never -0000
        assert message["Message-ID"].endswith("@example.org>"), template  # MAIL_FROM's domain, not this machine's name
        written_by_a_coordinator = template in ("announcement_to_ally", "event_message_to_registrant")
        assert (message["Auto-Submitted"] == "auto-generated") != written_by_a_coordinator, template
        if template != "coordinator_password_link":  # the only one not about a coalition
            assert message["Reply-To"] == "kontakt@example.org", template
        [to] = message["To"].addresses
        assert to.display_name, template

    ticket = messages["registration_confirmed_to_registrant"]
    assert ticket["To"].addresses[0] == Address("Zofia Łukasik", "zofia", "example.org")
    raw_to = re.search(rb"^To: (.*)$", bytes(ticket), re.MULTILINE).group(1)
    assert raw_to == b"Zofia =?utf-8?q?=C5=81ukasik?= <zofia@example.org>"  # RFC 2047 for the name, the address plain
    assert messages["coordinator_password_link"]["To"].addresses[0].display_name == "Maria Kowalczyk"
