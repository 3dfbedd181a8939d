"""send-mail as it runs in production: everything due in batches, a broken message on its own,
several senders (one per app server) at once, and a sender that dies."""
import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage, OutboxStatus

from ..conftest import RecordingHandler, free_port

PROJECT = Path(__file__).resolve().parents[2]


class SlowSmtpServer:
    """A real SMTP server (aiosmtpd) that takes `delay` seconds per message and notes which
    connection each message came over; connections are served side by side."""

    def __init__(self, delay=0.0):
        self.port = free_port()
        self.handler = SlowHandler(delay)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def recipients(self):
        return [message["To"] for message in self.handler.messages]

    @property
    def connections(self):
        return len(set(self.handler.peers))

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.handler.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.handler.messages)} of {count} messages arrived"
            time.sleep(0.05)


class SlowHandler(RecordingHandler):
    def __init__(self, delay):
        super().__init__()
        self.delay = delay
        self.peers = []

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def queue_messages(count, start=0, **columns):
    """`count` due messages to osoba<n>@example.org, inserted at once."""
    db.session.execute(
        insert(OutboxMessage),
        [
            {"recipient": f"osoba{n}@example.org", "subject": f"Wiadomość {n}", "body_text": f"Wiadomość {n}.", **columns}
            for n in range(start, start + count)
        ],
    )
    db.session.commit()


def use_smtp(app, server, **config):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_STARTTLS=False, **config)


def statuses():
    return dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())


def sender_process(app, server, *args, **env):
    """`flask --app app send-mail …` as its own process, on the test's database and SMTP server."""
    environment = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "senders-test-secret",
        "KOALICJA_ENV": "production",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(server.port),
        "SMTP_STARTTLS": "false",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "send-mail", *args],
        cwd=PROJECT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def sent_by(output):
    match = re.search(r"Wysłane: (\d+)", output)
    assert match, output
    return int(match.group(1))


def test_one_broken_message_is_marked_failed_with_its_reason_and_the_others_go_out(app, runner):
    with SlowSmtpServer() as server:
        use_smtp(app, server)
        with app.app_context():
            queue_messages(1, start=0)
            # A stored header that no e-mail may carry (a line break): it cannot be composed.
            queue_messages(1, start=1, headers={"Reply-To": "koordynatorka@example.org\nBcc: wszyscy@example.org"})
            queue_messages(1, start=2)
        result = runner.invoke(args=["send-mail"])
        assert result.exit_code == 0, result.output
        assert "Wysłane: 2, do ponowienia: 0, nieudane: 1" in result.output
        assert sorted(server.recipients) == ["osoba0@example.org", "osoba2@example.org"]
    with app.app_context():
        broken = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "osoba1@example.org"))
        assert broken.status == OutboxStatus.FAILED
        assert broken.last_error.startswith("ValueError: Header values may not contain linefeed")
        assert statuses() == {"sent": 2, "failed": 1}


def test_send_mail_watch_goes_on_after_a_broken_message(app):
    with SlowSmtpServer() as server, app.app_context():
        queue_messages(1, start=0, headers={"Reply-To": "a@example.org\r\nX-Injected: yes"})
        queue_messages(1, start=1)
        watcher = sender_process(app, server, "--watch", "--interval", "0.2")
        try:
            server.wait_for(1)
            queue_messages(1, start=2)  # arrives while the sender runs
            server.wait_for(2)
            deadline = time.monotonic() + 30
            while statuses().get("sent") != 2:  # the outcome is written just after the server took it
                assert time.monotonic() < deadline, statuses()
                time.sleep(0.05)
            assert watcher.poll() is None  # still watching
        finally:
            watcher.send_signal(signal.SIGTERM)
            watcher.communicate(timeout=30)
        assert sorted(server.recipients) == ["osoba1@example.org", "osoba2@example.org"]
        assert statuses() == {"sent": 2, "failed": 1}


def test_send_mail_delivers_everything_that_is_due_in_batches(app, runner):
    """250 messages: all of them go out in one run (it stopped at 200 before), 100 per connection."""
    with SlowSmtpServer() as server:
        use_smtp(app, server)
        with app.app_context():
            queue_messages(250)
        result = runner.invoke(args=["send-mail"])
        assert result.exit_code == 0, result.output
        assert "Wysłane: 250, do ponowienia: 0, nieudane: 0" in result.output
        assert sorted(server.recipients) == sorted(f"osoba{n}@example.org" for n in range(250))
        assert server.connections == 3  # MAIL_BATCH_SIZE=100 per SMTP connection
    with app.app_context():
        assert statuses() == {"sent": 250}


def test_two_senders_at_once_send_every_message_exactly_once(app):
    """Two `send-mail` processes (two app servers) over one outbox and one SMTP server."""
    total = 300
    with SlowSmtpServer(delay=0.02) as server, app.app_context():
        queue_messages(total)
        db.engine.dispose()
        senders = [sender_process(app, server, MAIL_BATCH_SIZE="10") for _ in range(2)]
        outputs = [sender.communicate(timeout=180) for sender in senders]
        assert [sender.returncode for sender in senders] == [0, 0], outputs
        counts = [sent_by(stdout) for stdout, _ in outputs]
        assert sum(counts) == total and min(counts) > 0, counts  # both worked, neither sent another's
        recipients = server.recipients
        assert len(recipients) == total
        assert sorted(recipients) == sorted(f"osoba{n}@example.org" for n in range(total))
        assert statuses() == {"sent": total}
        assert db.session.scalar(select(func.max(OutboxMessage.attempts))) == 1


def test_a_dead_senders_messages_go_out_when_its_claim_runs_out(app):
    total = 40
    with SlowSmtpServer(delay=0.1) as server, app.app_context():
        queue_messages(total)
        db.engine.dispose()
        dying = sender_process(app, server, MAIL_CLAIM_SECONDS="4")  # claims all 40 in its first batch
        server.wait_for(5)
        dying.kill()  # kill -9 in the middle of its batch
        dying.communicate()
        killed_at = time.monotonic()
        arrived = len(server.recipients)
        assert arrived < total

        use_smtp(app, server, MAIL_CLAIM_SECONDS=4)
        from koalicja.mail.operations import deliver_due

        # Still claimed (renewed every half lease, so for at least 2 s more): nobody sends them twice.
        assert deliver_due().sent == 0
        time.sleep(max(0.0, 4.5 - (time.monotonic() - killed_at)))
        report = deliver_due()
        assert report.sent >= total - arrived  # the rest, and maybe the one in flight at the kill
        recipients = server.recipients
        assert set(recipients) == {f"osoba{n}@example.org" for n in range(total)}
        assert len(recipients) - total <= 1, len(recipients)
        assert statuses() == {"sent": total}
