"""The funder's report in the panel: the page with charts and tables, its PDF and its XLSX.

GET only, with the period in the address (`?od=2026-01-01&do=2026-12-31`), so a report can be
bookmarked and sent to a colleague; a wrong date re-renders the page with the error beside it."""
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from wtforms import DateField
from wtforms.validators import DataRequired, ValidationError

from ..coordinators.access import served_coalition_or_404
from ..exports import attachment, xlsx_workbook
from ..forms import Form
from ..printing import letterhead, pdf_download
from ..timeutil import warsaw_today
from .charts import bar_chart
from .data import build_report, default_period
from .spreadsheet import report_tables

bp = Blueprint("reports", __name__, url_prefix="/panel/koalicje")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LONGEST_PERIOD_DAYS = 366 * 10


class PeriodForm(Form):
    class Meta:
        csrf = False  # a GET form that changes nothing

    od = DateField(_l("Od dnia"), validators=[DataRequired(message=_l("Podaj datę w formacie RRRR-MM-DD."))])
    do = DateField(_l("Do dnia (włącznie)"), validators=[DataRequired(message=_l("Podaj datę w formacie RRRR-MM-DD."))])

    def validate_do(self, field):
        if self.od.data and field.data:
            if field.data < self.od.data:
                raise ValidationError(_l("Koniec okresu nie może być przed jego początkiem."))
            if (field.data - self.od.data).days > LONGEST_PERIOD_DAYS:
                raise ValidationError(_l("Okres może mieć najwyżej 10 lat."))


def _period_form():
    start, end = default_period(warsaw_today())
    form = PeriodForm(request.args if request.args else None, od=start, do=end)
    valid = form.validate() if request.args else True
    return form, valid


def _report(slug):
    coalition = served_coalition_or_404(slug)
    form, valid = _period_form()
    report = build_report(coalition, form.od.data, form.do.data) if valid else None
    return coalition, form, report


def _charts(report):
    return {
        "sector": bar_chart("wykres-sektory", _("Nowi sojusznicy i sojuszniczki według sektora"), report.by_sector),
        "kind": bar_chart("wykres-rodzaj", _("Nowi sojusznicy i sojuszniczki: osoby i organizacje"), report.by_kind),
        "district": bar_chart(
            "wykres-dzielnice", _("Nowi sojusznicy i sojuszniczki według dzielnicy Krakowa"), report.by_district
        ),
        "month": bar_chart("wykres-miesiace", _("Nowi sojusznicy i sojuszniczki w kolejnych miesiącach"), report.by_month),
    }


def _file_name(coalition, report, extension):
    return f"sprawozdanie-{coalition.slug}-{report.start.isoformat()}-{report.end.isoformat()}.{extension}"


@bp.get("/<slug>/sprawozdanie")
@login_required
def page(slug):
    coalition, form, report = _report(slug)
    return render_template(
        "reports/page.html", coalition=coalition, form=form, report=report, charts=_charts(report) if report else None
    ), (200 if report else 422)


@bp.get("/<slug>/sprawozdanie.pdf")
@login_required
def pdf(slug):
    coalition, form, report = _report(slug)
    if report is None:
        return render_template("reports/page.html", coalition=coalition, form=form, report=None, charts=None), 422
    return pdf_download(
        _file_name(coalition, report, "pdf"),
        "reports/print.html",
        coalition=coalition,
        report=report,
        charts=_charts(report),
        letterhead=letterhead(coalition),
    )


@bp.get("/<slug>/sprawozdanie.xlsx")
@login_required
def xlsx(slug):
    coalition, form, report = _report(slug)
    if report is None:
        return render_template("reports/page.html", coalition=coalition, form=form, report=None, charts=None), 422
    return attachment(xlsx_workbook(report_tables(report)), _file_name(coalition, report, "xlsx"), XLSX)
