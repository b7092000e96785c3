"""Forms of the admin's test delivery pages: test specifications, waves, enrolment, interventions.

The forms parse and type-check; the rules (enough items, active specs, time zones, all-or-nothing
enrolment) live in assess/services/specs.py and assess/services/waves.py.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, DateTimeLocalField, FieldList, FloatField, FormField, IntegerField, SelectField,
    SelectMultipleField, StringField, SubmitField, TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from assess.forms_i18n import AppForm, SubForm
from assess.services import specs as spec_service
from assess.services.tabular import whole_number
from assess.services.waves import MAX_EXTRA_MINUTES, MAX_INTERVENTION_MINUTES

MAX_SECTIONS = 20
TIMEZONE_CHOICES = [("Asia/Jakarta", _l("WIB (Asia/Jakarta, UTC+7)")),
                    ("Asia/Makassar", _l("WITA (Asia/Makassar, UTC+8)")),
                    ("Asia/Jayapura", _l("WIT (Asia/Jayapura, UTC+9)"))]
_SPLIT = re.compile(r"[\s,;]+")


class DecimalField(FloatField):
    """A float that also accepts the Indonesian decimal comma (0,35)."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [v.strip().replace(",", ".") if isinstance(v, str) else v for v in valuelist]
        super().process_formdata(valuelist)


class SectionForm(SubForm):
    """One part of a test: a competency and how its items are chosen."""

    competency = SelectField(_l("Competency"), coerce=str, validate_choice=False)
    method = SelectField(_l("Selection"), choices=[(k, v) for k, v in spec_service.METHOD_LABELS.items()])
    layout = SelectField(_l("Layout"), choices=[(k, v) for k, v in spec_service.LAYOUT_LABELS.items()])
    n_items = IntegerField(_l("Number of items"), validators=[Optional(), NumberRange(1, 200)])
    item_codes = TextAreaField(_l("Item codes (fixed form)"), validators=[Optional(), Length(max=8000)],
                               description=_l("Leave empty to use the first N operational items by code."))
    level_1 = IntegerField("1", validators=[Optional(), NumberRange(0, 100)])
    level_2 = IntegerField("2", validators=[Optional(), NumberRange(0, 100)])
    level_3 = IntegerField("3", validators=[Optional(), NumberRange(0, 100)])
    level_4 = IntegerField("4", validators=[Optional(), NumberRange(0, 100)])
    level_5 = IntegerField("5", validators=[Optional(), NumberRange(0, 100)])
    min_items = IntegerField(_l("Minimum items"), validators=[Optional(), NumberRange(1, 200)])
    max_items = IntegerField(_l("Maximum items"), validators=[Optional(), NumberRange(1, 200)])
    se_target = DecimalField(_l("SE target"), validators=[Optional(), NumberRange(0.1, 1.0)])
    exposure_max = DecimalField(_l("Exposure target (rate)"), validators=[Optional(), NumberRange(0.05, 1.0)])
    content = StringField(_l("Subdomains to cover"), validators=[Optional(), Length(max=1000)])
    time_limit = IntegerField(_l("Part time limit (minutes)"), validators=[Optional(), NumberRange(1, 600)])

    def levels(self):
        return [self.level_1, self.level_2, self.level_3, self.level_4, self.level_5]

    def to_input(self) -> spec_service.SectionInput | None:
        if not self.competency.data:
            return None  # an empty row: no part
        codes = [c for c in _SPLIT.split(self.item_codes.data or "") if c]
        return spec_service.SectionInput(
            competency_id=whole_number(self.competency.data), method=self.method.data,  # None: unknown
            n_items=self.n_items.data, item_codes=codes if self.method.data == "fixed" else [],
            per_level={n: f.data for n, f in enumerate(self.levels(), start=1) if f.data} if self.method.data == "random" else {},
            min_items=self.min_items.data, max_items=self.max_items.data, se_target=self.se_target.data,
            exposure_max=self.exposure_max.data,
            content_subdomains=[c.strip() for c in (self.content.data or "").split(",") if c.strip()],
            time_limit_minutes=self.time_limit.data, layout=self.layout.data)

    def fill(self, s: spec_service.SectionInput) -> None:
        self.competency.data = str(s.competency_id)
        self.method.data = s.method
        self.layout.data = s.layout
        self.n_items.data = s.n_items if not s.item_codes else None
        self.item_codes.data = " ".join(s.item_codes)
        for n, f in enumerate(self.levels(), start=1):
            f.data = s.per_level.get(n)
        self.min_items.data = s.min_items
        self.max_items.data = s.max_items
        self.se_target.data = s.se_target
        self.exposure_max.data = s.exposure_max
        self.content.data = ", ".join(s.content_subdomains)
        self.time_limit.data = s.time_limit_minutes


