from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..forms import Form
from ..security import BotTrapMixin
from .models import SECTOR_LABELS, SignerKind


def strip(value):
    return value.strip() if isinstance(value, str) else value


def plain_text(form, field):
    """Names end up on a public page and in e-mails: markup and control characters have no place there."""
    value = field.data or ""
    if "<" in value or ">" in value:
        raise ValidationError(_l("Usuń znaki < i >. To pole przyjmuje zwykły tekst."))
    if any(ord(ch) < 32 for ch in value):
        raise ValidationError(_l("Usuń znaki specjalne (np. tabulator lub nową linię)."))


def max_length(limit):
    return Length(max=limit, message=_l("Wpisz najwyżej %(max)d znaków."))


def email_field(description=""):
    return EmailField(
        _l("Adres e-mail"),
        description=description,
        render_kw={"autocomplete": "email"},
        filters=[strip],
        validators=[
            DataRequired(message=_l("Wpisz adres e-mail.")),
            max_length(254),
            Email(message=_l("To nie wygląda na adres e-mail. Sprawdź, czy ma postać nazwa@domena.pl.")),
        ],
    )


class SignatureForm(BotTrapMixin, Form):
    kind = RadioField(
        _l("Podpisuję"),
        choices=[
            SelectChoice(SignerKind.PERSON.value, _l("we własnym imieniu, jako osoba prywatna")),
            SelectChoice(SignerKind.ORGANISATION.value, _l("w imieniu organizacji lub instytucji")),
        ],
        default=SignerKind.PERSON.value,
        validators=[DataRequired(message=_l("Wybierz, w czyim imieniu podpisujesz."))],
    )
    full_name = StringField(
        _l("Imię i nazwisko"),
        render_kw={"autocomplete": "name"},
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz imię i nazwisko.")), max_length(200), plain_text],
    )
    email = email_field(
        description=_l("Wyślemy na niego link do potwierdzenia podpisu. Nie pokażemy go publicznie.")
    )
    city = StringField(
        _l("Miejscowość (nieobowiązkowo)"),
        render_kw={"autocomplete": "address-level2"},
        filters=[strip],
        validators=[Optional(), max_length(100), plain_text],
    )
    district = StringField(
        _l("Dzielnica lub osiedle (nieobowiązkowo)"),
        filters=[strip],
        validators=[Optional(), max_length(100), plain_text],
    )
    organisation_name = StringField(
        _l("Nazwa organizacji lub instytucji"),
        render_kw={"autocomplete": "organization"},
        filters=[strip],
        validators=[Optional(), max_length(300), plain_text],
    )
    role = StringField(
        _l("Twoja funkcja w organizacji"),
        render_kw={"autocomplete": "organization-title"},
        description=_l("Na przykład: prezeska zarządu, dyrektor, członkini grupy."),
        filters=[strip],
        validators=[Optional(), max_length(150), plain_text],
    )
    sector = SelectField(
        _l("Rodzaj organizacji"),
        choices=[SelectChoice("", _l("— wybierz —"))]
        + [SelectChoice(sector.value, label) for sector, label in SECTOR_LABELS.items()],
        default="",
        validate_choice=False,
    )
    authorised = BooleanField(_l("Oświadczam, że mogę podpisać deklarację w imieniu tej organizacji."))
    accept_declaration = BooleanField(
        _l("Znam treść deklaracji i przyłączam się do niej."),
        validators=[DataRequired(message=_l("Zaznacz to pole, aby podpisać deklarację."))],
    )
    accept_privacy = BooleanField(
        _l("Zgadzam się na przetwarzanie moich danych osobowych w celu obsługi podpisu."),
        validators=[DataRequired(message=_l("Bez tej zgody nie możemy przyjąć podpisu."))],
    )
    public_name = BooleanField(_l("moje imię i nazwisko (przy organizacji: jako osoby, która ją reprezentuje)"))
    public_organisation = BooleanField(_l("Można pokazać nazwę organizacji na publicznej liście sojuszników."), default=True)

    TEXT_FIELDS = ("full_name", "email", "city", "district", "organisation_name", "role")

    @property
    def signs_for_organisation(self):
        return self.kind.data == SignerKind.ORGANISATION

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.signs_for_organisation:
            required = [
                (self.organisation_name, _l("Wpisz nazwę organizacji lub instytucji.")),
                (self.role, _l("Wpisz swoją funkcję w organizacji.")),
                (self.sector, _l("Wybierz rodzaj organizacji.")),
                (self.authorised, _l("Potwierdź, że możesz podpisać w imieniu organizacji.")),
            ]
            for field, message in required:
                if not field.data and not field.errors:
                    field.errors.append(message)
                    valid = False
            if self.sector.data and self.sector.data not in {s.value for s in SECTOR_LABELS}:
                self.sector.errors.append(_l("Wybierz rodzaj organizacji z listy."))
                valid = False
        return valid

    def signer_data(self):
        """The validated answers, with organisation fields dropped for a private person."""
        data = {name: self[name].data for name in ("kind", "full_name", "email", "city", "district", "public_name")}
        if self.signs_for_organisation:
            data.update(
                organisation_name=self.organisation_name.data,
                role=self.role.data,
                sector=self.sector.data,
                authorised=True,
                public_organisation=self.public_organisation.data,
            )
        return data


class EmailOnlyForm(Form):
    email = email_field()

