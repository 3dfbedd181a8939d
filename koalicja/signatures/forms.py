from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Email, Length, Optional, ValidationError

from ..forms import Form
from ..security import BotTrapMixin
from ..timeutil import warsaw_today
from ..uploads import megabytes
from .districts import DISTRICTS, KRAKOW, is_krakow
from .identifiers import IDENTIFIERS, normalised_identifier
from .models import SECTOR_LABELS, SignerKind
from .scans import ScanRefused, scan_type


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


def identifier_field(label, description):
    return StringField(label, description=description, filters=[strip], validators=[Optional(), max_length(40)])


def email_field(description="", label=_l("Adres e-mail"), required=True):
    return EmailField(
        label,
        description=description,
        render_kw={"autocomplete": "email"},
        filters=[strip],
        validators=[
            DataRequired(message=_l("Wpisz adres e-mail.")) if required else Optional(),
            max_length(254),
            Email(message=_l("To nie wygląda na adres e-mail. Sprawdź, czy ma postać nazwa@domena.pl.")),
        ],
    )


class SignerForm(Form):
    """Who signs: the public form and the coordinators' paper entry share these questions."""

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
    district = SelectField(
        _l("Dzielnica Krakowa (nieobowiązkowo)"),
        description=_l(
            "Tylko dla Krakowa; przy organizacji: dzielnica, w której działa. "
            "Jeśli zgodzisz się na pokazanie na liście, będzie można Cię znaleźć po dzielnicy."
        ),
        choices=[SelectChoice("", _l("— nie wybrano —"))] + [SelectChoice(name, name) for name in DISTRICTS],
        default="",
        validate_choice=False,
        validators=[AnyOf(["", *DISTRICTS], message=_l("Wybierz dzielnicę z listy."))],
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
    krs = identifier_field(
        _l("Numer KRS (nieobowiązkowo)"),
        _l("Ma go organizacja wpisana do Krajowego Rejestru Sądowego; znajdziesz go w wyszukiwarce na ekrs.ms.gov.pl albo w stopce pism."),
    )
    nip = identifier_field(
        _l("NIP (nieobowiązkowo)"),
        _l("10 cyfr, np. 526-104-08-28. Jest na fakturach i pieczątce organizacji."),
    )
    regon = identifier_field(
        _l("REGON (nieobowiązkowo)"),
        _l("9 albo 14 cyfr. Znajdziesz go w wyszukiwarce GUS: wyszukiwarkaregon.stat.gov.pl."),
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
    # Opt-in (RODO art. 7): unticked by default; without it the coalition never writes to the signer.
    contact_allowed = BooleanField(
        _l("Chcę dostawać od koalicji wiadomości e-mail o jej działaniach (można zrezygnować w każdej chwili).")
    )

    TEXT_FIELDS = ("full_name", "email", "city", "district", "organisation_name", "role", *IDENTIFIERS)

    @property
    def signs_for_organisation(self):
        return self.kind.data == SignerKind.ORGANISATION

    def validate_district(self, field):
        """A district means Kraków: an empty city becomes Kraków, another city is a mistake."""
        if field.data not in DISTRICTS:
            return
        if not self.city.data:
            self.city.data = KRAKOW
        elif not is_krakow(self.city.data) and not self.city.errors:
            raise ValidationError(
                _l("Dzielnice są tylko dla Krakowa. Wpisz Kraków jako miejscowość albo wybierz „— nie wybrano —”.")
            )

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
            valid = self._normalise_identifiers() and valid
        return valid

    def _normalise_identifiers(self):
        """KRS, NIP and REGON checked (a person's are ignored: never stored) and kept as digits."""
        valid = True
        for name in IDENTIFIERS:
            field = self[name]
            if not field.data or field.errors:
                continue
            try:
                field.data = normalised_identifier(name, field.data)
            except ValueError as problem:
                field.errors.append(problem.args[0])
                valid = False
        return valid

    def signer_data(self):
        """The validated answers, with organisation fields dropped for a private person."""
        data = {name: self[name].data for name in ("kind", "full_name", "email", "city", "district", "public_name", "contact_allowed")}
        if self.signs_for_organisation:
            data.update(
                organisation_name=self.organisation_name.data,
                role=self.role.data,
                sector=self.sector.data,
                authorised=True,
                public_organisation=self.public_organisation.data,
                **{name: self[name].data or "" for name in IDENTIFIERS},
            )
        return data


class SignatureForm(BotTrapMixin, SignerForm):
    """The public form: with the bot trap."""


class SignerAsReported(SignerForm):
    """The signer's questions worded for a coordinator who types in or corrects what a person
    answered ("Osoba zgodziła się…", not the signer's "Jeśli zgodzisz się…")."""

    kind = RadioField(
        _l("Kto podpisał"),
        choices=[
            SelectChoice(SignerKind.PERSON.value, _l("osoba prywatna, we własnym imieniu")),
            SelectChoice(SignerKind.ORGANISATION.value, _l("osoba w imieniu organizacji lub instytucji")),
        ],
        default=SignerKind.PERSON.value,
        validators=[DataRequired(message=_l("Wybierz, w czyim imieniu podpisano."))],
    )
    district = SelectField(
        _l("Dzielnica Krakowa"),
        description=_l(
            "Tylko dla Krakowa; przy organizacji: dzielnica, w której działa. Jeśli osoba zgodziła się "
            "na pokazanie na liście, można ją tam znaleźć po dzielnicy."
        ),
        choices=SignerForm.district.kwargs["choices"],
        default="",
        validate_choice=False,
        validators=[AnyOf(["", *DISTRICTS], message=_l("Wybierz dzielnicę z listy."))],
    )
    role = StringField(
        _l("Funkcja tej osoby w organizacji"),
        filters=[strip],
        validators=[Optional(), max_length(150), plain_text],
    )
    authorised = BooleanField(_l("Osoba oświadczyła, że może podpisać deklarację w imieniu tej organizacji."))
    public_name = BooleanField(
        _l("Osoba zgodziła się na pokazanie swojego imienia i nazwiska (przy organizacji: jako osoby, która ją reprezentuje)")
    )
    public_organisation = BooleanField(_l("Osoba zgodziła się na pokazanie nazwy organizacji na publicznej liście sojuszników."))


class PaperSignatureForm(SignerAsReported):
    """A coordinator types in a declaration signed on paper; its scan is the evidence.

    The consents are on the paper form itself, so the online consent boxes leave this form
    (a field set to None is dropped); instead the coordinator confirms they hold that form.
    """

    accept_declaration = accept_privacy = None
    email = email_field(
        label=_l("Adres e-mail (nieobowiązkowo)"),
        description=_l(
            "Jeśli jest na formularzu. Nic na niego teraz nie wyślemy; dzięki niemu ta osoba może sama wycofać podpis."
        ),
        required=False,
    )
    signed_on = DateField(
        _l("Data podpisania"),
        description=_l("Data z formularza; jeśli jej brak, dzień, w którym formularz dotarł do koalicji."),
        validators=[DataRequired(message=_l("Wpisz datę podpisania."))],
    )
    signed_place = StringField(
        _l("Miejscowość podpisania (nieobowiązkowo)"),
        filters=[strip],
        validators=[Optional(), max_length(100), plain_text],
    )
    scan = FileField(
        _l("Skan lub zdjęcie podpisanego formularza"),
        render_kw={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"},
        validators=[FileRequired(message=_l("Dołącz skan lub zdjęcie podpisanego formularza."))],
    )
    holds_signed_form = BooleanField(
        _l("Mam podpisany formularz z tymi danymi."),
        validators=[DataRequired(message=_l("Potwierdź, że masz podpisany formularz z tymi danymi."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scan_content_type = None
        self.scan.description = _l(
            "PDF, JPEG lub PNG, najwyżej %(size)s MB. Jeśli formularz pokaże błąd, wybierz plik jeszcze raz.",
            size=megabytes(current_app.config["SCAN_MAX_BYTES"]),
        )

    def validate_signed_on(self, field):
        if field.data and field.data > warsaw_today():
            raise ValidationError(_l("Data podpisania nie może być późniejsza niż dzisiejsza."))

    def validate_contact_allowed(self, field):
        if field.data and not self.email.data:
            raise ValidationError(_l("Bez adresu e-mail nie wyślemy wiadomości. Wpisz adres z formularza albo odznacz to pole."))

    def validate_scan(self, field):
        try:
            self.scan_content_type = scan_type(field.data)
        except ScanRefused as refused:
            raise ValidationError(refused.args[0]) from None

    def signer_data(self):
        return {**super().signer_data(), "signed_on": self.signed_on.data, "signed_place": self.signed_place.data}


class SignatureEditForm(SignerAsReported):
    """A coordinator corrects an entry (a typo, a wrong sector). The e-mail address and the
    consents to be contacted stay the signer's own: they are not on this form (a mistyped
    address of an unconfirmed entry has its own form, EmailCorrectionForm)."""

    accept_declaration = accept_privacy = contact_allowed = email = None

    def corrected_data(self):
        data = {name: self[name].data for name in EDITABLE_FIELDS if name in self}
        data.update({name: "" for name, value in data.items() if value is None and name != "sector"})
        if not self.signs_for_organisation:
            data.update(organisation_name="", role="", sector=None, authorised=False, public_organisation=False,
                        **{name: "" for name in IDENTIFIERS})
        else:
            data.update({name: data.get(name) or "" for name in IDENTIFIERS}, authorised=True)
        return data


EDITABLE_FIELDS = (
    "kind", "full_name", "city", "district", "organisation_name", "role", "sector", *IDENTIFIERS,
    "public_name", "public_organisation",
)


class EmailOnlyForm(Form):
    email = email_field()


class EmailCorrectionForm(Form):
    """A coordinator corrects the mistyped address of an entry that is not confirmed yet."""

    email = email_field(
        label=_l("Poprawiony adres e-mail"),
        description=_l("Wyślemy na niego nowy link do potwierdzenia. Na dotychczasowy adres nic już nie wyślemy."),
    )

