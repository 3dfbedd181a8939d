"""Behaviour a sample of mutants showed pinned by one test or none (issue #19): one coalition's
allies never reach another coalition's list, counts or export; a second draft of a kind and a
second publication of one draft are refused by the operations themselves (the views check
first; a race, or a direct call, gets to the operations)."""
import json

import pytest
from sqlalchemy import func, select

from koalicja.coalitions.models import Coalition, Declaration, DeclarationVersion, VersionKind
from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.declarations.operations import DraftExists, VersionPublished, publish_version, start_draft
from koalicja.extensions import db
from koalicja.signatures.models import SignatureStatus
from koalicja.signatures.operations import decide_signature, sign_declaration

from ..conftest import SLUG, VALID_PERSON, current_declaration

OTHER = "reintegracja"


def approved(slug, full_name, email, coordinator_id, district="XIII Podgórze"):
    signature = sign_declaration(
        current_declaration(slug), {**VALID_PERSON, "full_name": full_name, "email": email, "district": district}
    ).signature
    signature.status = SignatureStatus.CONFIRMED
    db.session.commit()
    decide_signature(signature, "approve", db.session.get(Coordinator, coordinator_id))


@pytest.fixture
def two_coalitions(app, coalition, coordinator):
    """"sasiedztwa" with two approved allies (in Podgórze), "reintegracja" with three (in Nowa Huta)."""
    with app.app_context():
        other = Coalition(slug=OTHER, name="Koalicja na rzecz reintegracji", organiser="Fundacja")
        db.session.add_all([other, Declaration(coalition=other, title="Deklaracja", body="Tekst")])
        db.session.commit()
        for number in (1, 2):
            approved(SLUG, f"Nasza Osoba {number}", f"nasza{number}@example.org", coordinator)
        for number in (1, 2, 3):
            approved(OTHER, f"Obca Osoba {number}", f"obca{number}@example.org", coordinator, "XVIII Nowa Huta")
    return coordinator


def test_one_coalitions_allies_stay_off_another_coalitions_list_counts_and_export(client, auth, two_coalitions):
    allies = client.get(f"/{SLUG}/sojusznicy").get_data(as_text=True)
    assert "Nasza Osoba 1" in allies and "Nasza Osoba 2" in allies
    assert "Obca Osoba" not in allies
    assert "XIII Podgórze: <strong>2</strong>" in allies and "Nowa Huta: <strong>" not in allies
    assert '<strong class="big-number">2</strong>' in client.get(f"/{SLUG}/").get_data(as_text=True)

    auth.login()
    assert "2 sojuszników i sojuszniczek" in client.get(f"/panel/koalicje/{SLUG}/").get_data(as_text=True)
    assert "2 sojuszników i sojuszniczek" in client.get("/panel/koalicje/").get_data(as_text=True)
    exported = json.loads(client.get(f"/panel/koalicje/{SLUG}/sojusznicy.json").get_data(as_text=True))
    assert sorted(entry["name"] for entry in exported) == ["Nasza Osoba 1", "Nasza Osoba 2"]
    csv = client.get(f"/panel/koalicje/{SLUG}/sojusznicy.csv").get_data(as_text=True)
    assert "Nasza Osoba 1" in csv and "Obca Osoba" not in csv


def test_the_other_coalition_counts_its_own_allies(client, two_coalitions):
    allies = client.get(f"/{OTHER}/sojusznicy").get_data(as_text=True)
    assert "Obca Osoba 3" in allies and "Nasza Osoba" not in allies
    assert "XVIII Nowa Huta: <strong>3</strong>" in allies
    assert '<strong class="big-number">3</strong>' in client.get(f"/{OTHER}/").get_data(as_text=True)


def versions_and_audit():
    db.session.rollback()
    return (
        db.session.execute(
            select(DeclarationVersion.kind, DeclarationVersion.number, DeclarationVersion.title, DeclarationVersion.published_at)
            .order_by(DeclarationVersion.id)
        ).all(),
        db.session.scalar(select(func.count(AuditEntry.id))),
    )


@pytest.fixture
def editor(ctx, coordinator):
    return db.session.get(Coordinator, coordinator)


def the_coalition():
    return db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))


@pytest.mark.parametrize("kind", [VersionKind.TEXT, VersionKind.ANNEX])
def test_a_second_draft_of_the_same_kind_is_refused_and_writes_nothing(editor, kind):
    start_draft(the_coalition(), kind, "Pierwszy szkic", "Tekst", editor)
    before = versions_and_audit()
    with pytest.raises(DraftExists):
        start_draft(the_coalition(), kind, "Drugi szkic", "Inny tekst", editor)
    assert versions_and_audit() == before


def test_a_draft_of_the_other_kind_may_start_beside_one(editor):
    start_draft(the_coalition(), VersionKind.TEXT, "Nowa wersja", "Tekst", editor)
    annex = start_draft(the_coalition(), VersionKind.ANNEX, "Aneks", "Tekst aneksu", editor)
    assert (annex.kind, annex.number) == (VersionKind.ANNEX, 1)


def test_a_draft_started_at_the_same_moment_as_another_is_refused_and_writes_nothing(editor):
    """Two coordinators at once: this one read the versions before the other's draft was saved."""
    coalition = the_coalition()
    declaration = coalition.current_declaration
    assert [v.number for v in declaration.versions] == [1]  # read now, before the other's draft
    with db.engine.begin() as other_request:
        other_request.execute(
            DeclarationVersion.__table__.insert().values(
                declaration_id=declaration.id, kind=VersionKind.TEXT, number=2, title="Szkic obok", body="Tekst"
            )
        )
    audit_before = db.session.scalar(select(func.count(AuditEntry.id)))
    with pytest.raises(DraftExists):
        start_draft(coalition, VersionKind.TEXT, "Drugi szkic", "Inny tekst", editor)
    versions, audit = versions_and_audit()
    assert [(number, title) for _kind, number, title, _published in versions] == [(1, "Deklaracja współpracy"), (2, "Szkic obok")]
    assert audit == audit_before


def test_publishing_a_draft_twice_is_refused_and_keeps_the_first_publication(editor):
    draft = start_draft(the_coalition(), VersionKind.TEXT, "Nowa wersja", "Tekst", editor)
    publish_version(draft, editor)
    before = versions_and_audit()
    with pytest.raises(VersionPublished):
        publish_version(db.session.get(DeclarationVersion, draft.id), editor)
    assert versions_and_audit() == before
    assert before[0][-1].published_at is not None
