from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm


class Form(FlaskForm):
    """A FlaskForm whose CSRF failure reads as a Polish message beside the form, not a dead end."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        csrf_field = getattr(self, "csrf_token", None)
        if csrf_field is not None and csrf_field.errors:
            csrf_field.errors = [
                _l("Formularz wygasł albo został wysłany z innej strony. Sprawdź dane i wyślij go ponownie.")
            ]
        return valid
