"""Backups that are consistent while the app keeps writing."""
import shutil
import sqlite3
import subprocess
from pathlib import Path

from .extensions import db


class BackupError(Exception):
    pass


def backup_database(path):
    url = db.engine.url
    target = Path(path)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("Baza w pamięci nie ma czego kopiować.")
        # SQLite's online backup API copies page by page under its own locks: the copy is
        # a consistent snapshot even while requests write.
        with sqlite3.connect(url.database) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        copy.close()
        source.close()
        return f"Kopia zapisana: {target}"
    if url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError(
                "Do kopii bazy PostgreSQL potrzebny jest pg_dump (pakiet postgresql-client): "
                "pg_dump --format=custom --file KOPIA.dump postgresql://UŻYTKOWNIK@HOST/BAZA"
            )
        libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        completed = subprocess.run(
            [pg_dump, "--format=custom", "--file", str(target), libpq_url], capture_output=True, text=True
        )
        if completed.returncode != 0:
            raise BackupError(f"pg_dump zakończył się błędem: {completed.stderr.strip()}")
        return f"Kopia zapisana (pg_dump, format custom; odtwarzanie: pg_restore): {target}"
    raise BackupError(f"Nie umiem zrobić kopii bazy {url.get_backend_name()}.")
