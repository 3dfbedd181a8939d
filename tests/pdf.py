"""Reading the PDFs the app makes, as a person would see them: poppler's pdftotext for the text
of each page and the position of each word. WeasyPrint needs Debian's Pango (`make pdf`);
without it or poppler-utils the tests that render are skipped, except on CI (`CI=true`)."""
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from koalicja.printing import PDF_PACKAGES, pdf_available

MISSING_PDF = (
    "Brak bibliotek WeasyPrint albo pdftotext: zainstaluj pakiety Debiana "
    + " ".join((*PDF_PACKAGES, "poppler-utils"))
    + " (make pdf), inaczej testy plików PDF zostaną pominięte."
)
MM = 72 / 25.4  # PDF points per millimetre


def require_pdf():
    if pdf_available() and shutil.which("pdftotext"):
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(MISSING_PDF, pytrace=False)
    pytest.skip(MISSING_PDF)


def _pdftotext(document, *options):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(document)
        return subprocess.run(
            ["pdftotext", *options, str(path), "-"], check=True, capture_output=True, text=True
        ).stdout


def page_texts(document):
    """The text of each page, laid out as on paper (columns kept apart by spaces)."""
    return _pdftotext(document, "-layout").split("\f")[:-1]


class _Words(HTMLParser):
    def __init__(self):
        super().__init__()
        self.pages, self._word = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "page":
            self.pages.append([])
        elif tag == "word":
            self._word = {name: float(attrs[name]) for name in ("xmin", "ymin", "xmax", "ymax")}

    def handle_data(self, data):
        if self._word is not None:
            self.pages[-1].append((data, self._word))
            self._word = None


def page_words(document):
    """Each page's words with their boxes in points from the top left: [(text, {xmin, ymin, xmax, ymax})]."""
    parser = _Words()
    parser.feed(_pdftotext(document, "-bbox"))
    return parser.pages
