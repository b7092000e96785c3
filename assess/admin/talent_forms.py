"""Forms of the organisation and talent-map pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, FloatField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField, SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from assess.forms_i18n import AppForm
from assess.models import JOB_LEVELS
from assess.models.people import AGENCY_KINDS, PREDIKAT
from assess.services.orgs import CLUSTERS, GRADES, KIND_LABELS, STRATEGIC_ROLES
from assess.services.relocation import MAX_STAGES
from assess.services.talent import BAND_LABELS, JOB_LEVEL_LABELS, PREDIKAT_LABELS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DecimalCommaFloatField(FloatField):
    """A number typed with a decimal point or comma (0.5 or 0,5)."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [(valuelist[0] or "").strip().replace(",", ".").replace("−", "-")]
            if not valuelist[0]:
                self.data = None
                return
        super().process_formdata(valuelist)


def _grades():
    return [("", "—")] + [(k, v) for k, v in GRADES.items()]


def _clusters(blank=None):
    choices = [(str(n), _l("Cluster %(n)s", n=n)) for n in CLUSTERS]
    return ([("", blank)] if blank is not None else []) + choices


class AgencyForm(AppForm):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[(k, KIND_LABELS[k]) for k in AGENCY_KINDS])
    cluster = SelectField(_l("Relocation cluster"), choices=_clusters())
    priority = IntegerField(_l("Priority in the cluster"), validators=[Optional(), NumberRange(min=1)],
                            description=_l("1 moves first; leave empty for unranked."))
    strategic_roles = MultiCheckboxField(_l("Strategic roles"), choices=list(STRATEGIC_ROLES.items()))
    proximity = SelectField(_l("How closely it works with the President"), choices=_grades(), default="")
    urgency = SelectField(_l("How urgently it works with the President"), choices=_grades(), default="")
    reason = StringField(_l("Reason for a change of cluster"), validators=[Optional(), Length(max=500)],
                         description=_l("Kept in the agency's cluster history."))
    submit = SubmitField(_l("Save"))


