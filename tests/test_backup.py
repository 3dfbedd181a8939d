"""Backup you can restore: back up, wipe, restore, and find the same allies, outbox, scans,
logos and audit log, on SQLite and PostgreSQL; a restore never overwrites data unasked."""
import io
import json
import os
import shutil
import sqlite3
import stat
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from koalicja.backup import MANIFEST
from koalicja.coalitions.models import Coalition
from koalicja.coordinators.audit import AuditEntry
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import decide_signature, sign_declaration
from koalicja.uploads import write_private_file

from .conftest import VALID_PERSON, current_declaration
from .panel.test_paper_signatures import PDF, PNG, enter

LOGO = "logo-koalicji.png"


@pytest.fixture
def app_config(tmp_path):
    return {"SCAN_FOLDER": str(tmp_path / "scans"), "SCAN_MAX_BYTES": 50_000, "MAX_CONTENT_LENGTH": 200_000}


def populate(app, client, auth):
    """Allies entered on paper (with scans), online signatures approved and pending (with their
    e-mails in the outbox), a logo, and the audit entries all of that leaves."""
    auth.login()
    for name in ("Stowarzyszenie Sąsiedzi z Zabłocia", "Fundacja Dobry Dom"):
        assert enter(client, organisation_name=name, email=f"{len(name)}@example.org").status_code == 303
    with app.app_context():
        coordinator = db.session.scalar(select(Coordinator))
        for number in range(3):
            signature = sign_declaration(
                current_declaration(), {**VALID_PERSON, "full_name": f"Osoba {number}", "email": f"o{number}@example.org"}
            ).signature
            if number < 2:
                signature.status = SignatureStatus.CONFIRMED
                db.session.commit()
                decide_signature(signature, "approve", coordinator)
        coalition = db.session.scalar(select(Coalition))
        write_private_file(Path(app.config["LOGO_FOLDER"]) / LOGO, lambda file: file.write(PNG))
        coalition.logo = LOGO
        db.session.commit()


def state(app, client):
    """What must come back: every row that matters, every file, and the public list."""
    with app.app_context():
        db.session.remove()
        allies = sorted(
            (s.id, s.full_name, s.organisation_name, s.status, s.listed, s.scan_file or "")
            for s in db.session.scalars(select(Signature))
        )
        outbox = sorted((m.id, m.recipient, m.subject, m.status) for m in db.session.scalars(select(OutboxMessage)))
        audit = sorted((e.id, e.action, e.summary, e.subject_id) for e in db.session.scalars(select(AuditEntry)))
        logo = db.session.scalar(select(Coalition.logo))
    files = {
        folder: {path.name: path.read_bytes() for path in sorted(Path(app.config[setting]).glob("*"))}
        for folder, setting in (("scans", "SCAN_FOLDER"), ("logos", "LOGO_FOLDER"))
    }
    public = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    listed = sorted(name for name in ("Stowarzyszenie Sąsiedzi z Zabłocia", "Fundacja Dobry Dom", "Osoba 0", "Osoba 1", "Osoba 2") if name in public)
    return {"allies": allies, "outbox": outbox, "audit": audit, "logo": logo, "files": files, "listed": listed}


def wipe(app, schema):
    """Lose everything: every table (or the whole SQLite file) and the upload folders."""
    with app.app_context():
        db.session.remove()
        db.drop_all()
        if schema:  # a fresh installation after `init-db`: the tables, no rows
            db.create_all()
        db.engine.dispose()
        url = db.engine.url
    if not schema and url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
    shutil.rmtree(app.config["SCAN_FOLDER"])
    shutil.rmtree(app.config["LOGO_FOLDER"])


def backup(runner, tmp_path):
    folder = tmp_path / "kopie"
    folder.mkdir()
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    [archive] = folder.iterdir()
    assert "Kopia zapisana" in result.output and str(archive) in result.output
    return archive


def mode(path):
    return stat.S_IMODE(Path(path).stat().st_mode)


@pytest.mark.parametrize("schema", [False, True], ids=["empty-database", "fresh-schema"])
def test_backup_wipe_restore_brings_back_allies_outbox_scans_logos_and_audit(app, client, auth, runner, coalition, tmp_path, schema):
    populate(app, client, auth)
    before = state(app, client)
    assert len(before["allies"]) == 5 and len(before["files"]["scans"]) == 2 and before["files"]["logos"] == {LOGO: PNG}
    assert before["outbox"] and before["audit"] and len(before["listed"]) == 4

    archive = backup(runner, tmp_path)
    assert archive.name.startswith("koalicja-") and archive.name.endswith(".tar.gz")
    assert mode(archive) == 0o600
    with tarfile.open(archive) as contents:
        names = contents.getnames()
        manifest = json.load(contents.extractfile(MANIFEST))
    engine = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]
    assert manifest["engine"] == engine and manifest["database"] in names
    assert sorted(name for name in names if "/" in name) == sorted(
        [f"scans/{name}" for name in before["files"]["scans"]] + [f"logos/{LOGO}"]
    )

    wipe(app, schema)
    assert not Path(app.config["SCAN_FOLDER"]).exists()

    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Odtworzono kopię" in result.output and "scans: 2" in result.output and "logos: 1" in result.output
    after = state(app, client)
    assert after == before
    for folder in (app.config["SCAN_FOLDER"], app.config["LOGO_FOLDER"]):
        assert mode(folder) == 0o700 and all(mode(path) == 0o600 for path in Path(folder).iterdir())
    # The coordinator's account came back too: the scan opens from the panel.
    auth.login()
    scanned = next(ally for ally in after["allies"] if ally[5])
    with client.get(f"/panel/skany/{scanned[0]}") as scan:
        assert scan.status_code == 200 and scan.data == PDF


