"""Files people upload (scans, logos): judged by their bytes, never by their name, and kept
outside static/ under random names."""
import os
import secrets
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


def store_upload(upload, folder, extension):
    """Save the upload in `folder` (readable by the app's user only) under a random name; returns the name."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    file_name = f"{secrets.token_urlsafe(24)}.{extension}"
    upload.save(folder / file_name)
    return file_name
