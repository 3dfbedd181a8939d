"""The outbox keeps every message until an SMTP server has taken it."""
import email
import email.policy

import pytest
from sqlalchemy import select

from koalicja.extensions import db
from koalicja.mail.addresses import mailbox_key
from koalicja.mail.models import OutboxMessage
from koalicja.mail.operations import compose, deliver_due
from koalicja.signatures.models import Signature

from ..conftest import VALID_PERSON, SmtpServer, free_port, sign


def make_due_now():
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=OutboxMessage.created_at))
    db.session.commit()


def test_smtp_down_at_signing_keeps_the_signature_and_delivers_later(app, client, coalition):
    port = free_port()  # nothing listens here yet
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_TIMEOUT=2)

    response = sign(client, **VALID_PERSON)
    assert response.status_code == 303
    with app.app_context():
        report = deliver_due()
        assert (report.sent, report.deferred) == (0, 1)
        [row] = db.session.scalars(select(OutboxMessage)).all()
        assert row.status == "pending" and row.attempts == 1 and "Connection refused" in row.last_error
        assert row.next_attempt_at > row.created_at  # backs off instead of hammering the server
        assert db.session.scalar(select(Signature.full_name)) == "Zofia Łukasik"
        # Not due yet: a second run right away sends nothing.
        assert deliver_due().deferred == 0

    server = SmtpServer(port)
    server.start()
    try:
        with app.app_context():
            make_due_now()
            assert deliver_due().sent == 1
            assert db.session.scalar(select(OutboxMessage.status)) == "sent"
        [mail] = server.messages
        assert mail["To"] == "Zofia Łukasik <zofia@example.org>"  # the signer's name beside the address
        assert "/potwierdz/" in mail.get_body(("plain",)).get_content()
    finally:
        server.stop()


def test_delivered_messages_are_not_sent_twice(app, client, coalition, smtp_server):
    sign(client, **VALID_PERSON)
    with app.app_context():
        assert deliver_due().sent == 1
        assert deliver_due().sent == 0
    assert len(smtp_server.messages) == 1


def test_gives_up_after_the_configured_attempts_and_keeps_the_row(app, client, coalition):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False, MAIL_MAX_ATTEMPTS=2)
    sign(client, **VALID_PERSON)
    with app.app_context():
        deliver_due()
        make_due_now()
        assert deliver_due().failed == 1
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == "failed" and row.attempts == 2


def test_send_mail_command_delivers_to_files_and_prints_the_link(app, client, coalition, runner, tmp_path):
    sign(client, **VALID_PERSON)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0
    assert "Wysłane: 1" in result.output
    [eml] = (tmp_path / "outbox").glob("*.eml")
    assert b"zofia@example.org" in eml.read_bytes()
    assert "http://koalicja.test/potwierdz/" in result.output


def test_polish_subject_survives_the_trip(app, client, coalition, smtp_server):
    sign(client, **VALID_PERSON)
    with app.app_context():
        deliver_due()
    assert smtp_server.messages[0]["Subject"] == "Potwierdź podpis pod deklaracją: Koalicja na rzecz sąsiedztw"


@pytest.mark.parametrize(
    "subject",
    [
        "Підтвердьте підпис під декларацією: Koalicja na rzecz sąsiedztw",
        "Вітаємо серед союзників і союзниць: Коаліція за добросусідство у Кракові та Вроцлаві",
        "Twój podpis pod deklaracją jest już zapisany: Koalicja na rzecz sąsiedztw i zieleni miejskiej",
        "Confirm your signature under the declaration: Koalicja na rzecz sąsiedztw",
    ],
)
def test_long_subjects_keep_every_space(subject):
    """Long non-ASCII subjects are folded over several encoded words; no space may go missing."""
    row = OutboxMessage(id=1, recipient="olena@example.org", subject=subject, body_text="Добрий день!", body_html="")
    raw = compose(row, {"MAIL_FROM": "Koalicja <koalicja@example.org>"}).as_bytes(policy=email.policy.SMTP)
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject


def test_mailbox_key():
    assert mailbox_key("Jan.Kowalski+x@GMail.com") == "jankowalski@gmail.com"
    assert mailbox_key("jan.kowalski+x@example.org") == "jan.kowalski+x@example.org"
    assert mailbox_key("Ala@Przykład.pl") == mailbox_key("ala@xn--przykad-rjb.pl")
