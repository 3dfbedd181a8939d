"""Files coordinators download: spreadsheets (CSV) and JSON of their own coalition's data."""
import csv
import io
import json

from flask import make_response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """Spreadsheets run cells that start like formulas; a leading apostrophe keeps them text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_document(header, rows):
    """`;`-separated (what Polish Excel expects), UTF-8 with a byte-order mark so Excel opens
    Polish letters correctly; every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([spreadsheet_cell(value) for value in header])
    writer.writerows([spreadsheet_cell(value) for value in row] for row in rows)
    return "\ufeff" + buffer.getvalue()


def json_document(records):
    """Readable UTF-8 JSON: Polish letters as they are, not \\u escapes."""
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def attachment(text, filename, mimetype):
    """A download of personal data: saved as a file, never kept by a cache."""
    response = make_response(text.encode("utf-8"))
    response.mimetype = mimetype  # text/csv gets "; charset=utf-8"; JSON is UTF-8 by definition
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
