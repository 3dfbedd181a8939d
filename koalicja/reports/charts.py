"""Bar charts as SVG written on the server: no JavaScript, the same on the page and in the PDF.

Each chart is an image for assistive technology (role="img", its <title> and a <desc> that
reads out every bar); the page shows the same numbers in a table beside it."""
from dataclasses import dataclass

from flask_babel import format_decimal
from flask_babel import gettext as _

ROW_HEIGHT = 22
LABEL_WIDTH = 190
BAR_WIDTH = 260
WIDTH = LABEL_WIDTH + BAR_WIDTH + 50
LABEL_CHARACTERS = 30  # longer labels are cut in the picture; the table beside it has them whole


@dataclass
class Bar:
    label: str
    count: int
    y: int
    width: float


@dataclass
class Chart:
    id: str
    title: str
    description: str
    bars: list
    width: int
    height: int
    label_width: int


def _short(label):
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"


def bar_chart(chart_id, title, tallies):
    largest = max((tally.count for tally in tallies), default=0) or 1
    bars = [
        Bar(_short(tally.label), tally.count, index * ROW_HEIGHT, BAR_WIDTH * tally.count / largest)
        for index, tally in enumerate(tallies)
    ]
    description = "; ".join(f"{tally.label}: {format_decimal(tally.count)}" for tally in tallies) or _("Brak danych.")
    return Chart(chart_id, title, description, bars, WIDTH, max(ROW_HEIGHT, len(bars) * ROW_HEIGHT), LABEL_WIDTH)
