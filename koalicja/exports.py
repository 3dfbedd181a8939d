"""Files coordinators download: tables of their own coalition's data as CSV or XLSX, and JSON.

A table is defined once (its columns, each with the kind of value it holds) and written as
either spreadsheet format from that one definition, so the two never disagree.
"""
import csv
import io
import json
from dataclasses import dataclass
from enum import StrEnum

from flask import make_response

from .timeutil import utc_to_warsaw

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Kind(StrEnum):
    TEXT = "text"  # also digits that are names, not amounts: KRS, NIP, REGON, phones keep their zeros
    NUMBER = "number"
    MOMENT = "moment"  # a naive UTC datetime, shown in Polish time


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Table:
    columns: list
    rows: list  # sequences of values in the order of the columns; None is an empty cell
    title: str = ""


def spreadsheet_cell(value):
    """Spreadsheets run cells that start like formulas; a leading apostrophe keeps them text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def moment_text(moment):
    """`2026-07-14 18:02:00+02:00`: Polish time with its offset, so nobody has to guess the zone."""
    return utc_to_warsaw(moment).isoformat(sep=" ", timespec="seconds")


def _csv_value(column, value):
    if value is not None and column.kind == Kind.MOMENT:
        return moment_text(value)
    return spreadsheet_cell(value)


def csv_document(table):
    """`;`-separated (what Polish Excel expects), UTF-8 with a byte-order mark so Excel opens
    Polish letters correctly; every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([spreadsheet_cell(column.label) for column in table.columns])
    writer.writerows([_csv_value(column, value) for column, value in zip(table.columns, row, strict=True)] for row in table.rows)
    return "\ufeff" + buffer.getvalue()


# Excel keeps no time zone with a date; the column's label says "czas polski".
_MOMENT_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _xlsx_cell(sheet, column, value):
    from openpyxl.cell import Cell

    if value is None:
        return Cell(sheet)
    if column.kind == Kind.MOMENT:
        cell = Cell(sheet, value=utc_to_warsaw(value).replace(tzinfo=None, microsecond=0))  # as in the CSV
        cell.number_format = _MOMENT_FORMAT
        return cell
    if column.kind == Kind.NUMBER:
        return Cell(sheet, value=value)
    cell = Cell(sheet, value=str(value))
    cell.data_type = "s"  # openpyxl would store "=…" as a formula; a string is never run
    return cell


def xlsx_document(table):
    """A workbook of one sheet with typed cells: text stays text (leading zeros kept, formulas
    never run), numbers are numbers, times are real dates in Polish time."""
    return xlsx_workbook([table])


def xlsx_workbook(tables):
    """A workbook with one sheet per table (named by its title), typed as in xlsx_document."""
    # Imported here: openpyxl is needed only for these downloads, not in every worker.
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables:
        _xlsx_sheet(workbook.create_sheet((table.title or "Arkusz")[:31]), table)  # 31: Excel's limit for a sheet name
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_sheet(sheet, table):
    from openpyxl.styles import Font

    sheet.append([str(column.label) for column in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, column, value) for column, value in zip(table.columns, row, strict=True)])
    sheet.freeze_panes = "A2"  # the header stays in view while scrolling
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = (
            20 if column.kind == Kind.MOMENT else max(12, min(40, len(str(column.label)) + 2))
        )


SPREADSHEET_FORMATS = {
    "csv": (csv_document, "text/csv"),
    "xlsx": (xlsx_document, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def spreadsheet_attachment(table, file_format, name):
    """The table as a download in `file_format` ("csv" or "xlsx"), saved as `name.<format>`."""
    write, mimetype = SPREADSHEET_FORMATS[file_format]
    return attachment(write(table), f"{name}.{file_format}", mimetype)


def json_document(records):
    """Readable UTF-8 JSON: Polish letters as they are, not \\u escapes."""
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def attachment(document, filename, mimetype):
    """A download of personal data: saved as a file, never kept by a cache."""
    response = make_response(document.encode("utf-8") if isinstance(document, str) else document)
    response.mimetype = mimetype  # text/csv gets "; charset=utf-8"; JSON is UTF-8 by definition
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
