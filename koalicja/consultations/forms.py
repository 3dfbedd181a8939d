"""The coordinators' forms of a consultation: the question and its settings, a later close, a
voice entered from paper or a meeting, an organisation's representative, the resolution.

Times are typed in Europe/Warsaw and handed to the operations as naive UTC (`consultation_data`).
"""
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, ValidationError

from ..forms import Form
from ..signatures.forms import max_length, plain_text, strip
from ..text import search_key
from ..timeutil import utc_to_warsaw, utcnow, warsaw_to_utc
from .member_forms import ballot_class
from .models import KIND_LABELS, METHOD_LABELS, RULE_LABELS, ConsultationKind, DecidingRule, VoiceMethod

MIN_OPTIONS, MAX_OPTIONS = 2, 20
MAX_SECTIONS = 50
CHOICE_KINDS = (ConsultationKind.SINGLE, ConsultationKind.MULTIPLE)
RESULTS_PUBLIC, RESULTS_MEMBERS = "public", "members"
LOCAL_TIME = "%Y-%m-%dT%H:%M"


def lines_of(text):
    """The non-empty lines of a text area, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _check_lines(lines, limit):
    for line in lines:
        if len(line) > limit:
            raise ValidationError(_l("Każdy wiersz może mieć najwyżej %(max)d znaków.", max=limit))
        if "<" in line or ">" in line:
            raise ValidationError(_l("Usuń znaki < i >. To pole przyjmuje zwykły tekst."))


class ConsultationForm(Form):
    # Only for a new consultation: which of the coordinator's coalitions asks (choices set by the view).
    coalition = SelectField(_l("Koalicja"), choices=[], validate_choice=True)
    title = StringField(
        _l("Pytanie lub tytuł"),
        description=_l("Np. „Kto prowadzi partnerstwo w 2027 roku?”"),
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz pytanie lub tytuł.")), max_length(300), plain_text],
    )
    body = TextAreaField(
        _l("Wyjaśnienie lub projekt do opinii (Markdown)"),
        filters=[strip],
        validators=[Optional(), max_length(50000)],
    )
    kind = RadioField(
        _l("Rodzaj"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        default=ConsultationKind.DECISION.value,
        validators=[InputRequired(message=_l("Wybierz rodzaj konsultacji."))],
    )
    options = TextAreaField(
        _l("Odpowiedzi do wyboru, każda w osobnym wierszu"),
        description=_l("Od 2 do 20. Tylko przy wyborze jednej lub kilku odpowiedzi; decyzja ma stałe: za, przeciw, wstrzymuję się."),
        filters=[strip],
    )
    sections = TextAreaField(
        _l("Części projektu do opinii, każda w osobnym wierszu (nieobowiązkowo)"),
        description=_l("Np. „§ 1. Cele”. Zostaw puste, aby zbierać jedną opinię o całości. Tylko przy opiniach."),
        filters=[strip],
    )
    opens_at = DateTimeLocalField(
        _l("Otwarcie (nieobowiązkowo)"),
        description=_l("Zostaw puste, aby otworzyć od razu po kliknięciu „Otwórz konsultację”."),
        format=LOCAL_TIME,
        validators=[Optional()],
    )
    closes_at = DateTimeLocalField(
        _l("Zamknięcie"), format=LOCAL_TIME, validators=[DataRequired(message=_l("Podaj datę i godzinę zamknięcia."))]
    )
    quorum_percent = IntegerField(
        _l("Kworum w procentach (nieobowiązkowo)"),
        description=_l("Jaka część członków i członkiń musi wziąć udział, aby wynik się liczył. Puste: bez kworum."),
        validators=[Optional(), NumberRange(min=1, max=100, message=_l("Wpisz liczbę od 1 do 100."))],
    )
    rule = RadioField(
        _l("Co rozstrzyga"),
        choices=[SelectChoice(rule.value, label) for rule, label in RULE_LABELS.items()],
        default=DecidingRule.MAJORITY.value,
        validators=[InputRequired(message=_l("Wybierz, co rozstrzyga."))],
    )
    secret = BooleanField(
        _l("Głosowanie tajne"),
        description=_l("Zapiszemy, kto wziął udział, ale nie to, jak głosował(a): nie zobaczy tego nikt, także osoby koordynujące."),
    )
    live_results = BooleanField(_l("Pokazuj wyniki na bieżąco, w trakcie głosowania"))
    results_public = RadioField(
        _l("Kto zobaczy wyniki po zamknięciu"),
        choices=[
            SelectChoice(RESULTS_PUBLIC, _l("wszyscy: na publicznej stronie koalicji")),
            SelectChoice(RESULTS_MEMBERS, _l("tylko członkowie i członkinie, przez swój osobisty link")),
        ],
        default=RESULTS_PUBLIC,
        validators=[InputRequired(message=_l("Wybierz, kto zobaczy wyniki."))],
    )
    reminder_days = IntegerField(
        _l("Przypomnienie: ile dni przed zamknięciem (nieobowiązkowo)"),
        description=_l("Pójdzie samo do osób, które jeszcze nie wzięły udziału. Puste: bez przypomnienia."),
        default=2,
        validators=[Optional(), NumberRange(min=1, max=60, message=_l("Wpisz liczbę od 1 do 60."))],
    )

    @property
    def chosen_kind(self):
        return self.kind.data if self.kind.data in {kind.value for kind in ConsultationKind} else None

    def validate_options(self, field):
        if self.chosen_kind not in CHOICE_KINDS:
            return  # a decision has its three fixed options, opinions none
        options = lines_of(field.data)
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise ValidationError(_l("Wpisz od 2 do 20 odpowiedzi, każdą w osobnym wierszu."))
        _check_lines(options, 300)
        if len({" ".join(search_key(option).split()) for option in options}) != len(options):
            raise ValidationError(_l("Każda odpowiedź może wystąpić tylko raz."))

    def validate_sections(self, field):
        if self.chosen_kind != ConsultationKind.OPINIONS:
            return
        sections = lines_of(field.data)
        if len(sections) > MAX_SECTIONS:
            raise ValidationError(_l("Wpisz najwyżej %(max)d części.", max=MAX_SECTIONS))
        _check_lines(sections, 300)

    def validate_rule(self, field):
        # Consensus means "nobody objects", which only a decision (with its "przeciw") can say.
        if field.data == DecidingRule.NO_OBJECTION and self.chosen_kind != ConsultationKind.DECISION:
            raise ValidationError(_l("„Brak sprzeciwu” można wybrać tylko przy decyzji (za, przeciw, wstrzymuję się)."))

    def validate_secret(self, field):
        # Opinions are read as texts, and a text may name its author: they are never secret.
        if field.data and self.chosen_kind == ConsultationKind.OPINIONS:
            raise ValidationError(_l("Opinie nie mogą być tajne. Odznacz głosowanie tajne albo wybierz inny rodzaj."))

    def validate_live_results(self, field):
        # Counts that move while it runs, next to the roll's times of taking part, would show how
        # each voter of a secret ballot chose: the one who took part just before the count moved.
        if field.data and self.secret.data:
            raise ValidationError(_l("Głosowanie tajne nie może mieć wyników na bieżąco: z ich zmian dałoby się odczytać, jak głosowały kolejne osoby."))

    def validate_closes_at(self, field):
        if field.data is None:
            return
        if self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("Zamknięcie musi być później niż otwarcie."))
        if warsaw_to_utc(field.data) <= utcnow():
            raise ValidationError(_l("Zamknięcie musi być w przyszłości."))

    def consultation_data(self):
        """The answers as `create_consultation`/`update_draft` take them."""
        kind = self.kind.data
        return {
            "title": self.title.data,
            "body": self.body.data or "",
            "kind": kind,
            "options": lines_of(self.options.data) if kind in CHOICE_KINDS else [],
            "sections": lines_of(self.sections.data) if kind == ConsultationKind.OPINIONS else [],
            "opens_at": warsaw_to_utc(self.opens_at.data) if self.opens_at.data else None,
            "closes_at": warsaw_to_utc(self.closes_at.data),
            "quorum_percent": self.quorum_percent.data,
            "rule": self.rule.data,
            "secret": bool(self.secret.data),
            "live_results": bool(self.live_results.data),
            "results_public": self.results_public.data == RESULTS_PUBLIC,
            "reminder_days": self.reminder_days.data,
        }


class DraftAnswers:
    """A draft's settings as the form shows them (Warsaw times, one option per line), to prefill it."""

    def __init__(self, consultation):
        self._consultation = consultation

    def __getattr__(self, name):
        consultation = self._consultation
        if name in ("opens_at", "closes_at"):
            value = getattr(consultation, name)
            return utc_to_warsaw(value).replace(tzinfo=None) if value is not None else None
        if name == "options":
            return "\n".join(option.label for option in consultation.options) if consultation.kind in CHOICE_KINDS else ""
        if name == "sections":
            return "\n".join(consultation.sections or [])
        if name == "results_public":
            return RESULTS_PUBLIC if consultation.results_public else RESULTS_MEMBERS
        return getattr(consultation, name)


