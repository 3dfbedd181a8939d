import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional, ValidationError

from ..forms import Form
from ..security import BotTrapMixin
from ..signatures.forms import email_field, max_length, plain_text, strip
from ..text import search_key
from ..uploads import megabytes
from .meetings import minutes_scan_problem
from .operations import AUDIENCE_ALL, AUDIENCE_HOLDING_PLACE


class _PersonForm(Form):
    """Who comes: the answers of the public form and of a coordinator adding someone by hand."""

    full_name = StringField(
        _l("Imię i nazwisko"),
        render_kw={"autocomplete": "name"},
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz imię i nazwisko.")), max_length(200), plain_text],
    )
    email = email_field(description=_l("Wyślemy na niego link do potwierdzenia zapisu i bilet z kodem QR."))
    organisation = StringField(
        _l("Organizacja lub instytucja (nieobowiązkowo)"),
        render_kw={"autocomplete": "organization"},
        filters=[strip],
        validators=[Optional(), max_length(300), plain_text],
    )
    companions = IntegerField(
        _l("Liczba osób towarzyszących"),
        default=0,
        validators=[Optional(), NumberRange(min=0, message=_l("Wpisz liczbę 0 lub większą."))],
    )
    needs = TextAreaField(
        _l("Potrzeby dotyczące dostępności lub wyżywienia (nieobowiązkowo)"),
        description=_l("Np. pętla indukcyjna, tłumaczenie na PJM, dieta wegańska. Zobaczą to tylko osoby koordynujące."),
        filters=[strip],
        validators=[Optional(), max_length(1000)],
    )

    def registration_data(self):
        return {
            "full_name": self.full_name.data,
            "email": self.email.data,
            "organisation": self.organisation.data or "",
            "companions": self.companions.data or 0 if "companions" in self else 0,
            "needs": self.needs.data or "",
        }


class RegistrationForm(BotTrapMixin, _PersonForm):
    accept_privacy = BooleanField(
        _l("Zgadzam się na przetwarzanie moich danych w celu organizacji wydarzenia."),
        validators=[DataRequired(message=_l("Bez tej zgody nie możemy przyjąć zapisu."))],
    )

    def __init__(self, *args, max_companions=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_companions = max_companions
        if not max_companions:
            del self.companions

    def validate_companions(self, field):
        if field.data and field.data > self.max_companions:
            raise ValidationError(_l("Możesz zgłosić najwyżej %(count)s os. towarzyszących.", count=self.max_companions))


MAX_COMPANIONS_BY_COORDINATOR = 50


def companions_field():
    """How many come with someone, as a coordinator sets it (the capacity is the real limit)."""
    return IntegerField(
        _l("Liczba osób towarzyszących"),
        default=0,
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=MAX_COMPANIONS_BY_COORDINATOR,
                message=_l("Wpisz liczbę od 0 do %(max)s.", max=MAX_COMPANIONS_BY_COORDINATOR),
            ),
        ],
    )


class AddPersonForm(_PersonForm):
    """A coordinator adds someone by hand: a confirmed place and the ticket e-mail at once."""

    email = email_field(description=_l("Wyślemy na niego bilet z kodem QR i linkiem do rezygnacji."))
    companions = companions_field()
    consent_given = BooleanField(
        _l("Ta osoba zgodziła się (wobec mnie) na przetwarzanie jej danych w celu organizacji wydarzenia."),
        validators=[DataRequired(message=_l("Bez zgody tej osoby nie możemy jej zapisać."))],
    )


class CompanionsForm(Form):
    companions = companions_field()


def slugify(text):
    """Readable URL part: Polish letters lose their marks, everything else becomes dashes."""
    return re.sub(r"[^a-z0-9]+", "-", search_key(text)).strip("-")[:100] or "wydarzenie"


def _count(label, **kwargs):
    return IntegerField(
        label, validators=[Optional(), NumberRange(min=0, max=100000, message=_l("Wpisz liczbę od 0 do 100 000."))], **kwargs
    )


