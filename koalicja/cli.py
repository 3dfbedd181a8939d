"""Commands: flask --app app init-db | seed-demo | create-coordinator | send-mail."""
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or bring the database schema up to date (Alembic migrations; safe to run again)."""
    from flask_migrate import upgrade

    upgrade()
    click.echo(f"Baza danych gotowa: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load a demo coalition, allies, a queue and a demo coordinator (once)."""
    from .demo import (
        DEMO_COORDINATOR_EMAIL,
        DEMO_COORDINATOR_PASSWORD,
        DEMO_SCOPED_EMAIL,
        DEMO_SCOPED_PASSWORD,
        seed_demo,
    )

    created = seed_demo()
    click.echo("Dane demonstracyjne wczytane." if created else "Dane demonstracyjne są już w bazie.")
    click.echo(f"Panel koordynatora: {current_app.config['BASE_URL']}/panel/logowanie")
    click.echo(f"  administratorka (wszystkie koalicje): {DEMO_COORDINATOR_EMAIL} / hasło: {DEMO_COORDINATOR_PASSWORD}")
    click.echo(f"  koordynator (tylko reintegracja):     {DEMO_SCOPED_EMAIL} / hasło: {DEMO_SCOPED_PASSWORD}")


@click.command("create-coordinator")
@click.argument("email")
@click.option("--name", prompt="Imię i nazwisko", help="Name shown in the panel.")
@click.password_option("--password", prompt="Hasło", confirmation_prompt="Powtórz hasło")
@click.option("--admin", is_flag=True, help="An administrator: manages coalitions and accounts, acts for all coalitions.")
@click.option("--coalition", "slugs", multiple=True, help="Slug of a coalition this coordinator acts for (repeatable).")
@with_appcontext
def create_coordinator_command(email, name, password, admin, slugs):
    """Create a coordinator account (the first one of an installation: --admin)."""
    from .coalitions.loading import coalition_by_slug
    from .extensions import db
    from .panel.operations import MIN_PASSWORD_LENGTH, CoordinatorExists, create_coordinator

    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"Hasło musi mieć co najmniej {MIN_PASSWORD_LENGTH} znaków.")
    coalitions = [coalition_by_slug(slug) for slug in slugs]
    if None in coalitions:
        raise click.UsageError("Nie ma koalicji o adresie: " + ", ".join(s for s, c in zip(slugs, coalitions) if c is None))
    try:
        account = create_coordinator(email, name, password)
    except CoordinatorExists:
        raise click.UsageError(f"Konto {email} już istnieje.") from None
    account.is_admin = admin
    account.coalitions = coalitions
    db.session.commit()
    click.echo(f"Utworzono konto {'administratora' if admin else 'koordynatora'}: {email}")


@click.command("send-mail")
@click.option("--watch", is_flag=True, help="Keep running and deliver new messages as they arrive.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between checks with --watch.")
@with_appcontext
def send_mail_command(watch, interval):
    """Deliver every queued e-mail that is due, in batches (MAIL_BATCH_SIZE per connection).

    Several of these may run at once, one on each app server: each message goes out once.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from .mail.operations import deliver_due

    while True:
        try:
            report = deliver_due()
        except SQLAlchemyError as error:
            if not watch:
                raise
            # The database went away (restart, failover): try again at the next round.
            db.session.rollback()
            current_app.logger.warning("send-mail: database unavailable, trying again: %s", error)
        else:
            if report.sent or report.deferred or report.failed or not watch:
                click.echo(f"Wysłane: {report.sent}, do ponowienia: {report.deferred}, nieudane: {report.failed}")
            if report.unreachable:
                click.echo("Serwer poczty nie odpowiada: reszta wiadomości czeka na następną próbę.", err=True)
        if not watch:
            return
        db.session.remove()
        time.sleep(interval)


@click.command("expire-holds")
@with_appcontext
def expire_holds_command():
    """Pass on event places whose confirmation time ran out (run every few minutes)."""
    from .events.operations import expire_holds

    click.echo(f"Wydarzenia z wygasłymi rezerwacjami: {expire_holds()}")


@click.command("consultations-tick")
@with_appcontext
def consultations_tick_command():
    """Open the consultations due to open, send the reminders due, close those past their time
    (run every few minutes, like expire-holds)."""
    from .consultations.operations import tick

    report = tick()
    click.echo(f"Konsultacje: otwarte {report['opened']}, przypomnienia {report['reminded']}, zamknięte {report['closed']}")


@click.command("purge")
@click.option("--days", type=int, default=None, help="Override PURGE_AFTER_DAYS (default 14).")
@with_appcontext
def purge_command(days):
    """Delete unconfirmed signatures and registrations older than N days, and delivered mail
    (and the bot trap's spent start times once too old to be sent again)."""
    from .privacy.operations import purge
    from .security import forget_spent_form_starts

    report = purge(days if days is not None else current_app.config["PURGE_AFTER_DAYS"])
    click.echo(
        f"Usunięto: podpisy niepotwierdzone {report.signatures}, zapisy niepotwierdzone {report.registrations}, "
        f"wiadomości z kolejki {report.messages}, zużyte znaczniki formularzy {forget_spent_form_starts()}"
    )


@click.command("backup")
@click.argument("path", type=click.Path(writable=True))
@with_appcontext
def backup_command(path):
    """One archive (.tar.gz, 0600) with the database and the uploaded scans and logos, consistent
    while the app runs (SQLite online backup; pg_dump for PostgreSQL). PATH: a file, or a folder
    for a dated name (koalicja-RRRRMMDD-GGMMSS.tar.gz)."""
    from .backup import BackupError, create_backup

    try:
        click.echo(create_backup(path))
    except BackupError as error:
        raise click.ClickException(str(error)) from None


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that holds data and folders that hold files.")
@with_appcontext
def restore_command(path, force):
    """Bring a backup archive back: the database and the scans and logos (stop the app first).

    Refuses a database that already holds data, or folders that hold files, unless --force:
    then the database is replaced by the backup's and the folders keep only the backup's files.
    """
    from .backup import BackupError, restore_backup

    try:
        click.echo(restore_backup(path, force=force))
    except BackupError as error:
        raise click.ClickException(str(error)) from None


def init_app(app):
    commands = (
        init_db_command,
        seed_demo_command,
        create_coordinator_command,
        send_mail_command,
        expire_holds_command,
        consultations_tick_command,
        purge_command,
        backup_command,
        restore_command,
    )
    for command in commands:
        app.cli.add_command(command)
