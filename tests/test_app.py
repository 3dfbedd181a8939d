"""Configuration and commands that a newcomer and an operator rely on."""
import pytest
from sqlalchemy import func, select, text

from koalicja import create_app
from koalicja.config import ConfigError
from koalicja.extensions import db
from koalicja.signatures.models import Signature


def test_production_without_secret_key_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("KOALICJA_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})


def test_development_keeps_one_secret_key_across_restarts(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("KOALICJA_ENV", "development")
    assert create_app().config["SECRET_KEY"] == create_app().config["SECRET_KEY"]


def test_environment_configures_database_smtp_and_links(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    monkeypatch.setenv("BASE_URL", "https://koalicja.example.org/")
    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("SMTP_PORT", "2525")
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    monkeypatch.setenv("MAIL_FROM", "Koalicja <k@example.org>")
    config = create_app().config
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("prod.sqlite")
    assert config["BASE_URL"] == "https://koalicja.example.org"
    assert config["MAIL_BACKEND"] == "smtp" and config["SMTP_PORT"] == 2525 and config["SMTP_STARTTLS"] is False
    assert config["SESSION_COOKIE_SECURE"] is True


def test_init_db_and_seed_demo_give_a_working_demo(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "koordynatorka@example.org" in result.output and "hasło:" in result.output
    assert "już w bazie" in runner.invoke(args=["seed-demo"]).output
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id)).where(Signature.status == "confirmed")) >= 3
    client = app.test_client()
    assert "Koalicja na rzecz sąsiedztw" in client.get("/sasiedztwa/").get_data(as_text=True)
    assert client.get("/sasiedztwa/sojusznicy").get_data(as_text=True).count('class="ally"') == 8
    with app.app_context():
        db.engine.dispose()


def test_static_htmx_is_served_from_this_site(client):
    with client.get("/static/js/htmx-2.0.11.min.js") as response:
        assert response.status_code == 200
        assert b"htmx" in response.data[:2000]


def test_migrations_reach_exactly_the_models(database_url):
    """An empty database migrated to head has every table, column and index the models declare (SQLite and PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            collations = _collation_differences(connection)
        db.engine.dispose()
    assert differences == []
    assert collations == []


def _collation_differences(connection):
    """Alembic does not compare collations; the sort key's byte order depends on one (PostgreSQL)."""
    if connection.dialect.name != "postgresql":
        return []
    differences = []
    for table in db.metadata.tables.values():
        for column in table.columns:
            wanted = getattr(column.type.dialect_impl(connection.dialect), "collation", None)
            actual = connection.scalar(
                text("SELECT collation_name FROM information_schema.columns WHERE table_name = :t AND column_name = :c"),
                {"t": table.name, "c": column.name},
            )
            if wanted != actual:
                differences.append((table.name, column.name, wanted, actual))
    return differences


def test_the_performance_migration_goes_down_and_up_again(database_url):
    """0004 (data version, indexes, byte-order sort key) can be undone and redone on either database."""
    from flask_migrate import downgrade, upgrade

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        downgrade(revision="d01530b99fa0")
        upgrade()
        assert db.session.scalar(text("SELECT version FROM data_version WHERE id = 1")) == 0
        db.session.remove()
        db.engine.dispose()
