"""Files the app writes are its user's only, and a full disk loses nothing and leaves nothing.

The full disk is real where the test may mount one (root: a small tmpfs filled to the last
byte, as the red team did); elsewhere (or with KOALICJA_TEST_NO_TMPFS=1) the write fails
with ENOSPC injected at the file layer.
"""
import errno
import io
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from koalicja import create_app
from koalicja.coalitions.models import Coalition
from koalicja.coordinators.audit import AuditEntry
from koalicja.extensions import db
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Signature
from koalicja.uploads import write_private_file

from .conftest import Auth, csrf_token_from
from .panel.test_paper_signatures import PDF, PNG, enter

ADMIN_EMAIL = "admin@example.org"
PASSWORD = "haslo-testowe-123"
SETTINGS = "/panel/admin/koalicje/sasiedztwa/ustawienia"
CLEAR_PAGE = "Chwilowa przerwa"
NOTHING_SAVED = "Nic nie zostało zapisane."


class Disk:
    """A small file system of its own (tmpfs) when we may mount one, else an ENOSPC injector."""

    def __init__(self, root, monkeypatch):
        self.root = Path(root)
        self.monkeypatch = monkeypatch
        self.mounted = False

    def mount(self, size="256k"):
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and shutil.which("mount") and not os.environ.get("KOALICJA_TEST_NO_TMPFS"):
            completed = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(self.root)], capture_output=True
            )
            self.mounted = completed.returncode == 0
        return self

    def fill(self):
        """Take every free byte: the next write of a file fails with ENOSPC."""
        if not self.mounted:
            self._inject_enospc()
            return
        with open(self.root / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError as error:
                assert error.errno == errno.ENOSPC
        assert shutil.disk_usage(self.root).free < 4096

    def _inject_enospc(self):
        # Without a file system of our own: the bytes of a file under this root refuse to go
        # to disk after the file was created, as on a full disk (the red team's 0-byte orphan).
        real_fdopen = os.fdopen
        root = str(self.root)

        def fdopen(descriptor, *args, **kwargs):
            file = real_fdopen(descriptor, *args, **kwargs)
            if os.readlink(f"/proc/self/fd/{descriptor}").startswith(root):

                def write(*_args):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

                file.write = write
            return file

        self.monkeypatch.setattr(os, "fdopen", fdopen)

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], check=False)
            self.mounted = False


@pytest.fixture
def disk(tmp_path, monkeypatch):
    disk = Disk(tmp_path / "disk", monkeypatch).mount()
    yield disk
    disk.unmount()


@pytest.fixture
def app_config(disk):
    return {
        "SCAN_FOLDER": str(disk.root / "scans"),
        "LOGO_FOLDER": str(disk.root / "logos"),
        "SCAN_MAX_BYTES": 50_000,
        "MAX_CONTENT_LENGTH": 200_000,
        "HEALTH_MIN_FREE_BYTES": 64 * 1024,  # the scans and logos sit on a 256 KiB tmpfs (when root)
    }


@pytest.fixture
def admin(app):
    with app.app_context():
        account = create_coordinator(ADMIN_EMAIL, "Administratorka", PASSWORD)
        account.is_admin = True
        db.session.commit()


def files_in(folder):
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def mode(path):
    return stat.S_IMODE(Path(path).stat().st_mode)


def audit_count():
    return db.session.scalar(select(func.count(AuditEntry.id)))


def post_logo(client, name="Nowa nazwa koalicji"):
    form = client.get(SETTINGS)
    return client.post(
        SETTINGS,
        data={"csrf_token": csrf_token_from(form), "name": name, "organiser": "Fundacja",
              "contact_email": "a@example.org", "brand_colour": "#1d5c4d",
              "logo": (io.BytesIO(PNG), "logo.png")},
        content_type="multipart/form-data",
    )


# ---- file modes ------------------------------------------------------------------------------


def test_scans_and_logos_are_readable_by_the_apps_user_only(app, client, auth, admin, coalition):
    auth.login()
    assert enter(client).status_code == 303
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    assert post_logo(client).status_code == 303
    for folder in (app.config["SCAN_FOLDER"], app.config["LOGO_FOLDER"]):
        [name] = files_in(folder)
        assert mode(folder) == 0o700, folder
        assert mode(Path(folder) / name) == 0o600, name


def test_a_private_file_gets_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0o000)
    try:
        path = write_private_file(tmp_path / "new" / "folder" / "file.bin", lambda file: file.write(b"data"))
    finally:
        os.umask(previous)
    assert path.read_bytes() == b"data"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert files_in(path.parent) == ["file.bin"]  # no temporary file left


