"""Backups you can restore: the database and the uploaded files, in one archive.

A backup is one gzip-compressed tar archive (`koalicja-RRRRMMDD-GGMMSS.tar.gz`), readable by
the app's user only (0600), holding:

    koalicja-backup.json   what is inside: format version, time, database engine, and the
                           SHA-256 of every other member (checked before a restore touches anything)
    database.sqlite        SQLite: a snapshot made with SQLite's online backup API, consistent
                           while requests write
    database.dump          PostgreSQL: `pg_dump --format=custom` (restored with `pg_restore`)
    scans/<name>           the scans of paper signatures (SCAN_FOLDER)
    logos/<name>           the coalitions' logos (LOGO_FOLDER)

The database is copied first and the files after it: a file is written before the entry that
names it is committed and deleted only after the change that drops it, so every file the
snapshot names is in the archive (unless it was erased in between, by a withdrawal).

`restore` brings an archive back into the configured database and folders. It refuses a
database that holds data, or folders that hold files, unless `force=True` (`--force`): then
the database is replaced by the archive's and the folders hold exactly the archive's files.
It restores only into the engine the backup was made on (SQLite into SQLite, PostgreSQL into
PostgreSQL). A plain database file made by the earlier `backup` (a SQLite file or a
`pg_dump --format=custom` dump) is restored as well, without files.
"""
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import func, inspect, select, table

from .extensions import db
from .timeutil import utcnow
from .uploads import private_folder, write_private_file

MANIFEST = "koalicja-backup.json"
FORMAT = "koalicja-backup"
VERSION = 1
DATABASE_FILES = {"sqlite": "database.sqlite", "postgresql": "database.dump"}
# Archive folder → the setting naming where those files live.
FOLDERS = {"scans": "SCAN_FOLDER", "logos": "LOGO_FOLDER"}
CHUNK = 1 << 20
# Tables a fresh schema fills by itself (`init-db`): rows there are no one's data.
SCHEMA_TABLES = frozenset({"alembic_version", "data_version"})


class BackupError(Exception):
    pass


@dataclass
class BackupReport:
    path: Path
    engine: str
    files: dict = field(default_factory=dict)  # archive folder → number of files

    def __str__(self):
        counted = ", ".join(f"{folder}: {count}" for folder, count in self.files.items())
        return f"Kopia zapisana: {self.path} (baza {self.engine}; pliki — {counted})"


@dataclass
class RestoreReport:
    path: Path
    engine: str
    files: dict = field(default_factory=dict)
    removed: int = 0

    def __str__(self):
        counted = ", ".join(f"{folder}: {count}" for folder, count in self.files.items()) or "brak w tej kopii"
        lines = [f"Odtworzono kopię {self.path}: baza {self.engine}; pliki — {counted}."]
        if self.removed:
            lines.append(f"Usunięto pliki spoza kopii: {self.removed}.")
        lines.append("Jeśli kopia pochodzi ze starszej wersji aplikacji, uruchom teraz: flask --app app init-db")
        return "\n".join(lines)


# ---- the database ----------------------------------------------------------------------------


def _engine():
    url = db.engine.url
    engine = url.get_backend_name()
    if engine not in DATABASE_FILES:
        raise BackupError(f"Nie umiem zrobić ani odtworzyć kopii bazy {engine}.")
    if engine == "sqlite" and (not url.database or url.database == ":memory:"):
        raise BackupError("Baza w pamięci nie ma czego kopiować ani dokąd odtwarzać.")
    return engine, url


def _postgresql_tool(name):
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(
            f"Do kopii bazy PostgreSQL potrzebny jest {name} (pakiet Debiana postgresql-client, "
            "w wersji nie starszej niż serwer)."
        )
    return tool


