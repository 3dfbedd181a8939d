"""Gzip for pages, safe against BREACH.

A page that carries a secret (the CSRF token of a form) goes out as one gzip stream in
which the secret sits in stored (uncompressed) deflate blocks of its own and no other part
refers back to it, so the size of the response never depends on how much of the secret a
visitor's typed text repeats. Coordinators' pages are not compressed at all: they mix
personal data with typed searches. Pages the same for every visitor hold no secret and are
compressed whole, once per data version (koalicja/serving/pages.py).
"""
import struct
import zlib

from flask import current_app, g, request

from ..security import PANEL_BLUEPRINTS

COMPRESSIBLE = frozenset(
    {"text/html", "text/css", "text/plain", "text/csv", "text/calendar", "application/json", "application/javascript",
     "text/javascript", "image/svg+xml"}
)
MIN_COMPRESS_BYTES = 500
PRIVATE_BLUEPRINTS = PANEL_BLUEPRINTS  # coordinators' pages: never compressed (BREACH)
DONE = "koalicja_compressed"  # set on g when a response went out compressed (or must not be) already

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflate_block(data, final, level=6):
    """Raw deflate for one part of a response, starting and ending on a block boundary."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def _stored_block(data, final):
    """Deflate "stored" blocks: the bytes as they are, each block up to 65 535 of them."""
    blocks = []
    for start in range(0, max(len(data), 1), 65535):
        chunk = data[start : start + 65535]
        last = final and start + 65535 >= len(data)
        blocks.append(bytes([1 if last else 0]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(blocks)


def gzip_parts(parts, secret_indexes=(), level=6):
    """Gzip `parts` (bytes) as one stream in which no part refers back to another.

    Each part is compressed on its own (a full flush between them); secret parts are not
    compressed at all (stored blocks), so their size on the wire is their length, whatever
    surrounds them.
    """
    crc, size, blocks = 0, 0, [_GZIP_HEADER]
    last = len(parts) - 1
    for index, part in enumerate(parts):
        crc = zlib.crc32(part, crc)
        size += len(part)
        if index in secret_indexes:
            blocks.append(_stored_block(part, index == last))
        else:
            blocks.append(_deflate_block(part, index == last, level))
    blocks.append(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(blocks)


def gzip_around(body, secret):
    """`body` gzipped with every occurrence of `secret` (bytes, may be empty) in blocks of its own."""
    if not secret:
        return gzip_parts([body])
    parts, secrets = [], set()
    for index, piece in enumerate(body.split(secret)):
        if index:
            secrets.add(len(parts))
            parts.append(secret)
        parts.append(piece)
    return gzip_parts(parts, secrets)


def accepts_gzip():
    header = request.headers.get("Accept-Encoding", "")
    if "gzip" not in header:
        return False
    if "q=" not in header:
        return True
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def compress(response):
    """after_request: gzip a text answer (page, fragment, JSON) for a client that accepts it."""
    if (
        g.get(DONE)
        or response.direct_passthrough
        or response.is_streamed
        or response.status_code < 200
        or response.status_code in (204, 304)
        or "Content-Encoding" in response.headers
        or response.mimetype not in COMPRESSIBLE
        or request.blueprint in PRIVATE_BLUEPRINTS
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    body = response.get_data()
    if len(body) < MIN_COMPRESS_BYTES:
        return response
    # Flask-WTF keeps this request's token on g (generate_csrf): the page's only secret.
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    response.set_data(gzip_around(body, token.encode() if token else b""))
    response.headers["Content-Encoding"] = "gzip"
    return response
