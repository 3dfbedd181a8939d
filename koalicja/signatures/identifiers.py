"""Polish organisation identifiers: KRS, NIP and REGON, checked and normalised.

NIP and REGON carry check digits and python-stdnum knows them. KRS has no check digit and
stdnum has no module for it: a KRS number is 10 digits, often written without its leading
zeros ("KRS 123456"), so it is padded to 10.
"""
from flask_babel import lazy_gettext as _l
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.pl import nip, regon
from stdnum.util import clean, isdigits


def compact_krs(number):
    number = clean(number, " -.").upper().strip().removeprefix("KRS")
    return number.zfill(10) if isdigits(number) and len(number) < 10 else number


def validate_krs(number):
    number = compact_krs(number)
    if not isdigits(number):
        raise InvalidFormat()
    if len(number) != 10 or not int(number):
        raise InvalidLength()
    return number


CHECKSUM_MESSAGE = _l("Suma kontrolna się nie zgadza — sprawdź, czy nie ma literówki.")

# field name: (validator returning the compact number, message for a wrong length or format)
IDENTIFIERS = {
    "krs": (validate_krs, _l("Numer KRS ma 10 cyfr, np. 0000123456 (zera na początku można pominąć).")),
    "nip": (nip.validate, _l("NIP ma 10 cyfr, np. 526-104-08-28 (kreski i spacje nie przeszkadzają).")),
    "regon": (regon.validate, _l("REGON ma 9 albo 14 cyfr, np. 123456785.")),
}


def normalised_identifier(name, value):
    """The identifier as stored (digits only); raises ValueError with a message for the signer."""
    validate, wrong_shape = IDENTIFIERS[name]
    try:
        return validate(value)
    except InvalidChecksum:
        raise ValueError(CHECKSUM_MESSAGE) from None
    except (InvalidFormat, InvalidLength, ValidationError):
        raise ValueError(wrong_shape) from None