class ExtendForm(Form):
    closes_at = DateTimeLocalField(
        _l("Nowy termin zamknięcia"), format=LOCAL_TIME, validators=[DataRequired(message=_l("Podaj nową datę i godzinę zamknięcia."))]
    )

    def closes_at_utc(self):
        return warsaw_to_utc(self.closes_at.data)


class VoiceDetails(Form):
    """A voice entered by a coordinator: how it was given and their note, asked with the ballot's
    own questions (member_forms.ballot_class)."""

    method = RadioField(
        _l("Jak oddano głos"),
        choices=[SelectChoice(method.value, METHOD_LABELS[method]) for method in (VoiceMethod.PAPER, VoiceMethod.MEETING)],
        default=VoiceMethod.PAPER.value,
        validators=[InputRequired(message=_l("Wybierz, jak oddano głos."))],
    )
    note = StringField(
        _l("Uwaga (nieobowiązkowo)"),
        description=_l(
            "Np. „karta nr 12, oddana 3 marca” albo „posiedzenie w Centrum Obywatelskim”. Uwaga pojawi się w wynikach "
            "i w protokole: nie wpisuj w niej nazwisk ani innych danych osobowych."
        ),
        filters=[strip],
        validators=[Optional(), max_length(500), plain_text],
    )


def voice_form_for(consultation, **kwargs):
    """The form of a voice entered by a coordinator, with this consultation's answers; a meeting's
    decision says "at the meeting" unless told otherwise."""
    if consultation.from_meeting:
        kwargs.setdefault("method", VoiceMethod.MEETING.value)
    return ballot_class(consultation, asked_first=VoiceDetails)(consultation, **kwargs)


class RepresentativeForm(Form):
    signature = SelectField(
        _l("Kto dostaje link w imieniu organizacji"),
        description=_l("Nowa osoba dostanie link e-mailem; dotychczasowy link przestanie działać."),
        coerce=int,
        choices=[],
        validate_choice=True,
    )


class ResolutionForm(Form):
    resolution = TextAreaField(
        _l("Uchwała lub protokół (Markdown)"),
        description=_l("Opublikujemy tę treść razem z wynikami i protokołem."),
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz treść uchwały lub protokołu.")), max_length(50000)],
    )