class EventForm(Form):
    # Only for a new event: which of the coordinator's coalitions it belongs to (choices set by the view).
    coalition = SelectField(_l("Koalicja"), choices=[], validate_choice=True)
    title = StringField(_l("Nazwa"), filters=[strip], validators=[DataRequired(message=_l("Wpisz nazwę.")), max_length(200), plain_text])
    slug = StringField(
        _l("Adres strony (nieobowiązkowo)"),
        description=_l("Np. gala-2026. Zostaw puste, aby utworzyć go z nazwy."),
        filters=[strip],
        validators=[Optional(), max_length(100)],
    )
    summary = StringField(_l("Krótki opis"), filters=[strip], validators=[Optional(), max_length(400), plain_text])
    description = TextAreaField(_l("Opis (Markdown)"), filters=[strip], validators=[Optional(), max_length(20000)])
    starts_at = DateTimeLocalField(
        _l("Początek"), format="%Y-%m-%dT%H:%M", validators=[DataRequired(message=_l("Podaj datę i godzinę początku."))]
    )
    ends_at = DateTimeLocalField(
        _l("Koniec"), format="%Y-%m-%dT%H:%M", validators=[DataRequired(message=_l("Podaj datę i godzinę końca."))]
    )
    venue = StringField(_l("Miejsce"), filters=[strip], validators=[Optional(), max_length(200), plain_text])
    address = StringField(_l("Adres"), filters=[strip], validators=[Optional(), max_length(300), plain_text])
    accessibility = TextAreaField(
        _l("Dostępność miejsca"),
        description=_l("Np. wejście bez schodów, winda, toaleta dla osób z niepełnosprawnościami."),
        filters=[strip],
        validators=[Optional(), max_length(2000)],
    )
    capacity = _count(_l("Liczba miejsc (puste: bez limitu)"))
    max_companions = _count(_l("Ile osób towarzyszących może zgłosić jedna osoba"), default=0)
    registration_opens_at = DateTimeLocalField(_l("Zapisy od (nieobowiązkowo)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    registration_closes_at = DateTimeLocalField(
        _l("Zapisy do (puste: do początku wydarzenia)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    allies_only = BooleanField(_l("Tylko dla sojuszników (zatwierdzonych sygnatariuszy, rozpoznawanych po e-mailu)"))
    reserved_for_allies = _count(_l("Miejsca zarezerwowane dla sojuszników"), default=0)
    max_per_organisation = _count(_l("Najwięcej osób z jednej organizacji (puste: bez limitu)"))
    requires_approval = BooleanField(_l("Każde zgłoszenie wymaga akceptacji osoby koordynującej"))
    is_members_meeting = BooleanField(
        _l("Posiedzenie członków i członkiń koalicji (grupa robocza)"),
        description=_l("Obecność weźmiemy z wejścia (check-in). Po posiedzeniu dodasz protokół i zapiszesz podjęte decyzje."),
    )
    agenda = TextAreaField(
        _l("Porządek obrad (Markdown)"),
        description=_l("Pokażemy go na stronie posiedzenia. Np. lista punktów: 1. Otwarcie, 2. Wybór partnera wiodącego."),
        filters=[strip],
        validators=[Optional(), max_length(20000)],
    )
    hold_hours = IntegerField(
        _l("Ile godzin czekamy na potwierdzenie miejsca"),
        default=48,
        validators=[DataRequired(message=_l("Podaj liczbę godzin.")), NumberRange(min=1, max=720, message=_l("Od 1 do 720 godzin."))],
    )

    def validate_ends_at(self, field):
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("Koniec musi być później niż początek."))

    def validate_reserved_for_allies(self, field):
        if field.data and self.capacity.data is not None and field.data > self.capacity.data:
            raise ValidationError(_l("Zarezerwowanych miejsc nie może być więcej niż wszystkich."))

    def validate_slug(self, field):
        if field.data and slugify(field.data) != field.data:
            raise ValidationError(_l("Użyj tylko małych liter bez polskich znaków, cyfr i myślników."))


class MinutesForm(Form):
    """The minutes of a members' meeting: text, and the signed minutes as a PDF scan."""

    minutes = TextAreaField(_l("Protokół (Markdown)"), filters=[strip], validators=[Optional(), max_length(50000)])
    scan = FileField(_l("Skan podpisanego protokołu (PDF, nieobowiązkowo)"), render_kw={"accept": ".pdf,application/pdf"})
    remove_scan = BooleanField(_l("Usuń zapisany skan protokołu"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scan.description = _l(
            "Tylko PDF, najwyżej %(size)s MB. Jeśli formularz pokaże błąd, wybierz plik jeszcze raz.",
            size=megabytes(current_app.config["SCAN_MAX_BYTES"]),
        )

    def validate_scan(self, field):
        if field.data:
            problem = minutes_scan_problem(field.data)
            if problem is not None:
                raise ValidationError(problem)


class EventMessageForm(Form):
    audience = RadioField(
        _l("Do kogo"),
        choices=[
            SelectChoice(AUDIENCE_HOLDING_PLACE, _l("osoby z miejscem (potwierdzone i czekające na potwierdzenie)")),
            SelectChoice(AUDIENCE_ALL, _l("wszystkie zapisane osoby, także z listy oczekujących")),
        ],
        default=AUDIENCE_HOLDING_PLACE,
        validators=[DataRequired(message=_l("Wybierz odbiorców."))],
    )
    subject = StringField(_l("Temat"), filters=[strip], validators=[DataRequired(message=_l("Wpisz temat.")), max_length(200), plain_text])
    body = TextAreaField(_l("Treść (Markdown)"), filters=[strip], validators=[DataRequired(message=_l("Wpisz treść.")), max_length(20000)])
