"""Scans of signed paper forms: checked by their content, kept outside static/ under random names.

Files live in SCAN_FOLDER (instance/scans by default), which the web server never serves;
only the panel's scan view hands one out, to coordinators of the signature's coalition.
"""
import os
import secrets
from pathlib import Path

import filetype
from flask import current_app
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

# What a scan may be, decided by its bytes (never by its name): type → file extension.
SCAN_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class ScanRefused(ValueError):
    """The upload is not a scan we keep; the message says why, for the coordinator."""


def megabytes(size):
    return format_decimal(size / 1_048_576, format="#,##0.#")


def scan_type(upload):
    """The content type of an uploaded scan (a werkzeug FileStorage), read from its first bytes."""
    stream = upload.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    limit = current_app.config["SCAN_MAX_BYTES"]
    if size == 0:
        raise ScanRefused(_l("Plik jest pusty. Wybierz skan jeszcze raz."))
    if size > limit:
        raise ScanRefused(
            _l(
                "Plik jest za duży (%(size)s MB). Skan może mieć najwyżej %(limit)s MB: zeskanuj go w niższej rozdzielczości.",
                size=megabytes(size),
                limit=megabytes(limit),
            )
        )
    kind = filetype.guess(stream.read(8192))
    stream.seek(0)
    if kind is None or kind.mime not in SCAN_TYPES:
        raise ScanRefused(
            _l("Ten plik nie jest skanem w formacie PDF, JPEG ani PNG (sprawdzamy jego zawartość, nie nazwę). Wybierz inny plik.")
        )
    return kind.mime


def scan_path(file_name):
    """Where a stored scan lives; only names made by save_scan are accepted."""
    if not file_name or Path(file_name).name != file_name:
        raise FileNotFoundError(file_name)
    return Path(current_app.config["SCAN_FOLDER"]) / file_name


def save_scan(upload, content_type):
    """Store the upload under a random name (never the sender's) and return that name."""
    folder = Path(current_app.config["SCAN_FOLDER"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    file_name = f"{secrets.token_urlsafe(24)}.{SCAN_TYPES[content_type]}"
    upload.save(folder / file_name)
    return file_name


def delete_scan(file_name):
    if file_name:
        scan_path(file_name).unlink(missing_ok=True)