class SpecForm(AppForm):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    instructions = TextAreaField(_l("Instructions for participants"), validators=[Optional(), Length(max=20000)],
                                 description=_l("Markdown: **bold**, *italic*, lists and tables. HTML is not allowed."))
    time_limit = IntegerField(_l("Time limit for the whole test (minutes)"),
                              validators=[InputRequired(), NumberRange(1, spec_service.MAX_TIME_LIMIT)])
    shuffle_options = BooleanField(_l("Shuffle the options of each question"), default=True)
    sections = FieldList(FormField(SectionForm), min_entries=1, max_entries=MAX_SECTIONS)
    add_section = SubmitField(_l("Add a part"))
    submit = SubmitField(_l("Save"))

    def set_competencies(self, choices: list[tuple[str, str]]) -> None:
        for entry in self.sections:
            entry.form.competency.choices = [("", _l("— none (remove this part) —"))] + choices

    def to_input(self) -> spec_service.SpecInput:
        sections = [s for s in (entry.form.to_input() for entry in self.sections) if s is not None]
        return spec_service.SpecInput(code=self.code.data or "", name=self.name.data or "",
                                      instructions=self.instructions.data, time_limit_minutes=self.time_limit.data,
                                      shuffle_options=self.shuffle_options.data, sections=sections)

    def fill(self, data: spec_service.SpecInput) -> None:
        self.code.data = data.code
        self.name.data = data.name
        self.instructions.data = data.instructions
        self.time_limit.data = data.time_limit_minutes
        self.shuffle_options.data = data.shuffle_options
        while len(self.sections) < len(data.sections):
            self.sections.append_entry()
        for entry, s in zip(self.sections, data.sections):
            entry.form.fill(s)

    def add_problems(self, problems) -> list:
        """Attach service problems to their fields; return those that fit no field."""
        loose = []
        kept_rows = [i for i, entry in enumerate(self.sections) if entry.form.competency.data]
        for problem in problems:
            target = None
            name = problem.field or ""
            m = re.match(r"sections-(\d+)-(\w+)$", name)
            if m and int(m.group(1)) < len(kept_rows):
                sub = self.sections[kept_rows[int(m.group(1))]].form
                target = getattr(sub, m.group(2), None)
            elif name == "time_limit_minutes":
                target = self.time_limit
            elif name in ("code", "name"):
                target = getattr(self, name)
            if target is None:
                loose.append(problem)
            else:
                target.errors = list(target.errors) + [problem.message]
        return loose


class SpecActionForm(AppForm):
    """Validate, activate, deactivate, copy: buttons with a CSRF token."""

    submit = SubmitField(_l("Go"))


class WaveForm(AppForm):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    spec_id = SelectField(_l("Test specification"), coerce=str, validate_choice=False,
                          description=_l("Only active test specifications can be chosen."))
    timezone = SelectField(_l("Time zone of the wave"), choices=TIMEZONE_CHOICES)
    opens_at = DateTimeLocalField(_l("Opens"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                  validators=[InputRequired(message=_l("Enter a date and time."))],
                                  description=_l("In the wave's time zone."))
    closes_at = DateTimeLocalField(_l("Closes"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                   validators=[InputRequired(message=_l("Enter a date and time."))],
                                   description=_l("In the wave's time zone."))
    cluster = SelectField(_l("Cluster"), choices=[("", _l("Any"))] + [(str(n), str(n)) for n in range(1, 6)],
                          validate_choice=False)
    agency_ids = SelectMultipleField(_l("Agencies"), coerce=int, validate_choice=False,
                                     description=_l("Leave empty for the whole cluster (or everyone when no cluster is set)."))
    unit_ids = SelectMultipleField(_l("Units"), coerce=int, validate_choice=False,
                                   description=_l("Units narrow the wave further: when units are chosen, only they are enrolled by rule."))
    show_scores = BooleanField(_l("Show participants their scores when they finish"))
    submit = SubmitField(_l("Save"))


class EnrolRuleForm(AppForm):
    submit = SubmitField(_l("Enrol by rule"))


class EnrolUploadForm(AppForm):
    file = FileField(_l("CSV or XLSX file of NIPs"), validators=[FileRequired(message=_l("Choose a file."))])
    submit = SubmitField(_l("Upload and enrol"))


class ExtraMinutesForm(AppForm):
    extra_minutes = IntegerField(_l("Extra minutes"), validators=[InputRequired(), NumberRange(0, MAX_EXTRA_MINUTES)])
    submit = SubmitField(_l("Save"))


class ExtendForm(AppForm):
    minutes = IntegerField(_l("Minutes"), validators=[InputRequired(), NumberRange(1, MAX_INTERVENTION_MINUTES)])
    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(min=5, max=500)])
    submit = SubmitField(_l("Extend time"))


class PauseForm(AppForm):
    reason = StringField(_l("Reason"), validators=[Length(max=500)])


class WavePauseForm(AppForm):
    agency = SelectField(_l("Agency"), coerce=str, validate_choice=False)
    reason = StringField(_l("Reason"), validators=[Length(max=500)])
    pause = SubmitField(_l("Pause running tests"))
    resume = SubmitField(_l("Resume paused tests"))


class ReopenForm(AppForm):
    minutes = IntegerField(_l("Minutes from now"), validators=[InputRequired(), NumberRange(1, MAX_INTERVENTION_MINUTES)])
    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(min=5, max=500)])
    section = SelectField(_l("Return the participant to"), coerce=str, validate_choice=False)
    submit = SubmitField(_l("Reopen the attempt"))
