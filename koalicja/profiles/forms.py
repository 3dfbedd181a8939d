from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from ..forms import Form
from ..signatures.forms import strip
from .images import LogoRefused, clean_logo

DESCRIPTION_MAX = 500
WEBSITE_MAX = 300


def with_scheme(value):
    """`www.example.org` as `https://www.example.org`: people type addresses without it."""
    value = strip(value)
    if value and "://" not in value and not value.lower().startswith(("mailto:", "javascript:", "data:")):
        return f"https://{value}"
    return value


def website_address(form, field):
    """An http or https address of a named host: no other scheme, no login in it, no spaces."""
    value = field.data or ""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    host = (parts.hostname or "") if parts else ""
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or "." not in host.strip(".")
        or parts.username is not None
        or port == 0
        or any(ch.isspace() or ord(ch) < 32 for ch in value)
        or any(ch in host for ch in "<>\"'`\\")
    ):
        raise ValidationError(_l("Wpisz adres strony w postaci https://nazwa-organizacji.pl."))


def plain_description(form, field):
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in field.data or ""):
        raise ValidationError(_l("Usuń znaki specjalne. To pole przyjmuje zwykły tekst."))


class ProfileForm(Form):
    logo = FileField(
        _l("Logo (nieobowiązkowe)"),
        description=_l("PNG, JPEG lub WebP, najwyżej 2 MB. Bez nowego pliku zostaje dotychczasowe logo."),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
    # Text with a URL keyboard, not type=url: a wrong address comes back in the field to correct,
    # and an input type=url with a value that is no URL is invalid HTML (the Nu checker says so).
    website_url = StringField(
        _l("Strona internetowa (nieobowiązkowe)"),
        description=_l("Np. https://nazwa-organizacji.pl"),
        filters=[with_scheme],
        render_kw={"autocomplete": "url", "inputmode": "url"},
        validators=[Optional(), Length(max=WEBSITE_MAX, message=_l("Wpisz najwyżej %(max)d znaków.")), website_address],
    )
    description = TextAreaField(
        _l("Krótki opis (nieobowiązkowe)"),
        description=_l("Zwykły tekst, najwyżej 500 znaków: czym zajmuje się organizacja."),
        filters=[strip],
        render_kw={"rows": 5, "maxlength": DESCRIPTION_MAX},
        validators=[Optional(), Length(max=DESCRIPTION_MAX, message=_l("Wpisz najwyżej %(max)d znaków.")), plain_description],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cleaned_logo = None  # (bytes, content type) once the logo passed

    def validate_logo(self, field):
        upload = field.data
        if upload is None or not getattr(upload, "filename", ""):
            return
        try:
            self.cleaned_logo = clean_logo(upload)
        except LogoRefused as refused:
            raise ValidationError(refused.message) from refused
