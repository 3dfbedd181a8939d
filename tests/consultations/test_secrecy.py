"""A secret ballot, read the way anyone with the database would read it: every row of every table
(the outbox's message bodies and the audit log too). Nothing may tie a member to a choice:
the roll holds who took part, the options hold the counts, and only the member's sealed copy
(erased at the close) links the two. On PostgreSQL every vote rewrites every option row, so
their transaction ids (xmin) do not tell which counter moved in whose transaction."""
import json
import re

from sqlalchemy import select, text

from koalicja.consultations.models import ConsultationMember, ConsultationOption
from koalicja.consultations.operations import (
    close_consultation,
    current_choice,
    record_voice,
    record_voice_by_coordinator,
)
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage

from .conftest import account, member_of, open_now, option_id

LABELS = ["Opcja Alfa", "Opcja Beta", "Opcja Gamma"]  # found nowhere else in the data


def every_row():
    """{table name: [row as a dict]} of the whole database."""
    return {
        table.name: [dict(row._mapping) for row in db.session.execute(select(table))] for table in db.metadata.sorted_tables
    }


def as_text(row):
    return json.dumps(row, default=str, ensure_ascii=False)


def secret_ballot_with_voices(allies, coordinator):
    """zofia and ewa choose Alfa, anna (for the organisation) Beta, jan Beta then Gamma, the paper
    entry Gamma (entered by a coordinator): counts 2, 1, 2."""
    consultation = open_now(coordinator, secret=True, options=LABELS)
    at = consultation.opened_at
    alfa, beta, gamma = (option_id(consultation, n) for n in (1, 2, 3))
    for signature_id, choice in ((allies.zofia, alfa), (allies.unsubscribed, alfa), (allies.anna, beta), (allies.jan, beta)):
        record_voice(member_of(consultation, signature_id), [choice], now=at)
    record_voice(member_of(consultation, allies.jan), [gamma], now=at)
    paper = member_of(consultation, allies.paper)
    record_voice_by_coordinator(paper, [gamma], "paper", "Karta nr 7", account(coordinator), now=at)
    return consultation


def without_personal_parts(body):
    """A message body without its personal links (the only thing that differs between members)."""
    return re.sub(r"http://koalicja\.test/\S+", "LINK", body)


def test_nothing_in_the_database_ties_a_member_to_a_secret_choice(ctx, allies, coordinator, database):
    consultation = secret_ballot_with_voices(allies, coordinator)
    rows = every_row()

    # The counts are right, and only the options hold them.
    options = sorted(rows["consultation_option"], key=lambda row: row["position"])
    assert [(row["label"], row["votes"]) for row in options] == list(zip(LABELS, [2, 1, 2], strict=True))
    assert set(rows["consultation_option"][0]) == {"id", "consultation_id", "position", "label", "code", "votes"}
    assert not any(fk.column.table.name == "consultation_option" for t in db.metadata.sorted_tables for fk in t.foreign_keys)

    # The roll says who took part, never what: no choice in the clear, only the sealed copy.
    voters = [row for row in rows["consultation_member"] if row["took_part_at"] is not None]
    assert len(voters) == 5
    for row in rows["consultation_member"]:
        assert row["choice"] is None
        if row["took_part_at"] is not None:
            assert row["sealed_choice"] and not row["sealed_choice"].lstrip().startswith("[")
    # Everyone voted at the same moment here; the options carry no time or order of their own to join with.
    assert {row["took_part_at"] for row in voters} == {consultation.opened_at}

    # No option's label appears anywhere but on the option itself: not in the outbox's bodies,
    # the audit log, the roll or anything else.
    for table, table_rows in rows.items():
        if table == "consultation_option":
            continue
        for row in table_rows:
            assert not any(label in as_text(row) for label in LABELS), (table, row)

    # The receipts say that a voice was recorded, and the same words whatever was chosen.
    receipts = {
        m.recipient: m
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "consultation_receipt_to_member"))
    }
    assert set(receipts) == {"zofia@example.org", "ewa@example.org", "anna@zablocie.example.org", "jan@example.org"}
    alfa_receipt = without_personal_parts(receipts["zofia@example.org"].body_text)
    assert alfa_receipt == without_personal_parts(receipts["anna@zablocie.example.org"].body_text)  # Alfa and Beta alike
    assert "został zapisany" in alfa_receipt
    # The audit entry of the paper voice: that it was entered and how, nothing of what.
    paper_entry = [row for row in rows["audit_entry"] if row["details"].get("method")]
    assert [row["details"] for row in paper_entry] == [{"member": member_of(consultation, allies.paper).id, "method": "paper"}]

    # The member sees their own voice (unsealed with the key, which is not in the database).
    assert current_choice(member_of(consultation, allies.jan)) == [option_id(consultation, 3)]

    close_consultation(consultation, now=consultation.closes_at)
    rows = every_row()
    assert all(row["sealed_choice"] is None and row["choice"] is None for row in rows["consultation_member"])
    assert [row["votes"] for row in sorted(rows["consultation_option"], key=lambda row: row["position"])] == [2, 1, 2]
    assert current_choice(member_of(consultation, allies.jan)) == []  # from now on nobody can tell, not even the app
    assert sum(row["took_part_at"] is not None for row in rows["consultation_member"]) == 5


def option_xmins(consultation):
    return set(
        db.session.scalars(
            text("SELECT xmin::text FROM consultation_option WHERE consultation_id = :id"), {"id": consultation.id}
        )
    )


def test_every_vote_rewrites_every_option_row_so_transaction_ids_tell_nothing(ctx, allies, coordinator, database):
    consultation = open_now(coordinator, secret=True, options=LABELS)
    member = member_of(consultation, allies.zofia)
    record_voice(member, [option_id(consultation, 1)])
    if database != "postgresql":
        # SQLite keeps no transaction ids; the statement is the same one (every row, +0 for the untouched).
        options = db.session.scalars(select(ConsultationOption).order_by(ConsultationOption.position))
        assert [o.votes for o in options] == [1, 0, 0]
        return
    after_first = option_xmins(consultation)
    assert len(after_first) == 1
    record_voice(member_of(consultation, allies.jan), [option_id(consultation, 3)])
    after_second = option_xmins(consultation)
    assert len(after_second) == 1 and after_second != after_first
    record_voice(member, [option_id(consultation, 2)])  # a change: Alfa −1, Beta +1, Gamma +0
    after_change = option_xmins(consultation)
    assert len(after_change) == 1 and after_change != after_second


def test_an_open_ballot_keeps_each_choice_in_the_clear_and_seals_nothing(ctx, allies, coordinator):
    consultation = open_now(coordinator, kind="multiple", options=LABELS)
    chosen = sorted([option_id(consultation, 3), option_id(consultation, 1)])
    record_voice(member_of(consultation, allies.zofia), list(reversed(chosen)))
    member = db.session.get(ConsultationMember, member_of(consultation, allies.zofia).id)
    assert member.choice == chosen and member.sealed_choice is None
    close_consultation(consultation, now=consultation.closes_at)
    assert db.session.get(ConsultationMember, member.id).choice == chosen  # results list it by the published name
