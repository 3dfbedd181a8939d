"""The demo's consultations (`make run`): the partnership chose its managing partner (closed, with
its protocol) and votes now on its steering team's rules (open, secret), both made by the operations."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.consultations.models import ConsultationMember
from koalicja.consultations.notifications import voice_token
from koalicja.consultations.operations import consultations_of
from koalicja.consultations.results import ELECTED, results_of
from koalicja.demo import (
    DEMO_COORDINATOR_EMAIL,
    DEMO_COORDINATOR_PASSWORD,
    PARTNERSHIP_PARTNERS,
    PARTNERSHIP_SLUG,
    seed_demo,
)
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage, OutboxStatus
from koalicja.signatures.models import Signature
from koalicja.timeutil import utcnow

from ..conftest import Auth

MANAGING_PARTNER = PARTNERSHIP_PARTNERS[1][0]  # Stowarzyszenie Razem dla Zielonego Brzegu


@pytest.mark.one_engine  # the seed itself runs on both engines in tests/test_app.py
def test_the_demo_has_a_closed_choice_with_its_protocol_and_an_open_secret_decision(app, client):
    with app.app_context():
        seed_demo()
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == PARTNERSHIP_SLUG))
        [running, closed] = consultations_of(coalition)
        assert (running.status, closed.status) == ("open", "closed")

        results = results_of(closed)
        assert (results.roll_size, results.took_part, results.quorum_met) == (5, 4, True)
        assert results.outcome == ELECTED and [option.label for option in results.winners] == [MANAGING_PARTNER]
        assert [(str(method), count) for method, count in results.by_method.items() if count] == [("link", 3), ("paper", 1)]
        assert closed.resolution.startswith("**Uchwała nr 1/")

        now = utcnow()
        assert running.secret and running.accepts_voices(now) and not running.live_results
        assert now + timedelta(days=9) < running.closes_at < now + timedelta(days=11)
        assert results_of(running).took_part == 2
        # The closed story's e-mails went out back then; only the open one's wait for the mailer.
        pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)).all()
        assert len(pending) == 7 and all(running.title in message.subject for message in pending)
        association = db.session.scalar(select(Signature).where(Signature.organisation_name == MANAGING_PARTNER))
        member = db.session.scalar(
            select(ConsultationMember).where(
                ConsultationMember.consultation_id == running.id, ConsultationMember.signature_id == association.id
            )
        )
        ballot = f"/{PARTNERSHIP_SLUG}/konsultacje/glos/{voice_token(member)}"
        closed_id, titles = closed.id, (running.title, closed.title)

    protocol = client.get(f"/{PARTNERSHIP_SLUG}/konsultacje/{closed_id}/protokol")
    assert protocol.status_code == 200
    page = protocol.get_data(as_text=True)
    assert f"Wybrano: {MANAGING_PARTNER}." in page and "Uchwała nr 1/" in page
    # The secret voice the seed recorded opens with the app's key: the member sees it.
    assert "Zapisana odpowiedź: <strong>Za</strong>" in client.get(ballot).get_data(as_text=True)
    assert "Pierwsze posiedzenie partnerstwa" in client.get(f"/{PARTNERSHIP_SLUG}/posiedzenia").get_data(as_text=True)

    Auth(client).login(DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    panel = client.get("/panel/konsultacje/").get_data(as_text=True)
    assert all(title in panel for title in titles)
