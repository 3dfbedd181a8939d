from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form
from ..signatures.forms import email_field, max_length, plain_text, strip
from ..text import HEX_COLOUR, contrast_with_white


class LoginForm(Form):
    email = EmailField(_l("Adres e-mail"), filters=[strip], validators=[DataRequired(message=_l("Wpisz adres e-mail."))])
    password = PasswordField(_l("Hasło"), validators=[DataRequired(message=_l("Wpisz hasło."))])



class PasswordChangeForm(Form):
    current_password = PasswordField(_l("Obecne hasło"), validators=[DataRequired(message=_l("Wpisz obecne hasło."))])
    new_password = PasswordField(
        _l("Nowe hasło"),
        description=_l("Co najmniej 10 znaków. Najlepiej kilka przypadkowych słów."),
        validators=[
            DataRequired(message=_l("Wpisz nowe hasło.")),
            Length(min=10, max=200, message=_l("Hasło musi mieć od 10 do 200 znaków.")),
        ],
    )
    repeat_password = PasswordField(
        _l("Powtórz nowe hasło"),
        validators=[EqualTo("new_password", message=_l("Hasła się różnią."))],
    )


class SetPasswordForm(Form):
    """A new coordinator's first password, or a forgotten one, from an e-mailed link."""

    new_password = PasswordChangeForm.new_password
    repeat_password = PasswordChangeForm.repeat_password


def url_or_empty(form, field):
    if field.data and not field.data.startswith(("https://", "http://")):
        raise ValidationError(_l("Adres strony musi zaczynać się od https:// lub http://."))


class CoalitionForm(Form):
    name = StringField(
        _l("Nazwa koalicji"), filters=[strip], validators=[DataRequired(message=_l("Wpisz nazwę.")), max_length(200), plain_text]
    )
    slug = StringField(
        _l("Adres strony"),
        description=_l(
            "Małe litery bez polskich znaków, cyfry i myślniki, np. koalicja-sasiedztw. Zostaw puste, aby utworzyć go "
            "z nazwy (lub zachować obecny). Po zmianie adresu stare linki nadal prowadzą do koalicji."
        ),
        filters=[strip],
        validators=[Optional(), max_length(80)],
    )
    description = TextAreaField(_l("Opis (Markdown)"), filters=[strip], validators=[Optional(), max_length(20000)])
    organiser = StringField(
        _l("Administrator danych osobowych"),
        description=_l("Nazwa i adres organizacji, która odpowiada za dane osób podpisujących (RODO)."),
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz, kto administruje danymi.")), max_length(300), plain_text],
    )
    contact_email = EmailField(
        _l("E-mail kontaktowy"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Wpisz adres e-mail.")),
            max_length(254),
            Email(message=_l("To nie wygląda na adres e-mail. Sprawdź, czy ma postać nazwa@domena.pl.")),
        ],
    )
    contact_persons = TextAreaField(
        _l("Osoby do kontaktu (Markdown)"),
        description=_l("Imiona, funkcje, telefony: tak, jak mają być widoczne na stronie koalicji."),
        filters=[strip],
        validators=[Optional(), max_length(5000)],
    )
    chat_url = StringField(_l("Czat społeczności (adres)"), filters=[strip], validators=[Optional(), max_length(500), url_or_empty])
    facebook_url = StringField(_l("Strona na Facebooku (adres)"), filters=[strip], validators=[Optional(), max_length(500), url_or_empty])
    website_url = StringField(_l("Strona internetowa (adres)"), filters=[strip], validators=[Optional(), max_length(500), url_or_empty])
    funding_notice = TextAreaField(
        _l("Informacja o finansowaniu"),
        description=_l("Np. formuła wymagana przez umowę o dotację. Pokażemy ją w stopce stron koalicji."),
        filters=[strip],
        validators=[Optional(), max_length(5000)],
    )
    privacy_notice = TextAreaField(
        _l("Własna informacja o przetwarzaniu danych (Markdown, nieobowiązkowo)"),
        description=_l("Zostaw puste, aby użyć standardowej informacji uzupełnionej danymi koalicji."),
        filters=[strip],
        validators=[Optional(), max_length(20000)],
    )
    brand_colour = StringField(
        _l("Kolor koalicji"),
        description=_l("W formacie #rrggbb. Musi być na tyle ciemny, by biały tekst był czytelny (kontrast co najmniej 4,5:1)."),
        filters=[strip],
        default="#1d5c4d",
        validators=[DataRequired(message=_l("Podaj kolor.")), max_length(7)],
    )
    logo = FileField(
        _l("Logo (PNG, JPEG lub WebP, do 1 MB; nieobowiązkowo)"),
        description=_l("Zostaw puste, aby zachować obecne logo."),
    )
    funder_logo = FileField(
        _l("Logo instytucji finansującej (PNG, JPEG lub WebP, do 1 MB; nieobowiązkowo)"),
        description=_l("Drukujemy je obok informacji o finansowaniu na listach obecności i w sprawozdaniu."),
    )
    embed_origins = TextAreaField(
        _l("Strony, które mogą pokazywać widżety koalicji"),
        description=_l(
            "Jeden adres w wierszu, np. https://sasiedztwa.example.org (bez ścieżki). Tylko te strony mogą "
            "osadzić listę sojuszników, licznik i wydarzenia w ramce (iframe). Zostaw puste, aby nie pozwalać żadnej."
        ),
        filters=[strip],
        validators=[Optional(), max_length(5000)],
    )

    def validate_brand_colour(self, field):
        if not HEX_COLOUR.match(field.data or ""):
            raise ValidationError(_l("Podaj kolor w formacie #rrggbb, np. #1d5c4d."))
        if contrast_with_white(field.data) < 4.5:
            raise ValidationError(_l("Ten kolor jest za jasny: biały tekst na nim byłby nieczytelny. Wybierz ciemniejszy."))


class CoordinatorForm(Form):
    name = StringField(
        _l("Imię i nazwisko"), filters=[strip], validators=[DataRequired(message=_l("Wpisz imię i nazwisko.")), max_length(200), plain_text]
    )
    email = email_field()
    coalitions = SelectMultipleField(
        _l("Koalicje, dla których działa"),
        choices=[],
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    is_admin = BooleanField(_l("Administrator/ka: zarządza koalicjami i kontami, działa dla wszystkich koalicji"))
    active = BooleanField(_l("Konto aktywne"), default=True)
