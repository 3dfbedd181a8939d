"""The report as spreadsheet tables: numbers as numbers, identifiers (months, districts, event
addresses) as text, one sheet per part."""
from flask_babel import gettext as _

from ..exports import Column, Kind, Table


def _breakdown(title, key_label, tallies):
    columns = [Column("key", key_label), Column("label", _("Nazwa")), Column("count", _("Liczba"), Kind.NUMBER)]
    return Table(columns, [(tally.key, tally.label, tally.count) for tally in tallies], title)


def report_tables(report):
    summary = Table(
        [Column("what", _("Co")), Column("value", _("Wartość"), Kind.NUMBER)],
        [
            (_("Sojusznicy i sojuszniczki na koniec okresu"), report.allies_at_end),
            (_("Dołączyło w okresie"), report.new_allies),
            (_("Komunikaty wysłane"), report.announcements),
            (_("E-maile z komunikatami (adresaci)"), report.announcement_emails),
            (_("E-maile doręczone do serwera poczty"), report.announcement_sent),
            (_("Wypisania z komunikatów"), report.unsubscribes),
        ],
        _("Podsumowanie"),
    )
    events = Table(
        [
            Column("slug", _("Adres wydarzenia")),
            Column("title", _("Wydarzenie")),
            Column("starts", _("Początek (czas polski)"), Kind.MOMENT),
            Column("registered", _("Zapisane osoby"), Kind.NUMBER), Column("present", _("Obecne"), Kind.NUMBER),
            Column("no_shows", _("Nieobecne"), Kind.NUMBER), Column("walk_ins", _("Dopisane na miejscu"), Kind.NUMBER),
        ],
        [(e.key, e.title, e.starts_at, e.registered, e.present, e.no_shows, e.walk_ins) for e in report.events],
        _("Wydarzenia"),
    )
    return [
        summary,
        _breakdown(_("Rodzaj"), _("Rodzaj"), report.by_kind),
        _breakdown(_("Sektor"), _("Sektor"), report.by_sector),
        _breakdown(_("Dzielnica"), _("Dzielnica"), report.by_district),
        _breakdown(_("Miejscowość"), _("Klucz"), report.by_town),
        _breakdown(_("Miesiąc"), _("Miesiąc (RRRR-MM)"), report.by_month),
        events,
    ]
