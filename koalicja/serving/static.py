"""Static files through WhiteNoise, under a versioned URL that may be cached for ever.

`url_for('static', filename='css/site.css')` gives `/static/<version>/css/site.css`, where
`<version>` is a digest of everything in static/. At start the app copies static/ once to
instance/static/<version>/ and gzips each file there (WhiteNoise's own Compressor), and
WhiteNoise serves that copy in front of Flask: under the versioned URL with
`Cache-Control: max-age=315360000, public, immutable`, under the plain `/static/<file>` URL
with `no-cache` (a browser checks it again; ETag and Last-Modified answer 304), gzipped to
clients that accept it. A page of the previous release asking for its old version gets the
current file, to be checked again (`no-cache`). In production nginx serves these URLs from
the same static/ folder (deploy/), and the app never sees them.
"""
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from flask import send_from_directory
from werkzeug.exceptions import NotFound
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

VERSION_LENGTH = 16  # hex digits of the static folder's digest in its URL


def version_of(folder):
    """A digest of the files under `folder` (names and contents)."""
    digest = hashlib.blake2b(digest_size=VERSION_LENGTH // 2)
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _build(source, target):
    """A copy of static/ with a .gz beside each file worth compressing; made once per version."""
    if target.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        compressor = Compressor(use_brotli=False, quiet=True)
        for path in sorted(staging.rglob("*")):
            if path.is_file() and compressor.should_compress(path.name):
                compressor.compress(str(path))
        try:
            os.rename(staging, target)
        except OSError:  # another process (a second worker, a test) built it first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def init_app(app):
    source = Path(app.static_folder)
    version = version_of(source)
    target = Path(app.instance_path) / "static" / version
    _build(source, target)
    versioned = f"/static/{version}/"

    def add_headers(headers, path, url):
        headers["X-Content-Type-Options"] = "nosniff"
        if not url.startswith(versioned):
            headers["Cache-Control"] = "no-cache"

    noise = WhiteNoise(
        app.wsgi_app,
        max_age=0,
        allow_all_origins=False,
        add_headers_function=add_headers,
        immutable_file_test=lambda _path, url: url.startswith(versioned),
    )
    noise.add_files(str(target), prefix=f"static/{version}/")
    noise.add_files(str(target), prefix="static/")
    app.wsgi_app = noise

    @app.url_defaults
    def versioned_static_urls(endpoint, values):
        if endpoint == "static" and "filename" in values and not values["filename"].startswith(version + "/"):
            values["filename"] = f"{version}/{values['filename']}"

    def older_version(filename):
        """Only what WhiteNoise does not know reaches Flask: a file of another version, or none."""
        first, _, rest = filename.partition("/")
        if len(first) != VERSION_LENGTH or first.strip("0123456789abcdef") or not rest:
            raise NotFound()
        response = send_from_directory(source, rest, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    app.view_functions["static"] = older_version
    return version
