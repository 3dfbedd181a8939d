"""Ways a composed message leaves the outbox: to files (development) or over SMTP."""
import re
import smtplib
import ssl
import sys
from pathlib import Path


class FileBackend:
    """Writes each message as an .eml file and prints its links, so a newcomer can click them."""

    def __init__(self, config):
        self.directory = Path(config["MAIL_OUTBOX_DIR"])

    def __enter__(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        return False

    def send(self, message, outbox_id):
        path = self.directory / f"{outbox_id:06d}.eml"
        path.write_bytes(bytes(message))
        body = message.get_body(("plain",))
        links = re.findall(r"https?://\S+", body.get_content() if body else "")
        print(f"[poczta] do {message['To']}: {message['Subject']} ({path})", file=sys.stderr)
        for link in links:
            print(f"[poczta]   {link}", file=sys.stderr)


class SmtpBackend:
    """One SMTP connection per delivery batch."""

    def __init__(self, config):
        self.config = config
        self.connection = None

    def __enter__(self):
        c = self.config
        self.connection = smtplib.SMTP(c["SMTP_HOST"], c["SMTP_PORT"], timeout=c["SMTP_TIMEOUT"])
        if c["SMTP_STARTTLS"]:
            self.connection.starttls(context=ssl.create_default_context())
        if c["SMTP_USER"]:
            self.connection.login(c["SMTP_USER"], c["SMTP_PASSWORD"])
        return self

    def __exit__(self, *exc):
        try:
            self.connection.quit()
        except (smtplib.SMTPException, OSError):
            pass
        return False

    def send(self, message, outbox_id):
        self.connection.send_message(message)


BACKENDS = {"file": FileBackend, "smtp": SmtpBackend}
