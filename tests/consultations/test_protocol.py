"""The printable protocol (templates/consultations/protocol.html) and the results it includes
(templates/consultations/_results.html), rendered from data written here."""
import re
from datetime import datetime

import pytest
from flask import render_template
from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.consultations.models import ConsultationKind, ConsultationMember, ConsultationOpinion, VoiceMethod
from koalicja.consultations.results import results_of
from koalicja.extensions import db

from ..conftest import SLUG
from .test_results import consultation_with, signature


def text_of(page):
    """The page's words, as a reader gets them (tags dropped, spaces folded)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def render(app, consultation):
    coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
    with app.test_request_context():
        return render_template("consultations/protocol.html", consultation=consultation,
                               results=results_of(consultation), coalition=coalition, back_url="/wstecz")


def members_of(consultation):
    return db.session.scalars(select(ConsultationMember).where(ConsultationMember.consultation_id == consultation.id)
                              .order_by(ConsultationMember.id)).all()


@pytest.mark.one_engine
def test_protocol_of_a_closed_open_ballot(app, ctx, coalition):
    # 9 on the roll, 5 took part: za 3, przeciw 1, wstrzymuję się 1; one voice on paper, one at a meeting.
    consultation = consultation_with((3, 1, 1), roll=9, quorum=50, choices=[(0,), (0,), (1,), (0,), (2,)],
                                     methods={3: VoiceMethod.PAPER, 4: VoiceMethod.MEETING})
    consultation.title = "Wybór partnera zarządzającego"
    consultation.body = "Czy **Fundacja** zarządza partnerstwem?"
    consultation.opened_at = datetime(2026, 5, 25, 8, 0)  # 10:00 in Warsaw (summer time)
    consultation.closed_at = datetime(2026, 6, 1, 10, 30)  # 12:30 in Warsaw
    consultation.resolution = "Uchwała nr 1: **przyjęto**.\n\n<script>alert(1)</script>"
    members = members_of(consultation)
    members[0].signature = signature("Anna Nowak", "anna@example.org", organisation="Klub Sąsiedzki",
                                     public_organisation=True)
    members[0].is_organisation = True
    members[1].signature = signature("Ewa Łęcka", "ewa@example.org", public_name=True)
    members[2].signature = signature("Piotr Zięba", "piotr@example.org")
    members[3].signature = signature("Olga Nowa", "olga@example.org", public_name=True)
    members[3].note = "karta oddana w biurze"
    members[4].note = "posiedzenie 12 maja"  # its entry is gone: "wycofany wpis"
    db.session.flush()

    page = render(app, consultation)
    text = text_of(page)

    assert "Protokół konsultacji: Wybór partnera zarządzającego" in text
    assert "Koalicja na rzecz sąsiedztw" in text
    assert "<strong>Fundacja</strong>" in page
    assert "Decyzja: za, przeciw, wstrzymuję się" in text and "Większość oddanych głosów" in text
    assert "jawne" in text
    assert "25 maja 2026, 10:00" in text and "1 czerwca 2026, 12:30" in text  # Europe/Warsaw
    assert "9 członków i członkiń koalicji na liście" in text  # the roll
    assert "wzięło udział 5 z 9 (55,6%)" in text  # turnout
    assert "osiągnięte (wymagany udział: 50% uprawnionych)" in text
    assert "przez osobisty link: 3 · na papierze: 1 · na posiedzeniu: 1" in text
    assert "Za 3 60%" in text  # the count and the share as text
    assert 'role="img" aria-label="60% oddanych głosów"' in page  # the bar says it too
    assert "Rozstrzygnięcie: Decyzja została przyjęta: wymagana większość głosowała za." in text
    for voice in [
        "Klub Sąsiedzki Za przez osobisty link",
        "Ewa Łęcka Za przez osobisty link",
        "członek/członkini koalicji Przeciw przez osobisty link",
        "Olga Nowa Za na papierze : karta oddana w biurze",
        "wycofany wpis Wstrzymuję się na posiedzeniu : posiedzenie 12 maja",
    ]:
        assert voice in text
    assert "<strong>przyjęto</strong>" in page and "<script>alert(1)</script>" not in page  # safe Markdown
    assert "Podpisy koordynatorów i koordynatorek" in text
    assert 'href="/wstecz"' in page


@pytest.mark.one_engine
def test_results_of_a_secret_ballot_an_approval_vote_and_opinions_render(app, ctx, coalition):
    secret = consultation_with((2, 1, 0), roll=4, secret=True)
    approval = consultation_with((3, 3, 2), took_part=5, kind=ConsultationKind.MULTIPLE,
                                 choices=[(0, 1), (0, 1, 2), (0, 2), (1,), ()])
    opinions = consultation_with((), took_part=1, roll=3, kind=ConsultationKind.OPINIONS)
    opinions.sections = ["Cele", "Budżet"]
    db.session.add(ConsultationOpinion(consultation_id=opinions.id, member=members_of(opinions)[0], section=2,
                                       text="Za mało na festyn."))
    db.session.flush()

    secret_text, approval_text, opinions_text = (text_of(render(app, consultation))
                                                 for consultation in (secret, approval, opinions))

    assert "Głosowanie tajne" in secret_text and "Kto jak głosował" not in secret_text
    assert "Za 2 66,7%" in secret_text
    assert "1. A (przyjęta) 3" in approval_text and "1. B (przyjęta) 3" in approval_text
    assert "3. C 2" in approval_text
    assert "nie zaznaczono żadnej odpowiedzi" in approval_text
    assert "Przyjęte odpowiedzi: A; B." in approval_text
    assert "Punkt 2: Budżet" in opinions_text and "Za mało na festyn." in opinions_text
    assert "Punkty projektu, do których zbierano opinie: Cele Budżet" in opinions_text
    assert "Konsultacja zbierała opinie" in opinions_text
    assert "Reguła rozstrzygania" not in opinions_text
