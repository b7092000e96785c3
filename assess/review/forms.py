from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from assess.forms_i18n import AppForm

REASONS = [
    ("measurement_error", _l("Measurement imprecise (large SE)")),
    ("administration_problem", _l("Problem during administration")),
    ("additional_evidence", _l("Additional evidence (interview, portfolio)")),
    ("misfit_confirmed", _l("Aberrant answer pattern confirmed")),
    ("other", _l("Other")),
]


class NoteForm(AppForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save"))


class OverrideForm(AppForm):
    competency_id = SelectField(_l("Competency"), coerce=int)
    new_level = SelectField(_l("Level that should count"), coerce=int, choices=[(i, str(i)) for i in range(1, 6)])
    reason_code = SelectField(_l("Reason"), choices=REASONS)
    reason_text = TextAreaField(_l("Explanation"), validators=[DataRequired(message=_l("Explain the override.")), Length(max=2000)])
    submit = SubmitField(_l("Request override"))


class RetestForm(AppForm):
    reason_code = SelectField(_l("Reason"), choices=REASONS)
    reason_text = TextAreaField(_l("Explanation"), validators=[DataRequired(message=_l("Explain why a re-test is needed.")), Length(max=2000)])
    submit = SubmitField(_l("Request a re-test"))


class ConfirmForm(AppForm):
    accept = HiddenField()
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Send"))
