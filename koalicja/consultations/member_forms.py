"""The member's forms: the ballot behind the personal link, and "nie mam linku".

The ballot is built per consultation (`ballot_form`): its answers are the consultation's own
options, and an opinions consultation has one text box per numbered section of its draft.
Each form hands the operations plain values: `option_ids()` and `opinions()`.
"""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Optional

from ..forms import Form
from ..signatures.forms import email_field, max_length, strip
from .forms import CheckboxesField
from .models import ConsultationKind

MAX_OPINION_LENGTH = 20000  # as the coordinators' paper opinion (forms.py)


class LinkRequestForm(Form):
    """The address the member signed with; the answer is the same whether it is on a roll or not."""

    email = email_field(description=_l("Ten, którym podpisano deklarację koalicji (dla organizacji: adres osoby, która dostaje link do głosowania)."))


class OneChoiceBallot(Form):
    """A decision (za / przeciw / wstrzymuję się) or one choice among options: exactly one answer."""

    choice = RadioField(coerce=int, validators=[InputRequired(message=_l("Wybierz jedną odpowiedź."))])

    def option_ids(self):
        return [self.choice.data]

    def opinions(self):
        return None


class ApprovalBallot(Form):
    """Several choices (approval voting): every answer the member supports, at least one. Not
    approving an option is the way to say no to it; a voice that approves nothing is refused, so a
    voice always says something (to stay out, a member simply does not vote)."""

    choice = CheckboxesField(coerce=int, validators=[InputRequired(message=_l("Zaznacz co najmniej jedną odpowiedź."))])

    def option_ids(self):
        return sorted(self.choice.data)

    def opinions(self):
        return None


class OpinionsBallot(Form):
    """Opinions: `opinion_0` on the whole draft and `opinion_<n>` on its section n (added by
    `ballot_form`). An emptied box deletes that opinion; at least one must be written."""

    def option_ids(self):
        return []

    def opinions(self):
        return {int(name.removeprefix("opinion_")): field.data or "" for name, field in self._fields.items() if name.startswith("opinion_")}

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not any(self.opinions().values()):
            self.opinion_0.errors = [*self.opinion_0.errors, _l("Wpisz opinię w co najmniej jednym polu.")]
            return False
        return valid


def section_titles(consultation):
    """The opinion boxes' labels: the whole draft first, then each numbered section."""
    return [_l("Uwagi do całego projektu")] + [
        _l("Część %(number)d: %(title)s", number=number, title=title)
        for number, title in enumerate(consultation.sections or [], start=1)
    ]


def ballot_form(consultation, choice=(), opinions=None):
    """The ballot of this consultation, filled in with the member's current voice (`choice`: option
    ids; `opinions`: {section: text}); a POST's answers take its place."""
    if consultation.asks_opinions:
        fields = {
            f"opinion_{number}": TextAreaField(title, filters=[strip], validators=[Optional(), max_length(MAX_OPINION_LENGTH)])
            for number, title in enumerate(section_titles(consultation))
        }
        # One box per section: how many is the consultation's, so the class is made here.
        form_class = type("SectionsBallot", (OpinionsBallot,), fields)
        return form_class(data={f"opinion_{section}": text for section, text in (opinions or {}).items()})
    if consultation.kind == ConsultationKind.MULTIPLE:
        form = ApprovalBallot(data={"choice": list(choice)})
        form.choice.label.text = _l("Które odpowiedzi popierasz? Zaznacz jedną lub więcej.")
    else:
        form = OneChoiceBallot(data={"choice": choice[0] if choice else None})
        form.choice.label.text = (
            _l("Twoja odpowiedź") if consultation.kind == ConsultationKind.DECISION else _l("Wybierz jedną odpowiedź")
        )
    form.choice.choices = [(option.id, option.display_label) for option in consultation.options]
    return form