class UnitForm(AppForm):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    echelon = StringField(_l("Echelon"), validators=[Optional(), Length(max=20)], description=_l("For example Eselon I."))
    parent = SelectField(_l("Parent unit"), choices=[], validate_choice=False, default="")
    cluster = SelectField(_l("Relocation cluster"), choices=[], default="")
    priority = IntegerField(_l("Priority in the cluster"), validators=[Optional(), NumberRange(min=1)],
                            description=_l("1 moves first; leave empty to use the agency's priority."))
    strategic_roles = MultiCheckboxField(_l("Strategic roles"), choices=list(STRATEGIC_ROLES.items()))
    proximity = SelectField(_l("How closely it works with the President"), choices=_grades(), default="")
    urgency = SelectField(_l("How urgently it works with the President"), choices=_grades(), default="")
    reason = StringField(_l("Reason for a change of cluster"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save"))

    def set_choices(self, agency, units) -> None:
        self.cluster.choices = _clusters(_l("Same as the agency (cluster %(n)s)", n=agency.cluster))
        self.parent.choices = [("", _l("None"))] + [(str(u.id), f"{u.code} · {u.name}") for u in units]


class ClusterForm(AppForm):
    name_id = StringField(_l("Name in Indonesian"), validators=[InputRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[InputRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Save"))


class UploadForm(AppForm):
    file = FileField(_l("File (.csv or .xlsx)"), validators=[FileRequired()])
    dry_run = BooleanField(_l("Check only (write nothing)"))
    submit = SubmitField(_l("Import"))


class ConfirmForm(AppForm):
    """A POST with only the CSRF token (delete, revoke ...)."""

    submit = SubmitField(_l("Confirm"))


class ComputeForm(AppForm):
    wave = SelectField(_l("Wave"), choices=[], validate_choice=False)
    submit = SubmitField(_l("Compute the talent map"))


class TokenForm(AppForm):
    name = StringField(_l("Name of the system"), validators=[InputRequired(), Length(max=120)],
                       description=_l("For example SI-ASN BKN."))
    days = SelectField(_l("Valid for"), choices=[("90", _l("90 days")), ("365", _l("one year")), ("", _l("no expiry"))])
    submit = SubmitField(_l("Create token"))


def settings_form(batteries):
    """The settings form: one field per job level, battery and predikat (the bank decides which)."""

    class SettingsForm(AppForm):
        band_set = RadioField(_l("Bands used"), choices=[
            ("mapping", _l("Mapping: Optimal / Cukup Optimal / Kurang Optimal")),
            ("selection", _l("Selection: MS / MMS / KMS"))])
        mapping_upper = DecimalCommaFloatField(_l("Optimal from (JPM %)"), validators=[InputRequired()])
        mapping_lower = DecimalCommaFloatField(_l("Cukup Optimal from (JPM %)"), validators=[InputRequired()])
        selection_upper = DecimalCommaFloatField(_l("MS from (JPM %)"), validators=[InputRequired()])
        selection_lower = DecimalCommaFloatField(_l("MMS from (JPM %)"), validators=[InputRequired()])
        jpm_batteries = MultiCheckboxField(_l("Batteries in the JPM"), choices=[])
        potential_low = DecimalCommaFloatField(_l("Medium potential from (θ)"), validators=[InputRequired()])
        potential_high = DecimalCommaFloatField(_l("High potential from (θ)"), validators=[InputRequired()])
        performance_low = DecimalCommaFloatField(_l("Meets expectations from (SKP score)"), validators=[InputRequired()])
        performance_high = DecimalCommaFloatField(_l("Above expectations from (SKP score)"), validators=[InputRequired()])
        skp_year = IntegerField(_l("SKP year"), validators=[Optional(), NumberRange(min=2000, max=2100)],
                                description=_l("Empty: each participant's latest year."))
        readiness_aggregate = SelectField(_l("Battery level for readiness"), choices=[
            ("mean", _l("Mean of its competencies' levels")), ("min", _l("Lowest of its competencies' levels"))])
        readiness_excluded_bands = MultiCheckboxField(_l("Not ready with the band"), choices=list(BAND_LABELS["mapping"].items()))
        note = StringField(_l("Why the change"), validators=[Optional(), Length(max=500)])
        submit = SubmitField(_l("Save as a new version"))

    for job in JOB_LEVELS:
        setattr(SettingsForm, f"expected_{job}", IntegerField(JOB_LEVEL_LABELS[job], validators=[
            InputRequired(), NumberRange(min=1, max=5)]))
    for battery in batteries:
        setattr(SettingsForm, f"weight_{battery.code}", DecimalCommaFloatField(
            battery.name_id, validators=[Optional(), NumberRange(min=0)]))
        setattr(SettingsForm, f"ready_{battery.code}", SelectField(battery.name_id, default="", choices=[("", "—")] + [
            (str(n), str(n)) for n in range(1, 6)]))
    for predikat in PREDIKAT:
        setattr(SettingsForm, f"predikat_{predikat}", DecimalCommaFloatField(
            PREDIKAT_LABELS[predikat], validators=[InputRequired(), NumberRange(min=0, max=100)]))
    return SettingsForm


def scheme_form():
    class SchemeForm(AppForm):
        code = StringField(_l("Code"), validators=[InputRequired(), Length(max=40)])
        name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
        movers = IntegerField(_l("Planned movers"), validators=[Optional(), NumberRange(min=0)],
                              description=_l("For reference, e.g. 118000 or 180000."))
        description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
        submit = SubmitField(_l("Save"))

    for stage in range(1, MAX_STAGES + 1):
        setattr(SchemeForm, f"stage_{stage}", StringField(_l("Stage %(n)d", n=stage), validators=[Optional(), Length(max=40)]))
        for cluster in CLUSTERS:
            setattr(SchemeForm, f"cap_{cluster}_{stage}", IntegerField(
                _l("Cluster %(c)d, stage %(s)d", c=cluster, s=stage), validators=[Optional(), NumberRange(min=0)]))
    return SchemeForm