def _libpq(url):
    """The URL for pg_dump/pg_restore, and the environment carrying its password (never in argv,
    which every user of the machine can read in `ps`)."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), environment


def _run(command, environment, what):
    completed = subprocess.run(command, capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        raise BackupError(f"{what} zakończył się błędem: {completed.stderr.strip()}")


def _dump_database(engine, url, target):
    if engine == "sqlite":
        # SQLite's online backup API copies page by page under its own locks: the copy is
        # a consistent snapshot even while requests write.
        source, copy = sqlite3.connect(url.database), sqlite3.connect(target)
        try:
            source.backup(copy)
        except sqlite3.Error as error:
            raise BackupError(f"Kopia bazy SQLite się nie udała: {error}. Nic nie zostało zapisane.") from None
        finally:
            copy.close()
            source.close()
        os.chmod(target, 0o600)
        return
    libpq_url, environment = _libpq(url)
    _run([_postgresql_tool("pg_dump"), "--format=custom", "--file", str(target), libpq_url], environment, "pg_dump")
    os.chmod(target, 0o600)


def _owned_like_folder(path):
    """Run as root (a restore by hand), give `path` to the owner of its folder, so the app's user
    can still read and write what was restored; otherwise nothing to do."""
    if os.geteuid() != 0:
        return
    folder = Path(path).parent.stat()
    if folder.st_uid != 0:
        os.chown(path, folder.st_uid, folder.st_gid)


def _load_database(engine, url, dump):
    db.session.remove()
    db.engine.dispose()  # no connection of ours holds a lock on what is replaced
    if engine == "sqlite":
        private_folder(Path(url.database).parent)
        source, target = sqlite3.connect(dump), sqlite3.connect(url.database)
        try:
            source.backup(target)  # replaces every page of the target, in one step
        except sqlite3.Error as error:
            raise BackupError(f"Odtworzenie bazy SQLite się nie udało: {error}.") from None
        finally:
            target.close()
            source.close()
        for suffix in ("", "-wal", "-shm"):
            if Path(url.database + suffix).exists():
                _owned_like_folder(url.database + suffix)
    else:
        libpq_url, environment = _libpq(url)
        _run(
            [
                _postgresql_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                "--single-transaction", "--exit-on-error", "--dbname", libpq_url, str(dump),
            ],
            environment,
            "pg_restore",
        )
    db.engine.dispose()


def database_contents():
    """{table: number of rows} of every table of the configured database that holds data
    (a fresh schema's own rows, SCHEMA_TABLES, are not data)."""
    inspector = inspect(db.engine)
    counts = {}
    for name in inspector.get_table_names():
        if name in SCHEMA_TABLES:
            continue
        rows = db.session.scalar(select(func.count()).select_from(table(name)))
        if rows:
            counts[name] = rows
    db.session.rollback()
    return counts


# ---- backup ----------------------------------------------------------------------------------


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _kept_files(folder):
    """The files the app keeps in `folder` (a temporary `.part-…` of a write in progress is not one)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))


def _add(archive, path, name):
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mtime = int(path.stat().st_mtime)
    info.mode = 0o600
    with open(path, "rb") as file:
        archive.addfile(info, file)


def backup_path(path):
    """`path` itself, or a dated archive name inside it when it is a folder."""
    path = Path(path)
    if path.is_dir():
        return path / f"koalicja-{utcnow():%Y%m%d-%H%M%S}.tar.gz"
    return path


def create_backup(path):
    """Write one archive with the database and the uploaded files to `path` (a file, or a
    folder for a dated name); returns a BackupReport. Raises BackupError."""
    engine, url = _engine()
    target = backup_path(path)
    config = current_app.config
    with tempfile.TemporaryDirectory(dir=private_folder(target.parent), prefix=".koalicja-backup-") as staging:
        dump = Path(staging) / DATABASE_FILES[engine]
        _dump_database(engine, url, dump)  # first the database, then the files it names
        members = {dump.name: dump}
        report = BackupReport(target, engine)
        for folder, setting in FOLDERS.items():
            files = _kept_files(config[setting])
            report.files[folder] = len(files)
            members.update({f"{folder}/{path.name}": path for path in files})
        checksums = {}
        for name, member in list(members.items()):
            try:
                checksums[name] = _sha256(member)
            except FileNotFoundError:  # deleted since it was listed (a withdrawal): not in this copy
                del members[name]
                report.files[name.split("/")[0]] -= 1
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": utcnow().isoformat(),
            "engine": engine,
            "database": dump.name,
            "folders": {folder: config[setting] for folder, setting in FOLDERS.items()},
            "sha256": checksums,
        }

        def write(file):
            with tarfile.open(fileobj=file, mode="w:gz") as archive:
                body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(utcnow().timestamp())
                archive.addfile(info, io.BytesIO(body))
                for name, member in members.items():
                    _add(archive, member, name)

        try:
            write_private_file(target, write)
        except OSError as error:
            raise BackupError(f"Nie udało się zapisać kopii {target}: {error}. Nic nie zostało zapisane.") from None
    return report


# ---- restore ---------------------------------------------------------------------------------


def _plain_database(path):
    """'sqlite' or 'postgresql' for a plain database file made by the earlier `backup`, else None."""
    with open(path, "rb") as file:
        start = file.read(16)
    if start.startswith(b"SQLite format 3\0"):
        return "sqlite"
    if start.startswith(b"PGDMP"):
        return "postgresql"
    return None


def _read_archive(archive):
    """The manifest, after checking that the archive holds exactly what it lists, intact."""
    try:
        manifest = json.load(archive.extractfile(MANIFEST))
    except (KeyError, TypeError, ValueError):
        raise BackupError("To nie jest kopia Koalicji: brak opisu koalicja-backup.json.") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"Nieznany format kopii: {manifest.get('format')} {manifest.get('version')}.")
    listed = manifest["sha256"]
    seen = set()
    for member in archive.getmembers():
        if member.name == MANIFEST:
            continue
        folder, _, name = member.name.partition("/")
        allowed = member.name == manifest["database"] or (folder in FOLDERS and name and "/" not in name and not name.startswith("."))
        if not member.isfile() or not allowed or member.name not in listed:
            raise BackupError(f"Kopia zawiera nieoczekiwany element: {member.name}. Niczego nie odtworzono.")
        digest = hashlib.sha256()
        source = archive.extractfile(member)
        while chunk := source.read(CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != listed[member.name]:
            raise BackupError(f"Kopia jest uszkodzona ({member.name} ma inną sumę kontrolną). Niczego nie odtworzono.")
        seen.add(member.name)
    missing = set(listed) - seen
    if missing or manifest["database"] not in seen:
        raise BackupError(f"W kopii brakuje: {', '.join(sorted(missing)) or manifest['database']}. Niczego nie odtworzono.")
    return manifest


def _refuse_to_overwrite(force, folders):
    if force:
        return
    contents = database_contents()
    files = {folder: len(_kept_files(current_app.config[FOLDERS[folder]])) for folder in folders}
    files = {folder: count for folder, count in files.items() if count}
    if not contents and not files:
        return
    found = [f"{name}: {rows}" for name, rows in sorted(contents.items())] + [f"{folder}: {count} plików" for folder, count in files.items()]
    raise BackupError(
        "Odtworzenie zastąpiłoby dane, które już tu są ("
        + ", ".join(found)
        + "). Niczego nie zmieniono. Jeśli na pewno chcesz je zastąpić kopią, zrób najpierw kopię obecnego "
        "stanu (backup), a potem uruchom restore z opcją --force."
    )


def _restore_files(archive, folder, force):
    """Write the archive's files of `folder` into its configured place; with force, also remove
    the files the archive does not have (the folder then holds exactly the backup's files)."""
    destination = private_folder(current_app.config[FOLDERS[folder]])
    restored = set()
    for member in archive.getmembers():
        if member.name.startswith(f"{folder}/"):
            name = member.name.split("/", 1)[1]
            source = archive.extractfile(member)
            write_private_file(destination / name, lambda file, source=source: shutil.copyfileobj(source, file, CHUNK))
            _owned_like_folder(destination / name)
            restored.add(name)
    removed = 0
    if force:
        for path in _kept_files(destination):
            if path.name not in restored:
                path.unlink()
                removed += 1
    return len(restored), removed


def restore_backup(path, force=False):
    """Bring the archive at `path` back into the configured database and folders; returns a
    RestoreReport. Raises BackupError, with nothing changed, when the archive is not a complete
    Koalicja backup, was made on another engine, or (without force) something would be overwritten."""
    engine, url = _engine()
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Nie ma pliku {path}.")
    plain = _plain_database(path)
    if plain is not None:  # a database file made by the earlier `backup`: no files with it
        if plain != engine:
            raise BackupError(f"To kopia bazy {plain}, a aplikacja używa bazy {engine}: nie da się jej tu odtworzyć.")
        _refuse_to_overwrite(force, folders=())
        _load_database(engine, url, path)
        return RestoreReport(path, engine)
    try:
        archive = tarfile.open(path, mode="r:gz")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"To nie jest kopia Koalicji ({error}).") from None
    with archive:
        try:
            manifest = _read_archive(archive)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise BackupError(f"Kopia jest uszkodzona ({error}). Niczego nie odtworzono.") from None
        if manifest["engine"] != engine:
            raise BackupError(
                f"To kopia bazy {manifest['engine']}, a aplikacja używa bazy {engine}: nie da się jej tu odtworzyć."
            )
        _refuse_to_overwrite(force, folders=FOLDERS)
        report = RestoreReport(path, engine)
        with tempfile.TemporaryDirectory(prefix="koalicja-restore-") as staging:
            dump = Path(staging) / manifest["database"]
            write_private_file(dump, lambda file: shutil.copyfileobj(archive.extractfile(manifest["database"]), file, CHUNK))
            _load_database(engine, url, dump)
        for folder in FOLDERS:
            report.files[folder], removed = _restore_files(archive, folder, force)
            report.removed += removed
    return report
