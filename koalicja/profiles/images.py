"""What an uploaded logo must be, and what we keep of it.

An upload is judged by its bytes: PNG, JPEG or WebP (filetype reads the signature), at most
PROFILE_LOGO_MAX_BYTES long and PROFILE_LOGO_MAX_PIXELS large (read from the header before
any pixel is decoded, so a small file that would unpack to gigabytes, a decompression bomb,
is refused unread). A file that is an image *and* something else (a polyglot: a PNG with an
HTML page or a ZIP after it, a script in a comment) is refused too. What passes is decoded
and drawn again by Pillow into a fresh file: no EXIF (GPS position, camera, date), no
comments, no ICC profile or any other chunk from the upload survives.
"""
import io
import re
import warnings

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from ..uploads import UploadRefused, megabytes, upload_type

LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
STORED_SIDE = 600  # pixels: the card shows it at 96, sharp on any screen
# Bytes that have no business in a picture: markup, script, PHP, the start of a ZIP or PDF.
_FOREIGN = re.compile(rb"<\s*(script|html|svg|iframe|body|\?php|!doctype)|javascript:|PK\x03\x04|%PDF-", re.IGNORECASE)
_PNG_END = b"IEND\xaeB`\x82"


class LogoRefused(ValueError):
    """Why a logo is not kept: `message` says it to the person, in Polish."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _limits():
    config = current_app.config
    return int(config["PROFILE_LOGO_MAX_BYTES"]), int(config["PROFILE_LOGO_MAX_PIXELS"])


def _refuse_upload(refused, max_bytes):
    if refused.reason == "empty":
        return LogoRefused(_l("Wybrany plik jest pusty."))
    if refused.reason == "too_big":
        return LogoRefused(_l("Plik ma %(size)s MB, a logo może mieć najwyżej %(limit)s MB. Zapisz je w mniejszym rozmiarze.",
                              size=megabytes(refused.size), limit=megabytes(max_bytes)))
    return LogoRefused(_l("Logo musi być obrazem PNG, JPEG lub WebP. Inne pliki (także SVG) nie są przyjmowane."))


def _end_of_image(data, kind):
    """Where the image's own data ends, by its format's end marker (PNG's IEND chunk, JPEG's
    EOI) or, for WebP, the RIFF length in its header; None when the file stops before it.

    Checked here rather than left to Pillow: WeasyPrint (the PDF printouts) sets Pillow's
    process-wide LOAD_TRUNCATED_IMAGES on import, after which a cut-short file decodes."""
    if kind == "image/webp":
        length = int.from_bytes(data[4:8], "little") + 8
        return length if length <= len(data) else None
    marker = {"image/png": _PNG_END, "image/jpeg": b"\xff\xd9"}[kind]
    end = data.rfind(marker)
    return None if end == -1 else end + len(marker)


def clean_logo(upload):
    """(bytes, content type) of the logo drawn afresh from the upload (a FileStorage); raises
    LogoRefused with the reason in Polish."""
    max_bytes, max_pixels = _limits()
    try:
        kind = upload_type(upload, set(LOGO_TYPES), max_bytes)
    except UploadRefused as refused:
        raise _refuse_upload(refused, max_bytes) from refused
    data = upload.stream.read()
    upload.stream.seek(0)
    unreadable = LogoRefused(_l("Nie udało się odczytać tego obrazu: plik jest uszkodzony albo niepełny."))
    end = _end_of_image(data, kind)
    if end is None:
        raise unreadable
    # Bytes after the image's own end are where a polyglot keeps its second file.
    if _FOREIGN.search(data) or data[end:].strip(b"\0") != b"":
        raise LogoRefused(_l(
            "Ten plik zawiera oprócz obrazu inne dane (np. kod strony albo archiwum), więc go nie przyjmujemy. "
            "Otwórz logo w programie graficznym, zapisz je jeszcze raz jako PNG, JPEG lub WebP i wyślij nowy plik."
        ))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[LOGO_TYPES[kind]])
            width, height = image.size
            if width * height > max_pixels:
                raise LogoRefused(_l(
                    "Obraz ma %(width)s × %(height)s pikseli, a logo może mieć najwyżej %(limit)s milionów pikseli. "
                    "Zmniejsz je (np. do 1000 × 1000 pikseli) i wyślij jeszcze raz.",
                    width=width, height=height, limit=max_pixels // 1_000_000,
                ))
            image.load()
            image = ImageOps.exif_transpose(image)  # a photo's rotation, applied before its EXIF is dropped
    except LogoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as error:
        raise unreadable from error
    return _redraw(image)


def _redraw(image):
    """A new file with only the pixels: PNG when the logo has transparency, else JPEG."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((STORED_SIDE, STORED_SIDE))
    fresh = Image.new(image.mode, image.size)  # nothing of the upload's metadata comes along
    fresh.paste(image)
    out = io.BytesIO()
    if has_alpha:
        fresh.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    fresh.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue(), "image/jpeg"


def init_app(app):
    app.config.setdefault("PROFILE_LOGO_MAX_BYTES", 2 * 1024 * 1024)
    app.config.setdefault("PROFILE_LOGO_MAX_PIXELS", 16_000_000)  # 4000 × 4000
