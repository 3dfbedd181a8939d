"""Files people upload (scans, logos): judged by their bytes, never by their name, and kept
outside static/ under random names."""
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import filetype
from flask_babel import format_decimal


class UploadRefused(ValueError):
    """Why an upload is not kept: "empty", "too_big" (with its size) or "wrong_type"."""

    def __init__(self, reason, size=0):
        super().__init__(reason)
        self.reason = reason
        self.size = size


def megabytes(size):
    return format_decimal(size / 1_048_576, format="#,##0.#")


def upload_type(upload, allowed_types, max_bytes):
    """The content type of an upload (a werkzeug FileStorage) read from its first bytes,
    if it is one of `allowed_types` and at most `max_bytes` long; raises UploadRefused."""
    stream = upload.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise UploadRefused("empty")
    if size > max_bytes:
        raise UploadRefused("too_big", size)
    kind = filetype.guess(stream.read(8192))
    stream.seek(0)
    if kind is None or kind.mime not in allowed_types:
        raise UploadRefused("wrong_type", size)
    return kind.mime


def private_folder(folder):
    """`folder`, created when missing as readable by the app's user only (0700, whatever the umask)."""
    folder = Path(folder)
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    return folder


def write_private_file(path, write):
    """Create `path` (readable by the app's user only, 0600) with what `write(file)` writes.

    The bytes go to a temporary file in the same folder, flushed to disk, which then takes
    the final name in one step (`os.replace`): a reader never sees half a file, and when the
    write fails (a full disk, no permission) the temporary file is removed and the OSError
    raised, so nothing is left behind. The app answers such an error with the 503 page.
    """
    path = Path(path)
    folder = private_folder(path.parent)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=path.suffix)  # 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def store_upload(upload, folder, extension):
    """Save the upload in `folder` (readable by the app's user only) under a random name; returns the name.

    Raises OSError (nothing left in the folder) when the file cannot be written.
    """
    file_name = f"{secrets.token_urlsafe(24)}.{extension}"

    def copy(file):
        upload.stream.seek(0)
        shutil.copyfileobj(upload.stream, file)

    write_private_file(Path(folder) / file_name, copy)
    return file_name
