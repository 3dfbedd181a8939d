"""Scans of signed paper forms: checked by their content, kept outside static/ under random names.

Files live in SCAN_FOLDER (instance/scans by default), which the web server never serves;
only the panel's scan view hands one out, to coordinators of the signature's coalition.
They are readable by the app's user only (0600 in a 0700 folder) and written whole or not at
all (uploads.write_private_file: a full disk leaves no file, and the request answers 503).
`backup` puts them in its archive with the database; `restore` brings them back.
"""
from pathlib import Path

from flask import abort, current_app, send_file
from flask_babel import lazy_gettext as _l

from ..uploads import UploadRefused, megabytes, store_upload, upload_type

# What a scan may be, decided by its bytes (never by its name): type → file extension.
SCAN_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class ScanRefused(ValueError):
    """The upload is not a scan we keep; the message says why, for the coordinator."""


def scan_type(upload):
    """The content type of an uploaded scan (a werkzeug FileStorage), read from its first bytes."""
    limit = current_app.config["SCAN_MAX_BYTES"]
    try:
        return upload_type(upload, SCAN_TYPES, limit)
    except UploadRefused as refused:
        if refused.reason == "empty":
            raise ScanRefused(_l("Plik jest pusty. Wybierz skan jeszcze raz.")) from None
        if refused.reason == "too_big":
            raise ScanRefused(
                _l(
                    "Plik jest za duży (%(size)s MB). Skan może mieć najwyżej %(limit)s MB: zeskanuj go w niższej rozdzielczości.",
                    size=megabytes(refused.size),
                    limit=megabytes(limit),
                )
            ) from None
        raise ScanRefused(
            _l("Ten plik nie jest skanem w formacie PDF, JPEG ani PNG (sprawdzamy jego zawartość, nie nazwę). Wybierz inny plik.")
        ) from None


def scan_path(file_name):
    """Where a stored scan lives; only names made by save_scan are accepted."""
    if not file_name or Path(file_name).name != file_name:
        raise FileNotFoundError(file_name)
    return Path(current_app.config["SCAN_FOLDER"]) / file_name


def send_scan(file_name, content_type, download_name):
    """A stored scan as the answer (404 when it is gone). A PDF is always downloaded, never shown
    inline (it can carry scripts); images open in the browser."""
    try:
        path = scan_path(file_name)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype=content_type,
        as_attachment=content_type == "application/pdf",
        download_name=download_name,
        conditional=False,
        etag=False,
    )


def save_scan(upload, content_type):
    """Store the upload under a random name (never the sender's) and return that name.

    Raises OSError, leaving no file, when it cannot be written (a full disk, no permission)."""
    return store_upload(upload, current_app.config["SCAN_FOLDER"], SCAN_TYPES[content_type])


def delete_scan(file_name):
    if file_name:
        scan_path(file_name).unlink(missing_ok=True)
