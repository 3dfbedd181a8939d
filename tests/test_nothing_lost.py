"""Backups while the app writes: restored elsewhere, the copy holds every saved entry."""
import threading

from sqlalchemy import select

from koalicja import create_app
from koalicja.extensions import db
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import sign_declaration

from .conftest import VALID_PERSON, current_declaration


def test_backup_while_signatures_arrive_restores_every_signature(app, runner, coalition, tmp_path, database_url):
    with app.app_context():
        for number in range(50):
            sign_declaration(current_declaration(), {**VALID_PERSON, "email": f"p{number}@example.org"})

    stop = threading.Event()

    def keep_signing():
        number = 1000
        with app.app_context():
            while not stop.is_set():
                sign_declaration(current_declaration(), {**VALID_PERSON, "email": f"p{number}@example.org"})
                number += 1

    writer = threading.Thread(target=keep_signing)
    writer.start()
    try:
        result = runner.invoke(args=["backup", str(tmp_path / "kopia.tar.gz")])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "Kopia zapisana" in result.output

    # Another installation (an empty database on the same engine) restores the copy.
    restored = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SCAN_FOLDER": str(tmp_path / "elsewhere" / "scans"),
            "LOGO_FOLDER": str(tmp_path / "elsewhere" / "logos"),
        }
    )
    result = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "kopia.tar.gz")])
    assert result.exit_code == 0, result.output
    with restored.app_context():
        emails = set(db.session.scalars(select(Signature.email)).all())
        if database_url.startswith("sqlite"):
            assert db.session.execute(db.text("PRAGMA integrity_check")).scalar() == "ok"
        db.session.remove()
        db.engine.dispose()
    assert {f"p{number}@example.org" for number in range(50)} <= emails
    assert len(emails) >= 50
