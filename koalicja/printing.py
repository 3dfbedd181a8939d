"""PDFs made from our own HTML templates by WeasyPrint (attendance lists, badges, the funder's report).

WeasyPrint needs Debian's Pango and HarfBuzz libraries (`make pdf` installs them); without
them importing it fails. The app still starts and every other page works: a PDF address
answers 503 with a page that names the missing packages.

The documents are rendered offline: the URL fetcher refuses every address but `data:`, so a
name or a logo in a template can never make the server fetch a file or a URL. Pictures
(logos, QR codes) go in as data URIs.
"""
import base64
import mimetypes
from pathlib import Path

from flask import current_app, make_response, render_template
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

# The Debian packages WeasyPrint loads (and the font with every Polish letter we name in CSS).
PDF_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core")


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot run here; the message says why (the missing library)."""


def _weasyprint():
    try:
        import weasyprint.urls  # loads Pango through cffi: an OSError when the library is missing
    except (ImportError, OSError) as error:
        raise PdfUnavailable(str(error)) from error
    return weasyprint


def pdf_available():
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


def render_pdf(template, **context):
    """The PDF (bytes) of an HTML template; raises PdfUnavailable without WeasyPrint's libraries."""
    weasyprint = _weasyprint()
    # "Strona 2 z 5" in the page's margin: CSS counters inside the translated sentence.
    page_label = gettext("Strona %(page)s z %(pages)s", page='" counter(page) "', pages='" counter(pages) "')
    html = render_template(template, page_label=page_label, **context)
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


def data_url(content, content_type):
    return f"data:{content_type};base64,{base64.b64encode(content).decode('ascii')}"


def file_data_url(folder, name):
    """A stored picture (e.g. a logo under LOGO_FOLDER) as a data URL, or "" when there is none."""
    if not name:
        return ""
    path = Path(folder) / name
    try:
        content = path.read_bytes()
    except OSError:
        return ""  # a logo lost from the disk must not stop the printout
    return data_url(content, mimetypes.guess_type(path.name)[0] or "application/octet-stream")


def pdf_download(filename, template, **context):
    """A printout as a PDF the browser shows (never cached: it holds personal data), or the
    503 page naming the Debian packages to install when WeasyPrint cannot run here."""
    try:
        document = render_pdf(template, **context)
    except PdfUnavailable:
        message = _l(
            "Na tym serwerze nie da się teraz utworzyć pliku PDF: brakuje bibliotek programu WeasyPrint. "
            "Osoba, która prowadzi serwis, może je doinstalować poleceniem „make pdf” "
            "(pakiety Debiana: %(packages)s). Pozostałe funkcje działają normalnie.",
            packages=", ".join(PDF_PACKAGES),
        )
        return render_template("errors/error.html", title=_l("PDF chwilowo niedostępny"), message=message), 503
    response = make_response(document)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def letterhead(coalition):
    """What every printout of a coalition carries: its name and logo, and the funding line
    with the funder's logo that grant agreements ask for on every page."""
    folder = current_app.config["LOGO_FOLDER"]
    return {
        "name": coalition.name,
        "logo": file_data_url(folder, coalition.logo),
        "funding_notice": coalition.funding_notice,
        "funder_logo": file_data_url(folder, coalition.funder_logo),
    }
