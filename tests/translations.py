"""The message catalogues as the tests need them: paths, a fresh extraction, compiled .mo files.

`make translations` compiles the catalogues (`make run` and `make test` do it). Tests run
without make (plain pytest) compile the .po files whose .mo is missing or older, the same
way, so English and Ukrainian pages are never silently Polish.
"""
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "koalicja" / "translations"
TEMPLATE = CATALOGUES / "messages.pot"
LANGUAGES = ("en", "uk")


def po_path(language):
    return CATALOGUES / language / "LC_MESSAGES" / "messages.po"


def read_catalogue(path, language=None):
    with open(path, "rb") as handle:
        return read_po(handle, locale=language)


def compile_catalogues():
    for language in LANGUAGES:
        po = po_path(language)
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalogue = read_catalogue(po, language)
        with open(mo, "wb") as handle:
            write_mo(handle, catalogue)


def extract_messages(output):
    """Extract the source's messages as `make messages` does; returns the catalogue."""
    CommandLineInterface().run(
        ["pybabel", "--quiet", "extract", "--mapping-file", str(ROOT / "babel.cfg"), "--keyword", "_l",
         "--output-file", str(output), str(ROOT)]
    )
    return read_catalogue(output)


def message_ids(catalogue):
    return {message.id for message in catalogue if message.id}