def test_restore_refuses_to_overwrite_data_unless_forced(app, client, auth, runner, coalition, tmp_path):
    populate(app, client, auth)
    before = state(app, client)
    archive = backup(runner, tmp_path)
    # Life goes on after the backup: a new signature and a new scan.
    assert enter(client, organisation_name="Później Dopisana", email="pozniej@example.org").status_code == 303
    later = state(app, client)
    assert len(later["allies"]) == 6

    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code != 0
    assert "Odtworzenie zastąpiłoby dane" in result.output and "--force" in result.output and "Niczego nie zmieniono" in result.output
    assert state(app, client) == later  # nothing changed

    result = runner.invoke(args=["restore", "--force", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Usunięto pliki spoza kopii: 1." in result.output
    assert state(app, client) == before


def rewritten(archive, target, change):
    """A copy of `archive` with its members passed through `change(name, data) -> (name, data) | None`."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            changed = change(member.name, source.extractfile(member).read())
            if changed is not None:
                info = tarfile.TarInfo(changed[0])
                info.size = len(changed[1])
                copy.addfile(info, io.BytesIO(changed[1]))
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda name, data: (name, data[:-1] + b"X") if name.startswith("scans/") else (name, data), "inną sumę kontrolną"),
        (lambda name, data: None if name.startswith("logos/") else (name, data), "W kopii brakuje: logos/"),
        (lambda name, data: ("../../poza.txt", data) if name.startswith("logos/") else (name, data), "nieoczekiwany element: ../../poza.txt"),
        (lambda name, data: None if name == MANIFEST else (name, data), "brak opisu koalicja-backup.json"),
    ],
    ids=["corrupted-file", "missing-file", "path-outside", "no-manifest"],
)
def test_a_damaged_archive_is_refused_before_anything_changes(app, client, auth, runner, coalition, tmp_path, change, message):
    populate(app, client, auth)
    archive = rewritten(backup(runner, tmp_path), tmp_path / "zepsuta.tar.gz", change)
    wipe(app, schema=True)
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code != 0 and message in result.output, result.output
    assert not Path(app.config["SCAN_FOLDER"]).exists() and not (tmp_path / "poza.txt").exists()
    with app.app_context():
        assert db.session.scalar(select(Signature.id)) is None


def test_a_truncated_archive_is_refused(app, client, auth, runner, coalition, tmp_path):
    populate(app, client, auth)
    archive = backup(runner, tmp_path)
    truncated = tmp_path / "ucieta.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    wipe(app, schema=True)
    result = runner.invoke(args=["restore", str(truncated)])
    assert result.exit_code != 0 and "uszkodzona" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(Signature.id)) is None


def test_a_plain_sqlite_copy_of_the_earlier_backup_is_restored_too(app, client, auth, runner, coalition, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("the earlier backup of PostgreSQL was pg_dump's own format; restored with pg_restore the same way")
    populate(app, client, auth)
    before = state(app, client)
    old_copy = tmp_path / "stara-kopia.sqlite"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(old_copy) as copy:
        source.backup(copy)
    copy.close()
    source.close()
    wipe(app, schema=False)
    result = runner.invoke(args=["restore", str(old_copy)])
    assert result.exit_code == 0, result.output
    after = state(app, client)
    assert {key: value for key, value in after.items() if key != "files"} == {key: value for key, value in before.items() if key != "files"}


def test_the_backup_folder_and_archive_are_the_apps_users_only(app, runner, coalition, tmp_path):
    previous = os.umask(0o022)
    try:
        result = runner.invoke(args=["backup", str(tmp_path / "nowy" / "kopia.tar.gz")])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "nowy") == 0o700 and mode(tmp_path / "nowy" / "kopia.tar.gz") == 0o600
    assert os.listdir(tmp_path / "nowy") == ["kopia.tar.gz"]  # no staging folder left behind


def test_a_restore_by_root_leaves_the_files_to_the_folders_owner(app, client, auth, runner, coalition, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root restores files for another user")
    populate(app, client, auth)
    archive = backup(runner, tmp_path)
    wipe(app, schema=True)
    for setting in ("SCAN_FOLDER", "LOGO_FOLDER"):  # the app's user (here: nobody) owns its folders
        Path(app.config[setting]).mkdir(mode=0o700)
        os.chown(app.config[setting], 65534, 65534)
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    restored = [path for setting in ("SCAN_FOLDER", "LOGO_FOLDER") for path in Path(app.config[setting]).iterdir()]
    assert len(restored) == 3 and all((path.stat().st_uid, path.stat().st_gid) == (65534, 65534) for path in restored)
