"""The locking rule's primitive (koalicja/locking.py): a second writer waits, then reads what the first wrote."""
import threading
import time

from sqlalchemy import select

from koalicja.coalitions.models import Coalition
from koalicja.extensions import db
from koalicja.locking import NoLongerApplies, lock, lock_all, lock_where, refuse


def _rename_under_lock(app, coalition_id, suffix, hold_seconds, seen):
    with app.app_context():
        row = lock(Coalition, coalition_id)
        seen.append(row.name)
        time.sleep(hold_seconds)
        row.name = row.name + suffix
        db.session.commit()


def test_a_second_writer_waits_for_the_lock_and_reads_the_first_ones_change(app, coalition):
    with app.app_context():
        coalition_id = db.session.scalar(select(Coalition.id))
        db.session.get(Coalition, coalition_id)  # loaded before the lock: must not be trusted
    seen = []
    first = threading.Thread(target=_rename_under_lock, args=(app, coalition_id, " A", 0.5, seen))
    first.start()
    time.sleep(0.2)
    _rename_under_lock(app, coalition_id, " B", 0, seen)
    first.join()
    with app.app_context():
        assert db.session.get(Coalition, coalition_id).name.endswith(" A B")
    assert seen[1].endswith(" A")  # the second one read the first one's write, not its own stale copy


def test_lock_all_reads_rows_in_key_order_and_refuse_rolls_back(app, coalition):
    with app.app_context():
        db.session.add(Coalition(slug="druga", name="Druga"))
        db.session.commit()
        ids = db.session.scalars(select(Coalition.id).order_by(Coalition.id.desc())).all()
        rows = lock_all(Coalition, ids)
        assert [row.id for row in rows] == sorted(ids)
        rows[0].name = "Zmieniona"
        try:
            refuse(NoLongerApplies("ten wpis został już wycofany"))
        except NoLongerApplies as error:
            assert error.message == "ten wpis został już wycofany"
        assert db.session.get(Coalition, rows[0].id).name != "Zmieniona"


def test_lock_where_holds_every_matching_row_until_commit(app, coalition):
    with app.app_context():
        coalition_id = db.session.scalar(select(Coalition.id))
    seen = []

    def rename_all_matching():
        with app.app_context():
            lock_where(Coalition, Coalition.slug == coalition)
            time.sleep(0.5)
            for row in db.session.scalars(select(Coalition).where(Coalition.slug == coalition)):
                row.name += " A"
            db.session.commit()

    first = threading.Thread(target=rename_all_matching)
    first.start()
    time.sleep(0.2)
    _rename_under_lock(app, coalition_id, " B", 0, seen)
    first.join()
    assert seen[0].endswith(" A")
