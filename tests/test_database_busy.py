"""A database locked for a moment: the person gets a clear Polish message, nothing saved is lost."""
import sqlite3

import pytest
from sqlalchemy import select

from koalicja.extensions import db
from koalicja.signatures.models import Signature

from .conftest import VALID_PERSON, sign


@pytest.fixture
def app_config():
    return {"SQLITE_BUSY_TIMEOUT_MS": 300}


def test_locked_database_gives_503_in_polish_and_loses_nothing(app, client, coalition):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL waits on row locks instead")
    sign(client, **{**VALID_PERSON, "email": "pierwsza@example.org"})
    blocker = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")  # e.g. maintenance holding the write lock
    try:
        response = sign(client, **{**VALID_PERSON, "email": "druga@example.org"})
    finally:
        blocker.rollback()
        blocker.close()
    assert response.status_code == 503
    assert "Nic nie zostało utracone: spróbuj ponownie za chwilę." in response.get_data(as_text=True)

    with app.app_context():
        assert db.session.scalars(select(Signature.email)).all() == ["pierwsza@example.org"]
    assert sign(client, **{**VALID_PERSON, "email": "druga@example.org"}).status_code == 303
    with app.app_context():
        assert sorted(db.session.scalars(select(Signature.email)).all()) == ["druga@example.org", "pierwsza@example.org"]
