from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired

from assess.forms_i18n import AppForm


class ConsentForm(AppForm):
    consent = BooleanField(
        _l("I have read the instructions and agree that my answers are processed for the competency assessment (UU PDP 27/2022)."),
        validators=[DataRequired(message=_l("Please confirm that you have read the instructions."))],
    )
    submit = SubmitField(_l("Start the test"))


class SubmitForm(AppForm):
    submit = SubmitField(_l("Continue"))
