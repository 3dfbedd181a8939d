"""The data version: one row counting the writes that can change a page.

Every transaction that changes what a page can show (anything but the outbox, coordinator
accounts and this row) bumps it just before it commits, in the same transaction, so the new
data and the new version become visible together. A request reads the version first and the
data after it, so whatever it renders is at least as new as the version it is filed under.
A lock taken and released writes nothing (SELECT … FOR UPDATE, BEGIN IMMEDIATE), so it leaves
the version alone (koalicja/locking.py).
"""
import weakref

from sqlalchemy import DDL, BigInteger, create_engine, event, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# Tables whose changes no cached page shows: writing them leaves the data version alone.
UNVERSIONED_TABLES = frozenset({"data_version", "outbox_message", "coordinator", "alembic_version"})


class DataVersion(db.Model):
    """A single row counting writes; cached pages and ETags are keyed on it."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


# create_all (tests, new SQLite files) gets the row too; the migration inserts it likewise.
event.listen(DataVersion.__table__, "after_create", DDL("INSERT INTO data_version (id, version) VALUES (1, 0)"))

_BUMP = update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
_FLAG = "koalicja.data_changed"


def _note_flushed_writes(session, _flush_context):
    if session.info.get(_FLAG):
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        if getattr(instance, "__tablename__", None) not in UNVERSIONED_TABLES:
            session.info[_FLAG] = True
            return


def _note_statement_writes(state):
    """Bulk UPDATE/DELETE/INSERT statements (e.g. the event lock) bypass the unit of work."""
    if not (state.is_update or state.is_delete or state.is_insert) or state.session.info.get(_FLAG):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in UNVERSIONED_TABLES:
        state.session.info[_FLAG] = True


def _bump_before_commit(session):
    session.flush()  # pending changes are noted by the flush hook
    if session.info.pop(_FLAG, False):
        session.execute(_BUMP)


def _forget_writes(session, *_args):
    session.info.pop(_FLAG, None)


def _forget_rolled_back_writes(session, previous_transaction):
    if not previous_transaction.nested:  # a savepoint's rollback keeps the outer transaction's writes
        session.info.pop(_FLAG, None)


def _listen_once():
    from flask_sqlalchemy.session import Session

    if event.contains(Session, "before_commit", _bump_before_commit):
        return
    event.listen(Session, "after_flush", _note_flushed_writes)
    event.listen(Session, "do_orm_execute", _note_statement_writes)
    event.listen(Session, "before_commit", _bump_before_commit)
    event.listen(Session, "after_commit", _forget_writes)
    event.listen(Session, "after_soft_rollback", _forget_rolled_back_writes)


class VersionReader:
    """Reads the data version over its own autocommit connections: one round trip, no ORM."""

    def __init__(self, app):
        with app.app_context():
            url = db.engine.url
        options = {"pool_pre_ping": False, "pool_reset_on_return": None}
        if url.get_backend_name() != "sqlite":
            options.update(isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=32)
        self.engine = create_engine(url, **options)
        # Closes the connections when the app goes away (tests create many apps).
        weakref.finalize(app, self.engine.dispose)

    def read(self):
        """The current version, or None when it cannot be read (then nothing is cached)."""
        try:
            connection = self.engine.raw_connection()
        except SQLAlchemyError:
            return None
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT version FROM data_version WHERE id = 1")
            row = cursor.fetchone()
            cursor.close()
        except Exception:  # noqa: BLE001  (any driver error: broken connection, missing table)
            connection.invalidate()
            return None
        finally:
            connection.close()
        return row[0] if row else None


def init_app(app):
    """The write hooks (once per process) and a reader of the version for this app."""
    _listen_once()
    return VersionReader(app)