def test_a_failing_write_leaves_no_file_and_raises(tmp_path):
    def broken(file):
        file.write(b"half")
        raise OSError(errno.EIO, "disk gone")

    with pytest.raises(OSError, match="disk gone"):
        write_private_file(tmp_path / "file.bin", broken)
    assert files_in(tmp_path) == []


# ---- a full disk -----------------------------------------------------------------------------


def test_a_paper_signature_on_a_full_disk_answers_503_and_leaves_nothing(app, client, auth, coalition, disk):
    auth.login()
    token_page = client.get("/panel/koalicje/sasiedztwa/podpis-papierowy")
    assert token_page.status_code == 200
    with app.app_context():
        audits_before = audit_count()
    disk.fill()
    response = enter(client, scan=PDF + b"%" * 20_000)
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page
    assert CLEAR_PAGE in page and NOTHING_SAVED in page and "spróbuj ponownie później" in page.lower()
    assert files_in(app.config["SCAN_FOLDER"]) == []  # no 0-byte orphan, no temporary file
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0
        assert audit_count() == audits_before


def test_a_logo_on_a_full_disk_answers_503_and_changes_nothing(app, client, admin, coalition, disk):
    Auth(client).login(ADMIN_EMAIL, PASSWORD)
    assert client.get(SETTINGS).status_code == 200
    with app.app_context():
        audits_before = audit_count()
    disk.fill()
    response = post_logo(client, name="Nazwa, która nie może zostać zapisana")
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page
    assert CLEAR_PAGE in page and NOTHING_SAVED in page
    assert files_in(app.config["LOGO_FOLDER"]) == []
    with app.app_context():
        coalition_row = db.session.scalar(select(Coalition).where(Coalition.slug == coalition))
        assert coalition_row.name == "Koalicja na rzecz sąsiedztw" and not coalition_row.logo
        assert audit_count() == audits_before


# ---- /zdrowie: a database that cannot be written, a disk nearly full ---------------------------


def health(app):
    response = app.test_client().get("/zdrowie")
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.json


def test_health_is_ok_when_the_database_takes_writes_and_the_disk_has_room(app):
    assert health(app) == (200, {"status": "ok", "database": "ok"})


def read_only_variants(app, request, tmp_path):
    """Apps that see the test's database as read-only: PostgreSQL's default_transaction_read_only
    (as on a standby); SQLite opened read-only (what SQLite does with a file it may not write:
    `mode=ro`, and for a user other than root, the file chmod 0444 — root writes it anyway)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        cluster = request.getfixturevalue("postgresql")
        name = url.rsplit("/", 1)[1]
        cluster._admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        with app.app_context():
            db.engine.dispose()  # new connections get the setting
        yield "default_transaction_read_only", app
        cluster._admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        with app.app_context():
            db.engine.dispose()
        return
    path = url.removeprefix("sqlite:///")
    variants = [("mode=ro", f"sqlite:///file:{path}?mode=ro&uri=true")]
    if os.geteuid() != 0:
        variants.append(("chmod 0444", url))
    for label, variant_url in variants:
        if label == "chmod 0444":
            os.chmod(path, 0o444)
        other = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": variant_url, **{
            key: app.config[key] for key in ("SCAN_FOLDER", "LOGO_FOLDER", "HEALTH_MIN_FREE_BYTES")}})
        try:
            yield label, other
        finally:
            with other.app_context():
                db.engine.dispose()
            os.chmod(path, 0o644)


def test_health_is_503_when_the_database_is_read_only(app, request, tmp_path):
    seen = []
    for label, read_only in read_only_variants(app, request, tmp_path):
        status, body = health(read_only)
        assert (status, body) == (503, {"status": "error", "database": "read-only"}), label
        seen.append(label)
    assert seen
    assert health(app)[0] == 200  # writable again


def test_health_is_503_when_the_disk_is_nearly_full(app, disk):
    if disk.mounted:  # a real 256 KiB file system holding the scans and logos
        app.config["HEALTH_MIN_FREE_BYTES"] = 128 * 1024
        assert health(app)[0] == 200
        disk.fill()
    else:  # without our own file system: a threshold above what the disk has free
        app.config["HEALTH_MIN_FREE_BYTES"] = shutil.disk_usage(disk.root).free + (1 << 30)
    assert health(app) == (503, {"status": "error", "database": "ok", "disk": "nearly-full"})


def test_the_free_space_threshold_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HEALTH_MIN_FREE_BYTES", "12345")
    other = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert other.config["HEALTH_MIN_FREE_BYTES"] == 12345
    assert create_app({"TESTING": True, "SECRET_KEY": "x", "HEALTH_MIN_FREE_BYTES": 7}).config["HEALTH_MIN_FREE_BYTES"] == 7
