"""Shared by the search, person-card and fix tests: a coordinator serving two coalitions, and a
third coalition they do not serve, with entries made directly (the tests are in what follows)."""
from sqlalchemy import select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import sign_declaration

from ..conftest import COORDINATOR_EMAIL, VALID_ORGANISATION, VALID_PERSON, current_declaration

SECOND = "reintegracja"
FOREIGN = "obca"


def add_coalitions(app):
    """A second coalition served by the `coordinator` fixture's account and a third one it does not serve."""
    with app.app_context():
        second = Coalition(slug=SECOND, name="Koalicja na rzecz reintegracji", organiser="Fundacja")
        foreign = Coalition(slug=FOREIGN, name="Obca koalicja", organiser="Ktoś inny")
        db.session.add_all([second, foreign, Declaration(coalition=second, title="Wyrażenie woli", body="Tekst"),
                            Declaration(coalition=foreign, title="Obca deklaracja", body="Tekst")])
        account = db.session.scalar(select(Coordinator).where(Coordinator.email == COORDINATOR_EMAIL))
        account.coalitions.append(second)
        db.session.commit()


def entry(app, slug="sasiedztwa", status=SignatureStatus.CONFIRMED, organisation=False, **changes):
    """A signature under `slug`'s declaration in `status`; returns its id."""
    with app.app_context():
        data = {**(VALID_ORGANISATION if organisation else VALID_PERSON), **changes}
        signature = sign_declaration(current_declaration(slug), data).signature
        signature.status = status
        db.session.commit()
        return signature.id
