"""Backups while the app writes, and a database busy for a moment: no saved entry is lost."""
import threading

import pytest
from sqlalchemy import select

from koalicja import create_app
from koalicja.extensions import db
from koalicja.signatures.models import Signature
from koalicja.signatures.operations import sign_declaration

from .conftest import VALID_PERSON, current_declaration


def sqlite_only(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's online backup; PostgreSQL uses pg_dump (README)")


def test_backup_while_signatures_arrive_restores_every_signature(app, runner, coalition, tmp_path):
    sqlite_only(app)
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
        result = runner.invoke(args=["backup", str(tmp_path / "kopia.sqlite")])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "Kopia zapisana" in result.output

    restored = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'kopia.sqlite'}"})
    with restored.app_context():
        emails = set(db.session.scalars(select(Signature.email)).all())
        integrity = db.session.execute(db.text("PRAGMA integrity_check")).scalar()
    assert integrity == "ok"
    assert {f"p{number}@example.org" for number in range(50)} <= emails
