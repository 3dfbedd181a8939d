"""What a voice says, as a form: the member's ballot behind the personal link, and "nie mam linku".

A ballot is built per consultation (`ballot_class`): its answers are the consultation's own
options, and an opinions consultation has one text box per numbered section of its draft. It
hands the operations plain values: `option_ids()` and `opinions()`. The coordinators' form of a
voice given on paper or at a meeting (forms.py `voice_form_for`) is the same ballot with their
questions (how it was given, a note) added.
"""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form
from ..signatures.forms import email_field, max_length, strip
from .models import ConsultationKind
from .operations import OPINION_MAX_LENGTH


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LinkRequestForm(Form):
    """The address the member signed with; the answer is the same whether it is on a roll or not."""

    email = email_field(
        description=_l("Ten, którym podpisano deklarację koalicji (dla organizacji: adres osoby, która dostaje link do głosowania).")
    )


class Ballot(Form):
    """The content of a voice; the subclasses below ask for it, each kind in its way."""

    def __init__(self, consultation, **kwargs):
        super().__init__(**kwargs)
        if "choice" in self:
            self.choice.choices = [(option.id, option.display_label) for option in consultation.options]

    def option_ids(self):
        return []

    def opinions(self):
        return None


class OneChoiceBallot(Ballot):
    """A decision (za / przeciw / wstrzymuję się) or one choice among options: exactly one answer."""

    choice = RadioField(_l("Odpowiedź"), coerce=int, validators=[InputRequired(message=_l("Wybierz odpowiedź."))])

    def option_ids(self):
        return [self.choice.data]


class ApprovalBallot(Ballot):
    """Several choices (approval voting): every answer the voice supports, at least one. Not
    approving an option is the way to say no to it; a voice approving nothing is refused, so that
    a voice always says something (to stay out, a member simply does not vote)."""

    choice = CheckboxesField(_l("Wybrane odpowiedzi"), coerce=int)

    def validate_choice(self, field):
        # Not InputRequired: its flag would mark every single box `required`.
        if not field.data:
            raise ValidationError(_l("Zaznacz co najmniej jedną odpowiedź."))

    def option_ids(self):
        return sorted(self.choice.data)


class OpinionsBallot(Ballot):
    """Opinions: `opinion_0` on the whole draft and `opinion_<n>` on its section n (added by
    `ballot_class`). An emptied box deletes that opinion; at least one must be written."""

    def opinions(self):
        return {int(name.removeprefix("opinion_")): field.data or "" for name, field in self._fields.items() if name.startswith("opinion_")}

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not any(self.opinions().values()):
            self.opinion_0.errors = [*self.opinion_0.errors, _l("Wpisz co najmniej jedną opinię.")]
            return False
        return valid


def section_titles(consultation):
    """The opinion boxes' labels: the whole draft first, then each numbered section."""
    return [_l("Opinia o całym projekcie")] + [
        _l("Część %(number)d: %(title)s", number=number, title=title)
        for number, title in enumerate(consultation.sections or [], start=1)
    ]


def ballot_class(consultation, asked_first=None):
    """The ballot's class for this consultation; `asked_first`: a form class whose questions come
    with it (the coordinators' method and note)."""
    if consultation.asks_opinions:
        base = OpinionsBallot
        # One box per section: how many is the consultation's, so the fields are made here.
        fields = {
            f"opinion_{number}": TextAreaField(title, filters=[strip], validators=[Optional(), max_length(OPINION_MAX_LENGTH)])
            for number, title in enumerate(section_titles(consultation))
        }
    else:
        base = ApprovalBallot if consultation.kind == ConsultationKind.MULTIPLE else OneChoiceBallot
        fields = {}
    if asked_first is None and not fields:
        return base
    bases = (asked_first, base) if asked_first is not None else (base,)
    return type(base.__name__, bases, fields)


def ballot_form(consultation, choice=(), opinions=None):
    """The member's ballot, filled in with their current voice (`choice`: option ids; `opinions`:
    {section: text}); a POST's answers take its place."""
    if consultation.asks_opinions:
        data = {f"opinion_{section}": text for section, text in (opinions or {}).items()}
    elif consultation.kind == ConsultationKind.MULTIPLE:
        data = {"choice": list(choice)}
    else:
        data = {"choice": choice[0] if choice else None}
    form = ballot_class(consultation)(consultation, data=data)
    if "choice" in form:  # the question put to the member
        form.choice.label.text = {
            ConsultationKind.DECISION: _l("Twoja odpowiedź"),
            ConsultationKind.SINGLE: _l("Wybierz jedną odpowiedź"),
            ConsultationKind.MULTIPLE: _l("Które odpowiedzi popierasz? Zaznacz jedną lub więcej."),
        }[ConsultationKind(consultation.kind)]
    return form
