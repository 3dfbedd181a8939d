"""The locking rule and the transaction rule: how every state change is written.

**The transaction rule.** An operation (a plain function in a feature's `operations.py`)
owns its transaction: it starts it, commits it, or rolls it back. Views load, check, call
the operation and render its outcome; they never commit. One request makes at most one
committed change of state, so its e-mails and its audit entry are saved with it or not at
all (the outbox is a table: mail is queued in the same transaction and sent after commit).

**The locking rule.** An operation that changes the state of a signature, a registration or
an event's places

1. takes the lock of the thing it changes first: `lock(Signature, id)` (or `lock_all` for a
   bulk decision, or `lock(Event, id)` for anything that takes or frees places), which
   returns the row *read again after the lock* (nothing loaded before it is trusted;
   `lock_where(Model, *conditions)` locks every matching row, e.g. an announcement's recipients);
2. reads the state from that row and decides;
3. when the change no longer applies (already approved, withdrawn, cancelled …) calls
   `refuse(SomeNoLongerApplies(...))`: the transaction is rolled back, nothing is written,
   mailed or logged, and the view shows the error's message, which names what happened;
4. otherwise writes, queues its e-mails and its audit entry, and commits.

On PostgreSQL the lock is the row's `SELECT … FOR UPDATE`. SQLite has no row locks: the
operation takes the database's write lock before it reads (`BEGIN IMMEDIATE`), so two writers
never read the same state. Readers are never blocked on either engine (WAL on SQLite).

A lock taken and released writes nothing: it leaves the data version (koalicja/serving) and
with it every cached page and ETag alone.
"""
from sqlalchemy import select

from .extensions import db


class NoLongerApplies(Exception):
    """A requested change that the current state does not allow any more.

    `message` is shown to the person who asked, in their language (a lazy Flask-Babel string).
    """

    message = None

    def __init__(self, message=None):
        super().__init__(message or self.message)
        if message is not None:
            self.message = message


def _is_sqlite(session):
    return session.get_bind().dialect.name == "sqlite"


def _take_sqlite_write_lock(session):
    """Start the transaction as a writer, unless it already writes (then it holds the lock).

    Python's sqlite3 (legacy transaction control, as SQLAlchemy uses it) runs reads outside a
    transaction and opens one only before the first INSERT/UPDATE/DELETE, so until then the
    connection is free to begin with `BEGIN IMMEDIATE`, which waits (busy_timeout) for other
    writers instead of reading a state they are about to change.
    """
    connection = session.connection().connection.dbapi_connection
    if not connection.in_transaction:
        connection.execute("BEGIN IMMEDIATE")


def lock(model, ident):
    """The row of `model` with this primary key, locked for this transaction and read afresh
    (None when it does not exist any more)."""
    session = db.session
    if _is_sqlite(session):
        _take_sqlite_write_lock(session)
        return session.get(model, ident, populate_existing=True)
    statement = select(model).where(model.id == ident).with_for_update(of=model)
    return session.scalar(statement.execution_options(populate_existing=True))


def lock_all(model, idents, *conditions):
    """The rows of `model` with these primary keys (and `conditions`), locked and read afresh,
    in primary-key order, so two bulk operations over the same rows never deadlock."""
    session = db.session
    statement = select(model).where(model.id.in_(set(idents)), *conditions).order_by(model.id)
    if _is_sqlite(session):
        _take_sqlite_write_lock(session)
    else:
        statement = statement.with_for_update(of=model)
    return session.scalars(statement.execution_options(populate_existing=True)).all()


def lock_where(model, *conditions):
    """Lock every row of `model` that matches `conditions`, however many there are (no list of
    keys to pass); read them after this, in the same transaction."""
    session = db.session
    if _is_sqlite(session):
        _take_sqlite_write_lock(session)
        return
    session.execute(select(model.id).where(*conditions).order_by(model.id).with_for_update(of=model))


def refuse(error):
    """Give up the operation: roll back everything it did (and its locks) and raise `error`."""
    db.session.rollback()
    raise error
