import functools

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@functools.lru_cache(maxsize=8)
def _wtforms_translations(locale):
    """WTForms' own messages in one language, read from disk once per process (Flask-WTF
    reads and parses the catalogue again for every request that builds a form: ~0.6 ms)."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Form(FlaskForm):
    """A FlaskForm whose CSRF failure reads as a Polish message beside the form, not a dead end."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_translations(str(get_locale()))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        csrf_field = getattr(self, "csrf_token", None)
        if csrf_field is not None and csrf_field.errors:
            csrf_field.errors = [
                _l("Formularz wygasł albo został wysłany z innej strony. Sprawdź dane i wyślij go ponownie.")
            ]
        return valid
